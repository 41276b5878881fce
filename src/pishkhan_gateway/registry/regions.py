"""The regulator's nine regions, each a set of provinces (data: ``data/regions.toml``, or the
file named by ``PISHKHAN_REGIONS_FILE``). A region's supervisor (scope ``region:<1..9>``) sees
and rules on the offices of its provinces."""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "regions.toml"
NUMBERS = tuple(str(n) for n in range(1, 10))


@functools.cache
def _load(path: str) -> dict[str, tuple[str, ...]]:
    with open(path, "rb") as f:
        document = tomllib.load(f)
    regions = {str(k): tuple(str(p) for p in v) for k, v in document.get("regions", {}).items()}
    unknown = set(regions) - set(NUMBERS)
    if unknown:
        raise ValueError(f"{path}: regions are numbered 1 to 9, not {sorted(unknown)}")
    return regions


_configured: str | None = None


def use(path: str | None) -> None:
    """Read the regions from ``path`` (``REGIONS_FILE``) from now on; None: the packaged file."""
    global _configured  # one list per process, set once by create_app
    _configured = path
    regions()  # a broken file stops the app at start, not at a supervisor's first request


def regions() -> dict[str, tuple[str, ...]]:
    """Region number -> its provinces."""
    return _load(_configured or os.environ.get("PISHKHAN_REGIONS_FILE") or str(DEFAULT_FILE))


def provinces_of(region: str) -> tuple[str, ...]:
    """The provinces of region ``region`` (``"1"`` … ``"9"``); none for an unknown one."""
    return regions().get(str(region), ())


def region_of(province: str) -> str | None:
    """The region overseeing ``province``, if any."""
    for number, provinces in regions().items():
        if province in provinces:
            return number
    return None


# The provinces' Persian names, for pages (offices are registered with the Latin ones).
PROVINCE_FA = {
    "Tehran": "تهران", "Alborz": "البرز", "Qom": "قم", "Markazi": "مرکزی", "Semnan": "سمنان",
    "Gilan": "گیلان", "Mazandaran": "مازندران", "Golestan": "گلستان", "Qazvin": "قزوین",
    "East Azerbaijan": "آذربایجان شرقی", "West Azerbaijan": "آذربایجان غربی",
    "Ardabil": "اردبیل", "Zanjan": "زنجان", "Kermanshah": "کرمانشاه", "Kurdistan": "کردستان",
    "Hamadan": "همدان", "Ilam": "ایلام", "Lorestan": "لرستان", "Khuzestan": "خوزستان",
    "Kohgiluyeh and Boyer-Ahmad": "کهگیلویه و بویراحمد",
    "Chaharmahal and Bakhtiari": "چهارمحال و بختیاری", "Isfahan": "اصفهان", "Yazd": "یزد",
    "Fars": "فارس", "Bushehr": "بوشهر", "Hormozgan": "هرمزگان", "Kerman": "کرمان",
    "Sistan and Baluchestan": "سیستان و بلوچستان", "Razavi Khorasan": "خراسان رضوی",
    "North Khorasan": "خراسان شمالی", "South Khorasan": "خراسان جنوبی",
}  # fmt: skip


def province_fa(name: str | None) -> str:
    """A province's Persian name (the name as given when it has none here)."""
    return PROVINCE_FA.get(name or "", name or "—")
