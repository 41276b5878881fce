"""The docs stay honest: every setting and every hook is in the README."""

from __future__ import annotations

import inspect

from conftest import ROOT
from pishkhan_gateway import hookspecs
from pishkhan_gateway.config import SETTINGS

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
