"""The docs stay honest: every setting and every hook is in the README."""

from __future__ import annotations

import inspect

from conftest import ROOT
from pishkhan_gateway.config import SETTINGS
from pishkhan_gateway.sdk import hookspecs

README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_table():
    missing = [name for name in SETTINGS if f"`PISHKHAN_{name}`" not in README]
    assert not missing


def test_the_readme_lists_every_hook():
    hooks = [
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("pishkhan_")
    ]
    missing = [hook for hook in hooks if f"`{hook}`" not in README]
    assert not missing


def test_the_readme_shows_the_two_commands():
    assert "make run" in README and "make test" in README


def test_every_test_security_md_names_exists():
    """SECURITY.md's claims point at tests (``file.py::name``, or ``::name`` for the file just
    named); each must be a test function of that file."""
    import re

    text = (ROOT / "SECURITY.md").read_text()
    current, named, missing = None, 0, []
    for reference in re.findall(r"`((?:test_\w+\.py)?::test_\w+)`", text):
        file, _, name = reference.partition("::")
        current = file or current
        source = (ROOT / "tests" / current).read_text()
        named += 1
        if not re.search(rf"^def {name}\(", source, re.MULTILINE):
            missing.append(f"{current}::{name}")
    assert named > 40 and not missing, missing


def test_the_readme_authority_table_is_the_code():
    """The oversight section's table of who may do what is ``authority.AUTHORITY``, row by row."""
    from pishkhan_gateway.regulation import authority

    block = README.split("<!-- authority-table -->")[1].split("<!-- /authority-table -->")[0]
    rows = [line for line in block.strip().splitlines()[2:]]
    shown = []
    for line in rows:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        shown.append((cells[0], [cell == "✓" for cell in cells[1:]]))
    assert authority.ROLES == ("regulator", "region", "province", "agency")
    assert shown == authority.table()
