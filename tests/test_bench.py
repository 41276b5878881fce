"""The benchmark script stays runnable (a tiny run; the real one is `make bench`)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_the_log_benchmark_runs_and_prints_its_table():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "log_scale.py"), "--entries", "300"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    for measure in ("baseline", "verify", "verify-deep", "export"):
        assert f"\n{measure}" in out.stdout
