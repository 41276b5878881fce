"""Keys and seals that hold without anyone watching: a host missing a key the stored data needs
refuses to start and names it; per-mobile code limits survive a pseudonym key rotation; what the
CLI writes is sealed by the CLI, and a host seals with no HTTP traffic at all."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import _free_port, make_app
from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.crypto.keyring import KeyringIncomplete
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LogEntry, TreeHead
from test_reference_agencies import FULL_CITIZEN, SIM, send_otp


def test_a_host_missing_a_retired_key_refuses_to_start_and_names_it(
    app, runner, db_url, tmp_path, plugins, sandboxes
):
    assert runner.invoke(args=["keys", "rotate", "encryption"]).exit_code == 0
    (retired,) = tmp_path.glob("encryption.key.*.retired")
    make_app(db_url, tmp_path, plugins, sandboxes)  # with the retired key: starts
    retired.rename(tmp_path / "elsewhere")
    with pytest.raises(KeyringIncomplete) as refused:
        make_app(db_url, tmp_path, plugins, sandboxes)
    key_id = retired.name.split(".")[2]
    assert key_id in str(refused.value) and retired.name in str(refused.value)


def test_the_per_mobile_code_limit_survives_a_pseudonym_key_rotation(
    app, client, counter, gw, runner, sandbox, db_url, tmp_path, plugins, sandboxes
):
    for _ in range(3):
        send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    assert runner.invoke(args=["keys", "rotate", "pseudonym"]).exit_code == 0
    fresh = make_app(db_url, tmp_path, plugins, sandboxes)
    reply = fresh.test_client().post(
        "/v1/otp", json={"service": SIM, "citizen": FULL_CITIZEN}, headers=counter.headers()
    )
    assert reply.get_json()["code"] == "otp_rate_limited"


def _signed_size(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.max(TreeHead.tree_size))) or 0


def _size(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(LogEntry))


def test_what_reconcile_writes_is_sealed_before_it_returns(client, counter, gw, sandbox, runner):
    from conftest import pay_body

    sandbox.faults("postbank", mode="drop_after_apply", times=1)
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers("k"))
    gw.sealer.seal_all()
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    assert _signed_size(gw.store) == _size(gw.store)


@pytest.mark.parametrize("server", ["serve --workers", "gunicorn"])
def test_a_host_with_no_traffic_seals_what_others_wrote(tmp_path, server):
    """The sealer starts with each worker of either production server, not with its first
    request."""
    url = f"sqlite:///{tmp_path}/quiet.db"
    store = Store(url)
    store.upgrade()
    record_event(store, {"type": "test", "note": "written by another process"})
    env = {
        **os.environ,
        "PISHKHAN_DATABASE_URL": url,
        "PISHKHAN_DATA_DIR": str(tmp_path),
        "PISHKHAN_SEAL_INTERVAL_SECONDS": "0.2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    if server == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "-c", "python:pishkhan_gateway.gunicorn_conf"]
        command += ["--bind", f"127.0.0.1:{_free_port()}", "--workers", "1"]
        command += ["pishkhan_gateway.wsgi:app"]
    else:
        command = [str(Path(sys.executable).parent / "pishkhan-gateway"), "serve"]
        command += ["--port", str(_free_port()), "--workers", "1"]
    log = (tmp_path / "gunicorn.log").open("wb")
    host = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while _signed_size(store) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _signed_size(store) == 1, (tmp_path / "gunicorn.log").read_text()[-2000:]
    finally:
        host.terminate()
        host.wait(timeout=10)
        store.dispose()
