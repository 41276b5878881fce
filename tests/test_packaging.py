"""What the README promises works from a built wheel, not only from ``pip install -e``: the
wheel holds every file the package reads at run time, and the citizen's, office's and
supervisor's pages render from an unpacked wheel (imported ahead of the editable install)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pishkhan_gateway"
pytestmark = pytest.mark.slow

PAGES = r"""
import sys
from pathlib import Path

import pishkhan_gateway
from pishkhan_gateway.app import create_app

unpacked = Path(sys.argv[1]).resolve()
assert Path(pishkhan_gateway.__file__).resolve().is_relative_to(unpacked), pishkhan_gateway.__file__
app = create_app({"DATABASE_URL": "sqlite:///" + sys.argv[2] + "/gw.db", "DATA_DIR": sys.argv[2]})
app.extensions["pishkhan"].store.upgrade()
client = app.test_client()
for path in ("/appointments", "/console/signin", "/static/console/console.css"):
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.get_data(as_text=True)[:300])
answer = client.get("/v1/receipts/tx_0/check?s=AAAA", headers={"Accept": "text/html"})
assert answer.status_code == 404 and "text/html" in answer.content_type, answer.status_code
print("pages ok")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("pishkhan_gateway-*.whl")
    return built


def test_the_wheel_holds_every_file_the_package_reads(wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(wheel).namelist())
    needed = {
        "pishkhan_gateway/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert needed - shipped == set()


def test_the_pages_render_from_the_unpacked_wheel(wheel: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    done = subprocess.run(
        [sys.executable, "-c", PAGES, str(unpacked), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pages ok" in done.stdout
