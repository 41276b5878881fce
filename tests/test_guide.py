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
    assert re.search(r"\b30 passed", run.stdout), run.stdout[-500:]


PLUGIN = "src/pishkhan_cityhall/plugin.py"
SANDBOX = "src/pishkhan_cityhall/sandbox.py"
SERVICES = "src/pishkhan_cityhall/contract/services.json"
TESTS = "tests/test_cityhall.py"
RENEW = "cityhall.permit.renew"

# A deliberately broken plugin per kit check: (file, text, broken text) → the check that fails.
BROKEN = {
    "renewal_declared_an_inquiry": (
        (PLUGIN, '_call(\n        "request"', '_call(\n        "inquiry"'),
        f"test_fault_maps_to_documented_code[http500-{RENEW}]",
    ),
    "reconcile_always_not_applied": (
        (
            PLUGIN,
            "    try:\n        reply = _call(",
            "    try:\n        raise AgencyRejected('no', agency_code='NOT_FOUND')\n"
            "        reply = _call(",
        ),
        f"test_reconcile_finds_what_the_agency_applied[{RENEW}]",
    ),
    "reconcile_guesses_applied": (
        (
            PLUGIN,
            "it never saw this renewal\n            raise",
            'it never saw this renewal\n            return Result({"expires": "?"}, "R?")',
        ),
        f"test_reconcile_settles_what_the_agency_never_applied[{RENEW}]",
    ),
    "sandbox_ignores_the_tracking_id": (
        (SANDBOX, 'if body["tracking_id"] in renewals:', "if False:"),
        f"test_a_payment_is_charged_once[{RENEW}]",
    ),
    "float_money_in_a_result": (
        (PLUGIN, "return Result(data=status)", 'return Result(data={**status, "fee": 0.5})'),
        "test_example_succeeds[cityhall.permit.status]",
    ),
    "quote_forgets_the_agency_amount": (
        (PLUGIN, 'RENEWAL_FEE if service.id == "cityhall.permit.renew" else 0', "0"),
        f"test_fee_at_its_cap_is_charged_and_a_rial_over_is_refused[{RENEW}]",
    ),
    "no_refusal_for_the_renewal": (
        (
            TESTS,
            'Refusal("cityhall.permit.renew", {"permit_no": "999999"}, CITIZEN, "NO_PERMIT"),',
            "",
        ),
        "test_every_payment_and_request_has_a_refusal",
    ),
    "params_schema_lost_its_pattern": (
        (SERVICES, ', "pattern": "^[0-9]{6}$"', ""),
        f"test_invalid_params_never_reach_the_agency[{RENEW}-permit_no]",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_the_kit_fails_a_deliberately_broken_plugin(tmp_path, broken):
    (path, text, replacement), check = BROKEN[broken]

    def mutate(source: Path) -> None:
        target = source / path
        original = target.read_text(encoding="utf-8")
        assert text in original, f"{broken}: the example no longer has {text!r}"
        target.write_text(original.replace(text, replacement), encoding="utf-8")

    run = _run_kit(tmp_path, mutate)
    assert run.returncode != 0, run.stdout[-2000:]
    assert f"FAILED tests/test_cityhall.py::TestCityHall::{check}" in run.stdout, run.stdout[-3000:]
