"""Dates and digits at the edge: the one parser and the one formatter of Jalali dates, and the
one digit table, used by the API, the CLI, the console, receipts and plugins (``pishkhan_gateway``
exports ``parse_date`` and ``ascii_digits`` to plugins).

Inside, everything is Gregorian UTC (``DateTime(timezone=True)``); Jalali exists only where people
type or read a date. Whatever is typed may use ASCII, Persian (U+06F0…) or Arabic-Indic (U+0660…)
digits and ``-`` or ``/`` between the parts.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime

TEHRAN = ZoneInfo("Asia/Tehran")
GREGORIAN_FROM = 1700  # a typed year below this is Jalali (1405), at or above it Gregorian (2026)

_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_DATE = re.compile(r"^\s*(\d{1,4})\s*[-/]\s*(\d{1,2})\s*[-/]\s*(\d{1,2})\s*$", re.ASCII)


def ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits to ASCII; other characters kept."""
    return text.translate(_TO_ASCII)


def persian_digits(value: Any) -> str:
    """``str(value)`` with ASCII digits written as Persian digits (for people, never for data)."""
    return str(value).translate(_TO_PERSIAN)


def rials(value: int | None) -> str:
    """Integer rials for a Persian reader: Persian digits and the Persian thousands separator."""
    if value is None:
        return "—"
    return persian_digits(f"{value:,}").replace(",", "٬")


def parse_date(raw: Any, *, gregorian_too: bool = False) -> dt.date:
    """A typed date → its Gregorian ``date``. ``1369-05-12``, ``1369/05/12``, ``۱۳۶۹/۰۵/۱۲`` are
    all Jalali; with ``gregorian_too`` a year from 1700 on is read as Gregorian (``2026-11-24``).
    ``ValueError`` (with a plain message) when it is not a real date."""
    match = _DATE.match(ascii_digits(raw)) if isinstance(raw, str) else None
    if match is None:
        raise ValueError("not a date like 1369-05-12")
    year, month, day = (int(part) for part in match.groups())
    if year >= GREGORIAN_FROM:
        if not gregorian_too:
            raise ValueError("not a Jalali date")
        return dt.date(year, month, day)
    try:
        return jdatetime.date(year, month, day).togregorian()
    except (ValueError, OverflowError):
        raise ValueError("not a real Jalali date") from None


def midnight_utc(day: dt.date) -> dt.datetime:
    """00:00 Tehran time on ``day`` (Gregorian), as a UTC datetime."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=TEHRAN).astimezone(dt.UTC)


@functools.lru_cache(maxsize=64)
def format_date(day: dt.date, sep: str = "/") -> str:
    """``day`` in the Jalali calendar, ``1405/09/03`` (cached: most calls ask about today)."""
    return jdatetime.date.fromgregorian(date=day).strftime(f"%Y{sep}%m{sep}%d")


def format_moment(moment: dt.datetime) -> str:
    """Tehran wall-clock time in the Jalali calendar, ``1405/09/03 12:30:00``."""
    local = moment.astimezone(TEHRAN)
    return f"{format_date(local.date())} {local:%H:%M:%S}"


def iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with milliseconds and ``Z`` (how times are written in entries and JSON)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
