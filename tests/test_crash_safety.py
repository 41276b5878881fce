"""Nothing acknowledged is lost, nothing is paid twice — through crashes.

First the mechanism, in process: a worker that dies between the agency call and the record leaves
its intent; ``reconcile`` records it as unknown and settles it with the bank. Then the real thing:
payments under load through gunicorn while workers and the master are SIGKILLed at random, checked
against the sandbox bank's own ledger. ``PISHKHAN_CRASH_ROUNDS`` sets the kills per database
(25 in ``make test``; ``make crash`` runs 1,000 under 12 counter threads), ``PISHKHAN_CRASH_SEED``
replays a run (each run draws and prints a fresh one).
"""

from __future__ import annotations

import itertools
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from conftest import make_app, open_counter, pay_body, start_gunicorn
from pishkhan_gateway.store.tables import IdempotencyRecord, Intent, LogEntry, Transaction
from pishkhan_postbank import billing

INQUIRY = {"service": "postbank.bill.inquiry"}


class Crash(BaseException):
    """The worker dies here (BaseException: nothing in the gateway catches it)."""


def die_after_the_agency_call(gw, monkeypatch):
    real = gw.dispatcher.execute

    def execute(*args, **kwargs):
        real(*args, **kwargs)
        raise Crash()

    monkeypatch.setattr(gw.dispatcher, "execute", execute)


def bill(serial: int, thousands: int = 120) -> dict[str, str]:
    """A valid, unique bill (water) for ``thousands`` × 1,000 rials."""
    body = f"{serial:09d}1"
    bill_id = body + str(billing.check_digit(body))
    head = f"{thousands}{serial % 1000:03d}"
    first = head + str(billing.check_digit(head))
    payment_id = first + str(billing.check_digit(bill_id + first))
    assert billing.bill_id_error(bill_id) is None
    assert billing.payment_id_error(bill_id, payment_id) is None
    return {"bill_id": bill_id, "payment_id": payment_id}


def test_a_payment_interrupted_after_the_bank_paid_is_recovered_and_settled(
    app, client, counter, gw, sandbox, runner, monkeypatch
):
    die_after_the_agency_call(gw, monkeypatch)
    with pytest.raises(Crash):
        client.post("/v1/transactions", json=pay_body(), headers=counter.headers("k1"))
    monkeypatch.undo()
    with gw.store.read() as session:
        (intent,) = session.scalars(select(Intent))
        assert session.scalar(select(func.count()).select_from(Transaction)) == 0
        assert b"0499370899" not in intent.outcome.encode()  # pseudonym and sealed only
    assert len(sandbox.state("postbank")["payments"]) == 1  # the bank did pay
    gw.config["IDEMPOTENCY_WAIT_SECONDS"] = 0.2
    retry = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("k1"))
    assert retry.get_json()["code"] == "idempotency_in_progress"  # not executed again
    result = runner.invoke(args=["reconcile"])  # too early: the attempt may still be running
    assert "interrupted" not in result.output
    gw.config["INTERRUPTED_AFTER_SECONDS"] = 0
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert f"{intent.transaction_id}\tunknown\tinterrupted" in result.stdout
    assert f"{intent.transaction_id}\tsucceeded" in result.stdout
    replay = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("k1"))
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["transaction_id"] == intent.transaction_id
    settled = client.get(f"/v1/transactions/{intent.transaction_id}", headers=counter.headers())
    assert settled.get_json()["status"] == "succeeded"
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1
    with gw.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Intent)) == 0
    assert "0 settled" in runner.invoke(args=["reconcile"]).stderr  # a second run does nothing
    gw.sealer.seal_all()
    assert runner.invoke(args=["audit", "verify", "--deep"]).exit_code == 0


def test_an_interrupted_inquiry_releases_its_key(client, counter, gw, sandbox, runner, monkeypatch):
    body = {**INQUIRY, "params": bill(1)}
    die_after_the_agency_call(gw, monkeypatch)
    with pytest.raises(Crash):
        client.post("/v1/transactions", json=body, headers=counter.headers("q1"))
    monkeypatch.undo()
    with gw.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Intent)) == 0  # inquiries: none
        assert session.scalar(select(IdempotencyRecord.state)) == "pending"
    gw.config["INTERRUPTED_AFTER_SECONDS"] = 0
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    retry = client.post("/v1/transactions", json=body, headers=counter.headers("q1"))
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers


