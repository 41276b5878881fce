"""No input yields a 500, and what a client types cannot hurt the people who read the record:
lone surrogates, integers past what the database holds, dates past what a clock holds, formulas
for the regulator's spreadsheet, personal data smuggled into free text; and a bug of ours in a
step is still answered with a code and recorded."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from conftest import pay_body
from pishkhan_gateway.store.tables import LogEntry, Transaction
from test_settled_outcomes import supervisor_headers

HUGE = "9" * 25


def _post_raw(client, counter, body: str, **headers):
    return client.post(
        "/v1/transactions",
        data=body,
        headers={**counter.headers(**headers), "Content-Type": "application/json"},
    )


def test_a_lone_surrogate_anywhere_in_a_body_is_refused_and_recorded(client, counter, gw):
    body = json.dumps(
        {"service": "postbank.bill.pay", "citizen": {"national_code": "\udfff"}, "params": {}}
    )
    reply = _post_raw(client, counter, body)
    problem = reply.get_json()
    assert (reply.status_code, problem["code"]) == (400, "invalid_request")
    with gw.store.read() as session:
        assert session.get(Transaction, problem["transaction_id"]).code == "invalid_request"
    reason = json.dumps({"reason": "\udfff" * 20})
    revealed = client.post(
        "/v1/audit/transactions/tx_x/reveal",
        data=reason,
        headers={**supervisor_headers(gw), "Content-Type": "application/json"},
    )
    assert revealed.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/audit/transactions?cursor={HUGE}",
        f"/v1/audit/proof/inclusion?index={HUGE}&tree_size=1",
        f"/v1/audit/proof/consistency?first=1&second={HUGE}",
        f"/v1/audit/entries?start={HUGE}&end={HUGE}9",
        "/v1/audit/transactions?cursor=²",
        "/v1/audit/offices/office-1/scorecard?from=0001-01-01&to=9999-12-31",
        "/v1/audit/transactions?from=9999-12-31",
    ],
)
def test_numbers_and_dates_past_what_the_store_holds_are_refused_not_a_500(
    client, counter, gw, path
):
    reply = client.get(path, headers=supervisor_headers(gw))
    assert reply.status_code == 400, reply.get_data()[:300]
    assert reply.get_json()["code"] == "invalid_request"


def test_an_offices_own_history_refuses_huge_cursors_and_limits(client, counter):
    for query in (f"cursor={HUGE}", f"limit={HUGE}", "limit=²"):
        reply = client.get(f"/v1/transactions?{query}", headers=counter.headers())
        assert reply.status_code == 400, (query, reply.get_data()[:200])


def test_persian_digits_are_numbers_in_a_query(client, counter, gw):
    reply = client.get("/v1/transactions?limit=۵", headers=counter.headers())
    assert reply.status_code == 200


def test_a_formula_typed_by_an_office_is_not_run_by_the_regulators_spreadsheet(client, counter, gw):
    formula = '=HYPERLINK("http://evil.example","click")'
    client.post("/v1/transactions", json={"service": formula}, headers=counter.headers())
    exported = client.get("/v1/audit/export?format=csv", headers=supervisor_headers(gw)).get_data(
        as_text=True
    )
    cells = [cell for line in exported.splitlines()[1:] for cell in line.split(",")]
    assert not [c for c in cells if c.lstrip('"').startswith(("=", "+", "@"))], exported
    assert "'=HYPERLINK" in exported


def test_personal_data_in_a_mistyped_service_never_reaches_the_log(client, counter, gw):
    reply = client.post(
        "/v1/transactions",
        json={"service": "postbank.bill.inquiry09351112233"},
        headers=counter.headers(),
    )
    assert reply.get_json()["code"] == "unknown_service"
    with gw.store.read() as session:
        entries = b"".join(bytes(e) for e in session.scalars(select(LogEntry.entry)))
        services = list(session.scalars(select(Transaction.service)))
    assert b"09351112233" not in entries and "09351112233" not in repr(services)
    exported = client.get("/v1/audit/export?format=csv", headers=supervisor_headers(gw))
    assert "09351112233" not in exported.get_data(as_text=True)


def test_a_bug_in_a_step_is_answered_with_a_code_and_recorded(client, counter, gw, monkeypatch):
    import pishkhan_gateway.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(pipeline, "price", broken)
    reply = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("bug-1"))
    problem = reply.get_json()
    assert (reply.status_code, problem["code"], problem["outcome"]) == (
        500,
        "internal_error",
        "failed",
    )
    with gw.store.read() as session:
        assert session.get(Transaction, problem["transaction_id"]).code == "internal_error"


def test_a_bug_after_the_agency_call_leaves_the_payment_unknown_not_released(
    client, counter, gw, sandbox, monkeypatch
):
    real = gw.dispatcher.execute

    def executes_then_breaks(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("a bug of ours after the bank paid")

    monkeypatch.setattr(gw.dispatcher, "execute", executes_then_breaks)
    problem = client.post(
        "/v1/transactions", json=pay_body(), headers=counter.headers("bug-2")
    ).get_json()
    assert problem["outcome"] == "unknown"
    monkeypatch.undo()
    again = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("bug-2"))
    assert again.get_json()["code"] == "outcome_unknown"  # never paid twice
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1


def test_free_text_reasons_reach_the_log_with_personal_digits_masked(client, counter, gw):
    """A supervisor's reason (licence actions, reveals) is free text: a national code or mobile
    typed into it is masked before the log, where nothing can ever be removed."""
    regulator = supervisor_headers(gw)
    acted = client.post(
        f"/v1/offices/{counter.office_id}/suspend",
        json={"reason": "complaint by 0499370899, mobile 09121234567"},
        headers=regulator,
    )
    assert acted.status_code == 200, acted.get_json()
    client.post(
        "/v1/audit/transactions/tx_none/reveal",
        json={"reason": "court order about 0499370899 (case 42)"},
        headers=regulator,
    )
    with gw.store.read() as session:
        entries = b"".join(bytes(e) for e in session.scalars(select(LogEntry.entry)))
    assert b"0499370899" not in entries and b"09121234567" not in entries
    assert b"complaint by" in entries and b"court order about" in entries


def test_an_agency_reason_reaches_the_counter_with_personal_digits_masked(
    db_url, tmp_path, sandboxes, sandbox
):
    from conftest import make_app, open_counter
    from pishkhan_gateway import Agency, AgencyRejected, Service, hookimpl
    from pishkhan_gateway.plugins.manager import load_plugins

    class Chatty:
        @hookimpl
        def pishkhan_agencies(self):
            return [Agency(name="chatty", title_fa="پرگو", title_en="Chatty")]

        @hookimpl
        def pishkhan_services(self):
            return [Service("chatty.ask", "chatty", "پرسش", "Ask", 0, "inquiry", {})]

        @hookimpl
        def pishkhan_execute(self, service, params):
            raise AgencyRejected(
                "no record for 0499370899", reason_fa="سابقه‌ای برای 0499370899 نیست"
            )

    app = make_app(db_url, tmp_path, load_plugins(extra=[("chatty", Chatty())]), sandboxes)
    counter = open_counter(app.extensions["pishkhan"], "office-1")
    problem = (
        app.test_client()
        .post("/v1/transactions", json={"service": "chatty.ask"}, headers=counter.headers("k"))
        .get_json()
    )
    assert problem["code"] == "agency_rejected"
    assert "0499370899" not in repr(problem) and "no record for" in problem["agency_reason"]


def test_every_json_answer_ends_with_a_newline_and_a_replay_is_still_byte_identical(
    client, counter
):
    first = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("nl-1"))
    again = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("nl-1"))
    refused = client.post("/v1/transactions", data="{", headers=counter.headers())
    for reply in (first, again, refused, client.get("/v1/health"), client.get("/openapi.json")):
        assert reply.data.endswith(b"}\n"), reply.data[-20:]
    assert again.data == first.data


def test_a_401_says_how_to_authenticate_and_a_405_what_is_allowed(client):
    """RFC 9110: every 401 carries ``WWW-Authenticate`` (the Bearer scheme, RFC 6750) — on the
    counter's pipeline, an office's call and a supervisor's alike — and the document says so; a
    405 carries ``Allow``, and stays a problem."""
    for method, url in (
        ("POST", "/v1/transactions"),
        ("GET", "/v1/transactions"),
        ("GET", "/v1/audit/transactions"),
    ):
        for headers in ({}, {"Authorization": "Bearer psk_unknown"}):
            answer = client.open(url, method=method, json={}, headers=headers)
            assert answer.status_code == 401
            assert answer.headers["WWW-Authenticate"].startswith("Bearer "), (method, url)
    spec = client.get("/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if "401" in op.get("responses", {}):
                assert "WWW-Authenticate" in op["responses"]["401"]["headers"], (method, path)
    answer = client.delete("/v1/transactions")
    assert answer.status_code == 405 and answer.content_type == "application/problem+json"
    assert {"GET", "POST"} <= {m.strip() for m in answer.headers["Allow"].split(",")}
