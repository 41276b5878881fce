"""The "Writing an agency plugin" guide: its files are the example's files, and the example —
installed by pip as any agency would install it — passes the plugin test kit, while a plugin
that maps its errors wrongly fails it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

GUIDE = ROOT / "docs" / "writing-a-plugin.md"
EXAMPLE = ROOT / "docs" / "example-plugin"
BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```[a-z]*\n(?P<body>.*?)```\n", re.S)


def test_every_file_the_guide_shows_is_the_example_verbatim():
    shown = {m["path"]: m["body"] for m in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))}
    files = {
        str(p.relative_to(EXAMPLE)): p.read_text(encoding="utf-8")
        for p in EXAMPLE.rglob("*")
        if p.is_file() and not {"__pycache__", "build"} & set(p.parts) and ".egg-info" not in str(p)
    }
    assert shown == files


def _run_kit(tmp_path: Path, mutate=None) -> subprocess.CompletedProcess:
    """Copy the example, pip-install it (offline, no build isolation) into a target directory,
    and run pytest on its tests in a fresh interpreter that sees it as an installed package."""
    source = tmp_path / "pishkhan-cityhall"
    shutil.copytree(
        EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    )
    if mutate:
        mutate(source)
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "--no-index", "--target", str(site), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_the_guide_example_passes_the_test_kit(tmp_path):
    run = _run_kit(tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"\b2[01] passed", run.stdout), run.stdout[-500:]


@pytest.mark.slow
def test_the_kit_fails_a_plugin_that_treats_its_renewal_as_an_inquiry(tmp_path):
    def mutate(source: Path) -> None:
        plugin = source / "src" / "pishkhan_cityhall" / "plugin.py"
        text = plugin.read_text()
        plugin.write_text(text.replace('_call(\n        "request"', '_call(\n        "inquiry"'))

    run = _run_kit(tmp_path, mutate)
    assert run.returncode != 0
    assert "test_fault_maps_to_documented_code[http500-cityhall.permit.renew]" in run.stdout