def test_an_attempt_refused_before_dispatch_leaves_no_intent(client, counter, gw, sandbox):
    reply = client.post("/v1/transactions", json=pay_body(fee=10**9), headers=counter.headers())
    assert reply.get_json()["code"] == "tariff_exceeded"
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    with gw.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Intent)) == 0


# -- SIGKILL under load --------------------------------------------------------------------------


class Counter:
    """The counter software: sends each payment with its own key until it gets an answer."""

    def __init__(self, headers, port_of) -> None:
        self.headers, self.port_of = headers, port_of
        self.serials = itertools.count(1000)
        self.lock = threading.Lock()
        self.answers: dict[str, dict] = {}  # key → the answer the gateway acknowledged
        self.pending: dict[str, dict] = {}  # key → body, not answered yet
        self.stop = threading.Event()

    def send(self, key: str, body: dict) -> dict | None:
        try:
            reply = requests.post(
                f"http://127.0.0.1:{self.port_of()}/v1/transactions",
                json=body,
                headers={**self.headers(key)},
                timeout=30,
            )
        except requests.RequestException:
            return None  # the worker died under us: send it again with the same key
        answer = reply.json()
        if answer.get("code") in ("idempotency_in_progress", "outcome_unknown"):
            raise Later()  # its first attempt died mid-call or ended unclearly: settled later
        if answer.get("code") == "overloaded":
            return None
        assert "transaction_id" in answer, answer
        return answer

    def run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                serial = next(self.serials)
            key, body = f"k-{serial}", pay_body(bill(serial), fee=40000)
            with self.lock:
                self.pending[key] = body
            while not self.stop.is_set():  # the same key again until it is answered
                try:
                    answer = self.send(key, body)
                except Later:
                    break
                if answer is not None:
                    with self.lock:
                        self.answers[key] = answer
                        del self.pending[key]
                    break
                time.sleep(0.05)

    def settle_pending(self) -> None:
        """After the storm: every key not yet answered is sent again until answered."""
        for key, body in list(self.pending.items()):
            for _ in range(50):
                try:
                    answer = self.send(key, body)
                except Later:
                    answer = None
                if answer is not None:
                    self.answers[key] = answer
                    del self.pending[key]
                    break
                time.sleep(0.2)
        assert not self.pending, f"keys never answered: {list(self.pending)[:5]}"


