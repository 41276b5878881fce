"""What anyone is shown about a reconciled transaction is what it finally is: a retry with its
Idempotency-Key answers the settlement (never the stale 504), settlements and scorecards count
reconciled money on the day it was first attempted, a refused attempt shows no total, and the
proof of a reconciled transaction is of the entry its receipt names."""

from __future__ import annotations

import base64
import hashlib
import threading
import time

from conftest import BILL_2, OTHER_OPERATOR, open_counter, pay_body
from pishkhan_gateway.auditlog import merkle


def supervisor_headers(gw) -> dict[str, str]:
    from test_supervisors import credential

    return credential(gw, "regulator-1", "regulator")


def _unknown_payment(client, counter, sandbox, key="pay-1", body=None):
    sandbox.faults("postbank", mode="drop_after_apply", times=1)
    problem = client.post(
        "/v1/transactions", json=body or pay_body(), headers=counter.headers(key)
    ).get_json()
    assert problem["outcome"] == "unknown", problem
    return problem


def test_a_retry_before_the_settlement_is_outcome_unknown_not_a_stale_504(client, counter, sandbox):
    first = _unknown_payment(client, counter, sandbox)
    retry = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("pay-1"))
    problem = retry.get_json()
    assert (retry.status_code, problem["code"]) == (409, "outcome_unknown")
    assert problem["transaction_id"] == first["transaction_id"] and problem["message_fa"]
    assert int(retry.headers["Retry-After"]) > 0
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1  # never paid twice


def test_a_retry_after_the_settlement_answers_the_settled_outcome(client, counter, sandbox, runner):
    first = _unknown_payment(client, counter, sandbox)
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    retry = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("pay-1"))
    body = retry.get_json()
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert (body["transaction_id"], body["status"]) == (first["transaction_id"], "succeeded")
    assert body["total"] == 160000 and body["result"]["amount"] == 120000
    assert client.post("/v1/receipts/verify", json=body["receipt"]).get_json()["valid"]
    assert body["receipt"]["log_index"] == body["log_index"]
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1


def test_a_retry_after_a_not_applied_settlement_answers_the_not_applied_problem(
    client, counter, sandbox, runner, app
):
    app.config["AGENCIES"]["postbank"]["timeout"] = "0.5"
    sandbox.faults("postbank", mode="hang", hang_seconds=1.5, times=1)
    first = client.post(
        "/v1/transactions", json=pay_body(BILL_2), headers=counter.headers("pay-2")
    ).get_json()
    assert first["outcome"] == "unknown"
    assert "not_applied" in runner.invoke(args=["reconcile"]).stdout
    retry = client.post("/v1/transactions", json=pay_body(BILL_2), headers=counter.headers("pay-2"))
    problem = retry.get_json()
    assert (retry.status_code, problem["code"], problem["outcome"]) == (
        422,
        "agency_rejected",
        "not_applied",
    )
    assert problem["transaction_id"] == first["transaction_id"]


def test_settlements_count_reconciled_money_on_the_day_it_was_attempted(
    client, counter, sandbox, runner
):
    _unknown_payment(client, counter, sandbox)
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    day = client.get("/v1/settlements", headers=counter.headers()).get_json()
    assert day["totals"]["count"] == 1 and day["totals"]["settled_later"] == 1
    assert (day["totals"]["office_fee"], day["totals"]["total"]) == (40000, 160000)


def test_scorecards_count_reconciled_payments_as_succeeded_not_agency_errors(
    client, counter, sandbox, runner, gw
):
    _unknown_payment(client, counter, sandbox)
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    card = client.get(
        f"/v1/audit/offices/{counter.office_id}/scorecard", headers=supervisor_headers(gw)
    ).get_json()
    assert card["outcomes"]["succeeded"] == 1 and card["settled_later"] == 1
    assert card["agency_errors"] == 0 and card["office_fees"] == 40000


def test_a_refused_payment_shows_no_total(client, counter, sandbox, gw):
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    paid_again = client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    assert paid_again.get_json()["code"] == "agency_rejected"
    tx = paid_again.get_json()["transaction_id"]
    own = client.get(f"/v1/transactions/{tx}", headers=counter.headers()).get_json()
    assert own["total"] is None
    found = client.get(
        "/v1/audit/transactions?outcome=refused", headers=supervisor_headers(gw)
    ).get_json()["items"]
    assert [item["total"] for item in found] == [None]


def test_the_proof_of_a_reconciled_transaction_is_of_the_entry_its_receipt_names(
    client, counter, sandbox, runner
):
    first = _unknown_payment(client, counter, sandbox)
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    tx = first["transaction_id"]
    proof = client.get(f"/v1/transactions/{tx}/proof", headers=counter.headers()).get_json()
    receipt = client.get(f"/v1/receipts/{tx}", headers=counter.headers()).get_json()
    assert proof["log_index"] == receipt["log_index"] != first["log_index"]
    entry = base64.b64decode(proof["entry"])
    assert b'"type":"reconciliation"' in entry
    assert merkle.verify_inclusion(
        merkle.leaf_hash(entry),
        proof["log_index"],
        proof["tree_head"]["tree_size"],
        [bytes.fromhex(p) for p in proof["audit_path"]],
        bytes.fromhex(proof["tree_head"]["root_hash"]),
    )
    assert hashlib.sha256(b"\x00" + entry).hexdigest() == proof["leaf_hash"]


def test_waiting_on_a_key_holds_no_admission_slot(db_url, tmp_path, plugins, sandboxes, sandbox):
    """One office retrying a slow payment cannot refuse every other office: with one slot per
    worker, a retry waiting on the first attempt's key gives the slot back."""
    from conftest import make_app

    app = make_app(db_url, tmp_path, plugins, sandboxes, MAX_IN_FLIGHT=2, ADMISSION_WAIT_MS=50)
    gw = app.extensions["pishkhan"]
    slow = open_counter(gw, "slow-office")
    other = open_counter(gw, "other-office", operator=OTHER_OPERATOR)
    sandbox.faults("postbank", latency_ms=1500, times=1, only="PayBill")
    client = app.test_client()
    answers = {}

    def first():
        answers["first"] = client.post(
            "/v1/transactions", json=pay_body(), headers=slow.headers("slow-1")
        )

    starter = threading.Thread(target=first)
    starter.start()
    time.sleep(0.3)  # the first attempt holds a slot, waiting on the bank
    waiting = threading.Thread(
        target=lambda: answers.setdefault(
            "retry",
            app.test_client().post(
                "/v1/transactions", json=pay_body(), headers=slow.headers("slow-1")
            ),
        )
    )
    waiting.start()
    time.sleep(0.3)  # the retry waits on the key
    inquiry = {"service": "postbank.bill.inquiry", "params": dict(pay_body()["params"])}
    served = app.test_client().post("/v1/transactions", json=inquiry, headers=other.headers())
    assert served.status_code == 201, served.get_json()  # not overloaded
    starter.join()
    waiting.join()
    assert answers["first"].status_code == answers["retry"].status_code == 201
    assert answers["retry"].get_data() == answers["first"].get_data()
