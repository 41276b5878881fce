"""Several gateway processes on one database, metrics, and fast refusal at capacity."""

from __future__ import annotations

import concurrent.futures
import os
import re
import threading
import time

import pytest
import requests

from conftest import BILL, BILL_2, make_app, open_counter, pay_body, start_gunicorn


@pytest.mark.slow
def test_two_hosts_one_key_execute_once(db_url, tmp_path, plugins, sandboxes, sandbox):
    """Two gunicorn 'hosts' (two workers each) on one database: 100 concurrent duplicates of
    one Idempotency-Key amid other load → one agency call, one record, identical answers; the log
    stays gap-free and verifies."""
    app = make_app(db_url, tmp_path, plugins, sandboxes)  # migrates, loads tariffs, makes keys
    gw = app.extensions["pishkhan"]
    counter = open_counter(gw, "office-1")
    env = {
        **os.environ,
        "PISHKHAN_DATABASE_URL": db_url,
        "PISHKHAN_DATA_DIR": str(tmp_path),
        "PISHKHAN_AGENCY_POSTBANK_URL": sandboxes["postbank"],
        "PISHKHAN_SEAL_INTERVAL_SECONDS": "0.2",
        "PISHKHAN_AUTH_FAILURE_LIMIT": "100000/minute",
        "PISHKHAN_OFFICE_RATE_LIMIT": "100000/minute",
        "PISHKHAN_OPERATOR_RATE_LIMIT": "100000/minute",
        "PISHKHAN_MAX_IN_FLIGHT": "64",
        "PISHKHAN_ADMISSION_WAIT_MS": "10000",
        "PISHKHAN_LOG_LEVEL": "WARNING",
    }
    hosts = [start_gunicorn(env, tmp_path / f"host{i}") for i in range(2)]
    ports = [host.port for host in hosts]
    try:
        duplicate = pay_body()

        def send(i: int) -> tuple[int, bytes]:
            port = ports[i % 2]
            if i % 3 == 2:  # other load: inquiries, no key
                body, headers = {"service": "postbank.bill.inquiry", "params": BILL_2}, {}
            else:
                body, headers = duplicate, {"Idempotency-Key": "one-key"}
            reply = requests.post(
                f"http://127.0.0.1:{port}/v1/transactions",
                json=body,
                headers={**counter.headers(), **headers},
                timeout=60,
            )
            return (reply.status_code, reply.content) if headers else (-1, b"")

        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            answers = [a for a in pool.map(send, range(150)) if a[0] != -1]
        assert len(answers) == 100
        assert {status for status, _ in answers} == {201}, answers[:3]
        assert len({body for _, body in answers}) == 1  # byte-identical
        assert sandbox.state("postbank")["calls"]["PayBill"] == 1
        # Each host sums its own workers; whichever host won the key counted the one payment.
        paid_metric = re.compile(
            r'pishkhan_transactions_total\{code="",outcome="succeeded",'
            r'service="postbank.bill.pay"\} ([0-9.]+)'
        )
        counted = [
            sum(
                float(n)
                for n in paid_metric.findall(
                    requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                )
            )
            for port in ports
        ]
        assert sorted(counted) == [0.0, 1.0], counted
    finally:
        for host in hosts:
            host.stop()
    from sqlalchemy import func, select

    from pishkhan_gateway.store.tables import LogEntry, Transaction

    with gw.store.read() as session:
        paid = session.scalar(
            select(func.count()).where(
                Transaction.idempotency_key == gw.pseudonyms.idempotency_key("office-1", "one-key"),
                Transaction.outcome == "succeeded",
            )
        )
        indexes = list(session.scalars(select(LogEntry.index).order_by(LogEntry.index)))
    assert paid == 1
    assert indexes == list(range(len(indexes)))  # gap-free, ordered
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    gw.store.dispose()


def test_metrics_count_outcomes_and_read_the_log(client, counter, gw):
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    client.post("/v1/transactions", json={"service": "no.such"}, headers=counter.headers())
    text = client.get("/metrics").get_data(as_text=True)
    assert 'service="postbank.bill.pay"' in text
    assert 'code="unknown_service",outcome="refused",service="unknown"' in text  # bounded labels
    assert 'pishkhan_agency_call_seconds_bucket{agency="postbank"' in text
    assert 'pishkhan_breaker_state{agency="postbank"} 0.0' in text
    assert "pishkhan_log_entries 2.0" in text and "pishkhan_sealer_lag_entries 2.0" in text
    gw.sealer.seal_all()
    assert "pishkhan_sealer_lag_entries 0.0" in client.get("/metrics").get_data(as_text=True)


def test_at_capacity_a_transaction_is_refused_fast_and_not_recorded(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    app = make_app(db_url, tmp_path, plugins, sandboxes, MAX_IN_FLIGHT=1, ADMISSION_WAIT_MS=20)
    gw = app.extensions["pishkhan"]
    counter = open_counter(gw, "office-1")
    sandbox.faults("postbank", mode="hang", hang_seconds=1.0, times=1)
    inquiry = {"service": "postbank.bill.inquiry", "params": BILL}
    slow = threading.Thread(
        target=lambda: app.test_client().post(
            "/v1/transactions", json=inquiry, headers=counter.headers()
        )
    )
    slow.start()
    time.sleep(0.3)  # the first one holds the only slot, waiting on the agency
    started = time.monotonic()
    reply = app.test_client().post("/v1/transactions", json=inquiry, headers=counter.headers())
    elapsed = time.monotonic() - started
    slow.join()
    assert reply.status_code == 503 and reply.get_json()["code"] == "overloaded"
    assert reply.headers["Retry-After"] == "1"
    assert elapsed < 0.25  # refused, not queued (generous for a loaded CI box)
    from sqlalchemy import func, select

    from pishkhan_gateway.store.tables import Transaction

    with gw.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Transaction)) == 1
    gw.store.dispose()