class Later(Exception):
    """Not answerable now; the key stays pending."""


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "pishkhan-gateway"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_sigkill_under_load_loses_nothing_and_pays_nothing_twice(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    rounds = int(os.environ.get("PISHKHAN_CRASH_ROUNDS", "25"))
    app = make_app(db_url, tmp_path, plugins, sandboxes)
    gw = app.extensions["pishkhan"]
    office = open_counter(gw, "office-1")
    env = {
        **os.environ,
        "PISHKHAN_DATABASE_URL": db_url,
        "PISHKHAN_DATA_DIR": str(tmp_path),
        "PISHKHAN_AGENCY_POSTBANK_URL": sandboxes["postbank"],
        "PISHKHAN_SEAL_INTERVAL_SECONDS": "0.2",
        # A retry of a key whose attempt died with its worker waits this long before it is put
        # aside (settled at the end): at 2 s the counter threads spent the storm waiting.
        "PISHKHAN_IDEMPOTENCY_WAIT_SECONDS": "0.2",
        "PISHKHAN_AUTH_FAILURE_LIMIT": "100000/minute",
        "PISHKHAN_OFFICE_RATE_LIMIT": "100000/minute",
        "PISHKHAN_OPERATOR_RATE_LIMIT": "100000/minute",
        "PISHKHAN_LOG_LEVEL": "WARNING",
    }
    # A fresh seed each run (printed: PISHKHAN_CRASH_SEED=… replays a failing run exactly).
    seed = int(os.environ.get("PISHKHAN_CRASH_SEED") or secrets.randbits(32))
    print(f"PISHKHAN_CRASH_SEED={seed}")
    rng = random.Random(seed)
    host = start_gunicorn(env, tmp_path / "host")
    counter = Counter(office.headers, lambda: host.port)
    load = int(os.environ.get("PISHKHAN_CRASH_THREADS", "6"))
    threads = [threading.Thread(target=counter.run) for _ in range(load)]
    for t in threads:
        t.start()
    kills = {"worker": 0, "master": 0}
    try:
        for _ in range(rounds):
            time.sleep(rng.uniform(0.1, 0.6))  # long enough for a new worker to serve
            workers = children(host.process.pid)
            if workers and rng.random() < 0.75:
                os.kill(rng.choice(workers), signal.SIGKILL)
                kills["worker"] += 1
                continue
            for pid in [host.process.pid, *workers]:  # the whole host, as a power cut would
                os.kill(pid, signal.SIGKILL)
            host.process.wait()
            kills["master"] += 1
            host = start_gunicorn(env, tmp_path / f"host-{uuid.uuid4().hex[:6]}")
    finally:
        counter.stop.set()
        for t in threads:
            t.join(timeout=60)
    host.stop()
    # every worker is gone: whatever is still in flight was interrupted
    recovery = cli({**env, "PISHKHAN_INTERRUPTED_AFTER_SECONDS": "0"}, "reconcile")
    assert recovery.returncode == 0, recovery.stderr
    host = start_gunicorn(env, tmp_path / "host-final")
    try:
        counter.settle_pending()
    finally:
        host.stop()
    assert cli(env, "reconcile").returncode == 0
    sealed = cli(env, "audit", "seal")
    assert sealed.returncode == 0, sealed.stderr
    verified = cli(env, "audit", "verify", "--deep")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    ledger = sandbox.state("postbank")["payments"]  # tracking id (= transaction id) → payment
    with gw.store.read() as session:
        rows = {t.id: t for t in session.scalars(select(Transaction))}
        logged = set(session.scalars(select(LogEntry.index)))
        assert session.scalar(select(func.count()).select_from(Intent)) == 0
        pending = session.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.state == "pending")
        )
        assert pending == 0
    # 1. every acknowledged answer is in the log, with the outcome it answered
    for key, answer in counter.answers.items():
        row = rows.get(answer["transaction_id"])
        assert row is not None, f"{key}: acknowledged {answer['transaction_id']} is not recorded"
        assert row.log_index in logged
        # the first answer, or (a retry after reconcile) the settled one
        answered = answer.get("outcome") or answer["status"]
        assert answered in (row.outcome, row.settled_outcome), (key, answer)
    # 2. no key executed twice, no bill paid twice
    executed = [r for r in rows.values() if r.outcome in ("succeeded", "unknown")]
    keys = [r.idempotency_key for r in executed]
    assert len(keys) == len(set(keys)), "a key executed twice"
    bills = [(p["bill_id"], p["payment_id"]) for p in ledger.values()]
    assert len(bills) == len(set(bills))
    # 3. every payment the bank made belongs to a recorded transaction that ends succeeded
    for tracking_id, payment in ledger.items():
        row = rows.get(tracking_id)
        assert row is not None, f"the bank paid {tracking_id}, the gateway has no record of it"
        final = row.settled_outcome or row.outcome
        assert final == "succeeded", (tracking_id, row.outcome, row.settled_outcome)
    # 4. and no payment is left without an outcome
    assert not [r.id for r in rows.values() if r.outcome == "unknown" and not r.settled_outcome]
    assert counter.answers and kills["worker"] + kills["master"] == rounds
    print(f"seed {seed}: {len(counter.answers)} payments, {len(ledger)} paid, kills {kills}")
    if rounds >= 1000:  # ``make crash``: enough acknowledged payments to back "nothing lost"
        assert len(counter.answers) >= 1000, f"only {len(counter.answers)} payments acknowledged"
