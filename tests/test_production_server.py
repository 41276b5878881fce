"""``pishkhan-gateway serve --workers N``: the production server (granian, ``serving.py``) runs
the gateway in N worker processes — transactions over real HTTP, replays across workers, metrics
summed over workers, an access log without query strings, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import BILL, _free_port, make_app, open_counter, pay_body

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def served(db_url, tmp_path, plugins, sandboxes):
    app = make_app(db_url, tmp_path, plugins, sandboxes)
    counter = open_counter(app.extensions["pishkhan"], "office-1")
    app.extensions["pishkhan"].store.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "PISHKHAN_DATABASE_URL": db_url,
        "PISHKHAN_DATA_DIR": str(tmp_path),
        "PISHKHAN_AGENCY_POSTBANK_URL": sandboxes["postbank"],
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = tmp_path / "serve.log"
    command = [str(Path(sys.executable).parent / "pishkhan-gateway"), "serve"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/v1/ready", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(log.read_text()[-2000:])
    yield url, counter, process, log
    if process.poll() is None:
        process.kill()
        process.wait()


def test_the_production_server_runs_transactions_and_stops_cleanly(served):
    url, counter, process, log = served
    paid = requests.post(f"{url}/v1/transactions", json=pay_body(), headers=counter.headers("p-1"))
    assert paid.status_code == 201, paid.text
    for _ in range(6):  # across both workers: the same key answers the same bytes
        again = requests.post(
            f"{url}/v1/transactions", json=pay_body(), headers=counter.headers("p-1")
        )
        assert again.content == paid.content and again.headers["Idempotent-Replayed"] == "true"
    inquiry = {"service": "postbank.bill.inquiry", "params": BILL}
    for _ in range(8):
        reply = requests.post(f"{url}/v1/transactions", json=inquiry, headers=counter.headers())
        assert reply.status_code == 201
    metrics = requests.get(f"{url}/metrics").text
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("pishkhan_transactions_total{")
        and 'service="postbank.bill.inquiry"' in line
    ]
    assert counted and float(counted[0].rsplit(" ", 1)[1]) == 8  # summed over the workers
    requests.get(f"{url}/v1/transactions?service=postbank.bill.pay", headers=counter.headers())
    process.terminate()
    assert process.wait(timeout=30) is not None
    text = log.read_text()
    assert '"POST /v1/transactions" 201' in text
    assert '"GET /v1/transactions" 200' in text and "service=" not in text  # no query strings
