"""POST /v1/transactions end to end: every step's refusal, every outcome recorded, receipts."""

from __future__ import annotations

import base64
import datetime as dt
import json

import rfc8785
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import func, select

from conftest import BILL, BILL_2, CITIZEN, OTHER_OPERATOR, open_counter, pay_body
from pishkhan_gateway.registry import offices
from pishkhan_gateway.store.tables import LogEntry, Transaction


def post(client, counter, body, key=None, **headers):
    return client.post("/v1/transactions", json=body, headers=counter.headers(key, **headers))


def recorded(gw, transaction_id):
    with gw.store.read() as session:
        return session.get(Transaction, transaction_id)


def assert_problem(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["message_fa"]
    assert problem["type"].endswith(code)
    return problem


def test_bill_payment_succeeds_with_receipt_and_fee_breakdown(client, counter, gw, sandbox):
    response = post(client, counter, pay_body())
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "succeeded"
    assert (body["agency_amount"], body["office_fee"], body["total"]) == (120000, 40000, 160000)
    assert all(type(body[k]) is int for k in ("agency_amount", "office_fee", "total", "fee_cap"))
    assert body["result"]["bill_type"] == "landline"
    assert body["agency_reference"].startswith("PB")
    receipt = body["receipt"]
    assert receipt["transaction_id"] == body["transaction_id"]
    assert receipt["total"] == 160000 and receipt["log_index"] == body["log_index"]
    assert receipt["time_jalali"].startswith("14")
    assert response.headers["Location"] == f"/v1/transactions/{body['transaction_id']}"
    payments = sandbox.state("postbank")["payments"]
    assert [p["amount"] for p in payments.values()] == [120000]
    row = recorded(gw, body["transaction_id"])
    assert (row.outcome, row.total, row.agency_reference) == (
        "succeeded",
        160000,
        body["agency_reference"],
    )


def test_receipt_verifies_with_the_public_key_alone(client, counter):
    receipt = post(client, counter, pay_body()).get_json()["receipt"]
    key = client.get("/v1/audit/public-key").get_json()
    public_key = load_pem_public_key(key["public_key"].encode())
    assert receipt["key_id"] == key["key_id"]

    def genuine(signed):
        unsigned = {k: v for k, v in signed.items() if k != "signature"}
        try:
            public_key.verify(base64.b64decode(signed["signature"]), rfc8785.dumps(unsigned))
        except Exception:
            return False
        return True

    assert genuine(receipt)
    for field, value in [
        ("total", receipt["total"] + 1),
        ("office_fee", 0),
        ("transaction_id", "tx_forged"),
        ("log_index", 99),
    ]:
        assert not genuine({**receipt, field: value}), field


def test_same_idempotency_key_pays_once_and_replays_the_same_response(client, counter, sandbox):
    first = post(client, counter, pay_body(), key="k-1")
    second = post(client, counter, pay_body(), key="k-1")
    assert first.status_code == second.status_code == 201
    assert first.get_data() == second.get_data()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1


def test_a_key_still_replays_after_a_day_and_a_reconcile(client, counter, gw, sandbox, runner):
    """Keys are kept (never pruned): a counter retrying a day later gets the same answer."""
    from pishkhan_gateway.store.tables import IdempotencyRecord

    first = post(client, counter, pay_body(), key="k-day")
    with gw.store.write() as session:
        session.execute(
            IdempotencyRecord.__table__.update().values(
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
            )
        )
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    again = post(client, counter, pay_body(), key="k-day")
    assert again.get_data() == first.get_data() and again.headers["Idempotent-Replayed"]
    other = post(client, counter, pay_body(BILL_2), key="k-day")
    assert other.get_json()["code"] == "idempotency_conflict"
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1


def test_same_key_with_a_different_body_is_an_idempotency_conflict(client, counter, sandbox):
    assert post(client, counter, pay_body(), key="k-2").status_code == 201
    assert_problem(post(client, counter, pay_body(BILL_2), key="k-2"), 409, "idempotency_conflict")
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1


def test_keys_are_scoped_to_their_office(client, counter, gw, sandbox):
    other = open_counter(gw, "office-2")
    assert post(client, counter, pay_body(), key="shared").status_code == 201
    response = post(client, other, pay_body(BILL_2), key="shared")
    assert response.status_code == 201
    assert sandbox.state("postbank")["calls"]["PayBill"] == 2


def test_a_refused_request_can_be_corrected_and_resent_with_its_key(client, counter):
    assert_problem(post(client, counter, pay_body(fee=999999), key="k-3"), 422, "tariff_exceeded")
    assert post(client, counter, pay_body(), key="k-3").status_code == 201


def test_already_paid_bill_is_agency_rejected_and_recorded(client, counter, gw):
    assert post(client, counter, pay_body()).status_code == 201
    problem = assert_problem(post(client, counter, pay_body()), 422, "agency_rejected")
    assert problem["agency_code"] == "ALREADY_PAID"
    assert recorded(gw, problem["transaction_id"]).outcome == "refused"


def test_bad_bill_id_is_invalid_params_naming_the_field(client, counter, gw, sandbox):
    bad = {"bill_id": "2234322344613", "payment_id": "1070189"}
    problem = assert_problem(post(client, counter, pay_body(bad)), 422, "invalid_params")
    assert problem["field"] == "bill_id"
    row = recorded(gw, problem["transaction_id"])
    assert (row.outcome, row.code, row.office_id) == ("refused", "invalid_params", "office-1")
    assert sandbox.state("postbank")["calls"]["PayBill"] == 0


def test_bad_payment_id_check_digits_name_payment_id(client, counter):
    bad = {"bill_id": "9174639504124", "payment_id": "12908197"}
    problem = assert_problem(post(client, counter, pay_body(bad)), 422, "invalid_params")
    assert problem["field"] == "payment_id"


def test_missing_param_is_named(client, counter):
    problem = assert_problem(
        post(client, counter, pay_body({"bill_id": BILL["bill_id"]})), 422, "invalid_params"
    )
    assert problem["field"] == "payment_id"


def test_unknown_service_is_refused_and_recorded(client, counter, gw):
    problem = assert_problem(
        post(client, counter, {"service": "postbank.lottery.win"}), 404, "unknown_service"
    )
    row = recorded(gw, problem["transaction_id"])
    assert (row.outcome, row.service) == ("refused", "postbank.lottery.win")


def test_missing_credential_is_unauthorized_and_recorded(client, gw):
    response = client.post("/v1/transactions", json=pay_body())
    problem = assert_problem(response, 401, "unauthorized")
    assert recorded(gw, problem["transaction_id"]).office_id is None


def test_revoked_credential_is_refused_and_recorded_against_its_office(client, counter, gw):
    offices.revoke_key(gw.store, counter.credential)
    problem = assert_problem(post(client, counter, pay_body()), 401, "unauthorized")
    row = recorded(gw, problem["transaction_id"])
    assert (row.outcome, row.office_id) == ("refused", "office-1")


def test_forged_secret_is_unauthorized(client, counter):
    counter.credential = counter.credential[:-4] + "AAAA"
    assert_problem(post(client, counter, pay_body()), 401, "unauthorized")


def test_operator_of_another_office_is_refused(client, counter, gw):
    open_counter(gw, "office-2", operator=OTHER_OPERATOR)
    counter.operator = OTHER_OPERATOR
    problem = assert_problem(post(client, counter, pay_body()), 403, "operator_not_registered")
    assert recorded(gw, problem["transaction_id"]).office_id == "office-1"


def test_missing_operator_is_refused(client, counter):
    headers = counter.headers()
    del headers["X-Operator"]
    response = client.post("/v1/transactions", json=pay_body(), headers=headers)
    assert_problem(response, 403, "operator_not_registered")


def test_suspended_office_is_refused_and_recorded(client, counter, gw):
    offices.set_status(gw.store, "office-1", "suspended", "overcharging, working group minutes")
    problem = assert_problem(post(client, counter, pay_body()), 403, "office_suspended")
    assert recorded(gw, problem["transaction_id"]).code == "office_suspended"


def test_revoked_office_is_refused(client, counter, gw):
    offices.set_status(gw.store, "office-1", "revoked", "inactive")
    assert_problem(post(client, counter, pay_body()), 403, "office_revoked")


def test_expired_licence_is_refused(client, gw):
    expired = open_counter(
        gw, "office-old", issued_on=dt.date(2019, 1, 1), expires_on=dt.date(2024, 1, 1)
    )
    assert_problem(post(client, expired, pay_body()), 403, "licence_expired")


def test_fee_above_cap_is_refused_and_recorded_as_a_violation(client, counter, gw, sandbox):
    problem = assert_problem(post(client, counter, pay_body(fee=53001)), 422, "tariff_exceeded")
    assert problem["fee_cap"] == 53000 and problem["office_fee"] == 53001
    row = recorded(gw, problem["transaction_id"])
    assert (row.outcome, row.code, row.office_fee, row.fee_cap) == (
        "refused",
        "tariff_exceeded",
        53001,
        53000,
    )
    assert sandbox.state("postbank")["calls"]["PayBill"] == 0


def test_cap_depends_on_the_office_location_category(client, gw):
    village = open_counter(gw, "office-v", category="village", province="Fars")
    assert_problem(post(client, village, pay_body(fee=53000)), 422, "tariff_exceeded")
    assert post(client, village, pay_body(fee=40000)).status_code == 201


def test_free_service_refuses_any_fee(client, counter):
    body = {"service": "postbank.bill.inquiry", "params": BILL, "office_fee": 1}
    problem = assert_problem(post(client, counter, body), 422, "tariff_exceeded")
    assert problem["fee_cap"] == 0


def test_fee_as_a_float_is_refused(client, counter):
    problem = assert_problem(post(client, counter, pay_body(fee=40000.0)), 400, "invalid_request")
    assert problem["field"] == "office_fee"


def test_invalid_national_code_is_refused_for_a_level_1_service(client, counter, gw):
    body = pay_body()
    body["citizen"]["national_code"] = "0684159415"
    problem = assert_problem(post(client, counter, body), 422, "invalid_national_code")
    assert recorded(gw, problem["transaction_id"]).citizen is not None  # pseudonym only


def test_persian_digits_in_national_code_are_accepted(client, counter):
    body = pay_body()
    body["citizen"]["national_code"] = "۰۴۹۹۳۷۰۸۹۹"
    assert post(client, counter, body).status_code == 201


def test_inquiry_needs_no_citizen(client, counter, sandbox):
    response = post(client, counter, {"service": "postbank.bill.inquiry", "params": BILL})
    assert response.status_code == 201
    assert response.get_json()["result"] == {
        "bill_type": "landline",
        "amount": 120000,
        "paid": False,
    }


def test_wrong_content_type_is_refused_and_recorded(client, counter, gw):
    response = client.post(
        "/v1/transactions",
        data=json.dumps(pay_body()),
        headers=counter.headers(**{"Content-Type": "text/plain"}),
    )
    problem = assert_problem(response, 415, "unsupported_media_type")
    assert recorded(gw, problem["transaction_id"]) is not None


def test_malformed_json_is_invalid_request(client, counter):
    response = client.post(
        "/v1/transactions",
        data=b'{"service": ',
        headers=counter.headers(**{"Content-Type": "application/json"}),
    )
    assert_problem(response, 400, "invalid_request")


def test_unexpected_top_level_field_is_named(client, counter):
    problem = assert_problem(post(client, counter, pay_body(tip=5)), 400, "invalid_request")
    assert problem["field"] == "tip"


def test_oversized_body_is_refused(client, counter):
    body = pay_body()
    body["params"]["padding"] = "x" * 70000
    assert_problem(post(client, counter, body), 413, "payload_too_large")


def test_every_outcome_is_recorded_with_gap_free_log_indexes(client, counter, gw):
    responses = [
        post(client, counter, pay_body()),
        post(client, counter, pay_body(fee=10**9)),
        post(client, counter, {"service": "nope.nothing"}),
        client.post("/v1/transactions", json=pay_body()),
        post(client, counter, pay_body()),
    ]
    ids = [r.get_json()["transaction_id"] for r in responses]
    with gw.store.read() as session:
        rows = session.scalars(select(Transaction).order_by(Transaction.log_index)).all()
        entries = session.scalars(select(LogEntry).order_by(LogEntry.index)).all()
        size = session.execute(select(func.count()).select_from(LogEntry)).scalar_one()
    assert [r.id for r in rows] == ids
    assert [r.log_index for r in rows] == list(range(5)) == [e.index for e in entries]
    assert size == 5
    assert [r.outcome for r in rows] == ["succeeded", "refused", "refused", "refused", "refused"]
    for row, entry in zip(rows, entries, strict=True):
        decoded = json.loads(entry.entry)
        assert rfc8785.dumps(decoded) == entry.entry  # stored as canonical bytes
        assert decoded["transaction_id"] == row.id and decoded["outcome"] == row.outcome
        assert CITIZEN.encode() not in entry.entry


def test_agency_down_is_agency_unavailable_and_the_key_can_be_retried(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    from conftest import make_app

    with socket_closed_port() as port:
        dead = {**sandboxes, "postbank": f"http://127.0.0.1:{port}/"}
        app = make_app(db_url, tmp_path, plugins, dead)
        gw = app.extensions["pishkhan"]
        counter = open_counter(gw, "office-1")
        client = app.test_client()
        problem = assert_problem(
            post(client, counter, pay_body(), key="retry-me"), 503, "agency_unavailable"
        )
        assert problem["outcome"] == "failed"
    # The key was released (nothing happened at the bank), so the same request can go again.
    app.config["AGENCIES"]["postbank"]["url"] = sandboxes["postbank"]
    assert post(client, counter, pay_body(), key="retry-me").status_code == 201
    gw.store.dispose()


def test_payment_timeout_is_recorded_unknown_and_never_retried(client, counter, gw, sandbox, app):
    app.config["AGENCIES"]["postbank"]["timeout"] = "0.5"
    sandbox.faults("postbank", mode="slow_reply", hang_seconds=2, times=1)
    problem = assert_problem(post(client, counter, pay_body(), key="slow"), 504, "agency_timeout")
    assert problem["outcome"] == "unknown"
    assert recorded(gw, problem["transaction_id"]).outcome == "unknown"
    replay = post(client, counter, pay_body(), key="slow")
    assert replay.get_json()["transaction_id"] == problem["transaction_id"]
    state = sandbox.state("postbank")
    assert state["calls"]["PayBill"] == 1
    assert list(state["payments"]) == [problem["transaction_id"]]  # the bank did pay


def test_payment_that_stalled_before_the_bank_acted_is_still_unknown(client, counter, sandbox, app):
    app.config["AGENCIES"]["postbank"]["timeout"] = "0.5"
    sandbox.faults("postbank", mode="hang", hang_seconds=2, times=1)
    problem = assert_problem(post(client, counter, pay_body()), 504, "agency_timeout")
    assert problem["outcome"] == "unknown"  # the gateway cannot know; reconcile will


def test_inquiry_is_retried_after_a_transient_failure(client, counter, sandbox):
    sandbox.faults("postbank", mode="http503", times=1)
    response = post(client, counter, {"service": "postbank.bill.inquiry", "params": BILL})
    assert response.status_code == 201
    assert sandbox.state("postbank")["calls"]["BillInquiry"] == 1  # the 503 never reached it


def test_payment_is_not_retried_after_a_server_error(client, counter, sandbox):
    sandbox.faults("postbank", mode="http500", times=1)
    problem = assert_problem(post(client, counter, pay_body()), 504, "agency_timeout")
    assert problem["outcome"] == "unknown"
    assert post(client, counter, pay_body(BILL_2)).status_code == 201


def test_malformed_agency_reply_to_an_inquiry_is_agency_error(client, counter, sandbox):
    sandbox.faults("postbank", mode="malformed")
    body = {"service": "postbank.bill.inquiry", "params": BILL}
    problem = assert_problem(post(client, counter, body), 502, "agency_error")
    assert problem["outcome"] == "failed"


def test_breaker_opens_after_repeated_failures_and_fails_fast(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    from conftest import make_app

    app = make_app(db_url, tmp_path, plugins, sandboxes, BREAKER_FAILURES=2, INQUIRY_RETRIES=0)
    gw = app.extensions["pishkhan"]
    client, counter = app.test_client(), open_counter(gw, "office-1")
    sandbox.faults("postbank", mode="http503")
    body = {"service": "postbank.bill.inquiry", "params": BILL}
    for _ in range(2):
        assert_problem(post(client, counter, body), 503, "agency_unavailable")
    sandbox.faults("postbank")  # healthy again, but the breaker is open
    response = post(client, counter, body)
    assert_problem(response, 503, "agency_unavailable")
    assert int(response.headers["Retry-After"]) > 0
    assert sandbox.state("postbank")["calls"]["BillInquiry"] == 0
    assert client.get("/v1/health").get_json()["agencies"]["postbank"]["breaker"] == "open"
    gw.store.dispose()


class socket_closed_port:
    """A loopback port with nothing listening."""

    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc) -> None:
        return None


def test_message_fa_says_what_was_wrong(client, counter):
    """The Persian message names the field, the cap or the identity level, not only the kind."""
    over = client.post("/v1/transactions", json=pay_body(fee=10**6), headers=counter.headers())
    assert over.get_json()["message_fa"].endswith("سقف کارمزد: ۵۳٬۰۰۰ ریال")
    missing = dict(pay_body())
    missing["params"] = {"bill_id": BILL["bill_id"]}
    bad = client.post("/v1/transactions", json=missing, headers=counter.headers()).get_json()
    assert "«شناسه پرداخت»" in bad["message_fa"], bad
    level2 = {
        "service": "insurance.socialsecurity.history",
        "params": {},
        "citizen": {"national_code": CITIZEN},
        "office_fee": 0,
    }
    needs = client.post("/v1/transactions", json=level2, headers=counter.headers()).get_json()
    assert needs["identity_level"] == 2 and "سطح احراز هویت لازم: ۲" in needs["message_fa"]
    assert "«تاریخ تولد»" in needs["message_fa"]
