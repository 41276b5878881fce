"""A one-time code proves what it claims: it is accepted only if right, unexpired and for this
office, service and citizen; a retry with the same Idempotency-Key is answered from the stored
response, never by skipping the code check; keys of refused and failed attempts never unlock a
code. (Before, a key whose attempt was refused at the tariff or failed could be sent again after
the code expired, with a wrong code and another body, and the SIM was replaced.)"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from pishkhan_gateway.store.tables import OneTimeCode
from test_reference_agencies import FULL_CITIZEN, SIM, send_otp, transact


def _expire_codes(gw) -> None:
    """Move every code's expiry into the past (as 135 s of waiting would)."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=15)
    with gw.store.write() as session:
        session.execute(update(OneTimeCode).values(expires_at=past))


def test_a_key_refused_at_the_tariff_never_unlocks_an_expired_code_with_a_wrong_one(
    client, counter, sandbox, gw
):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    citizen = dict(FULL_CITIZEN, otp=code)
    body = {"service": SIM, "citizen": citizen, "params": {"reason": "lost"}, "office_fee": 10**9}
    refused = client.post("/v1/transactions", json=body, headers=counter.headers(key="park-1"))
    assert refused.get_json()["code"] == "tariff_exceeded"
    _expire_codes(gw)
    wrong = dict(FULL_CITIZEN, otp="999999")
    reply = transact(client, counter, SIM, {"reason": "damaged"}, wrong, key="park-1")
    assert reply.get_json()["code"] == "otp_invalid", reply.get_json()
    assert sandbox.state("telecom")["calls"].get("replace", 0) == 0


def test_a_key_whose_attempt_failed_never_unlocks_a_code(client, counter, sandbox, gw):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    sandbox.faults("telecom", mode="http503", only="replace", times=1)
    first = transact(
        client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=code), key="k"
    )
    assert first.get_json()["code"] == "agency_unavailable"
    again = transact(
        client, counter, SIM, {"reason": "damaged"}, dict(FULL_CITIZEN, otp="000000"), key="k"
    )
    assert again.get_json()["code"] == "otp_invalid", again.get_json()
    assert sandbox.state("telecom")["calls"].get("replace", 0) == 0


def test_a_used_code_does_not_pass_under_its_key_for_another_body(client, counter, sandbox):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    citizen = dict(FULL_CITIZEN, otp=code)
    first = transact(client, counter, SIM, {"reason": "lost"}, citizen, key="sim-2")
    assert first.status_code == 201
    other = transact(client, counter, SIM, {"reason": "damaged"}, citizen, key="sim-2")
    assert other.get_json()["code"] == "idempotency_conflict"
    assert sandbox.state("telecom")["calls"]["replace"] == 1


def test_a_retry_is_answered_from_the_stored_response_even_after_the_code_expired(
    client, counter, sandbox, gw
):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    citizen = dict(FULL_CITIZEN, otp=code)
    first = transact(client, counter, SIM, {"reason": "lost"}, citizen, key="sim-3")
    _expire_codes(gw)
    again = transact(client, counter, SIM, {"reason": "lost"}, citizen, key="sim-3")
    assert (again.status_code, again.data) == (201, first.data)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sandbox.state("telecom")["calls"]["replace"] == 1


def test_an_expired_code_is_refused_even_when_right(client, counter, sandbox, gw):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    _expire_codes(gw)
    reply = transact(client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=code))
    assert reply.get_json()["code"] == "otp_invalid"
    assert "expired" in reply.get_json()["detail"]


def _entries(gw, kind):
    import json

    from sqlalchemy import select

    from pishkhan_gateway.store.tables import LogEntry

    with gw.store.read() as session:
        rows = [json.loads(bytes(e)) for e in session.scalars(select(LogEntry.entry))]
    return [e for e in rows if e.get("type") == kind]


def test_every_identity_check_behind_a_code_is_recorded(client, counter, sandbox, gw):
    """``POST /v1/otp`` probes (birth date, mobile ownership) leave the same trace as the same
    check inside a transaction: outcome, code and the citizen's pseudonym, never the number."""
    wrong_birth = dict(FULL_CITIZEN, birth_date="1370-01-01")
    not_owned = dict(FULL_CITIZEN, mobile="09122223344")
    for citizen, code in ((wrong_birth, "identity_mismatch"), (not_owned, "mobile_not_owned")):
        reply = client.post(
            "/v1/otp", json={"service": SIM, "citizen": citizen}, headers=counter.headers()
        )
        assert reply.get_json()["code"] == code
    send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    entries = _entries(gw, "otp_request")
    assert [(e["outcome"], e["code"]) for e in entries] == [
        ("refused", "identity_mismatch"),
        ("refused", "mobile_not_owned"),
        ("succeeded", None),
    ]
    pseudonym = gw.pseudonyms.national_code(FULL_CITIZEN["national_code"])
    assert {e["citizen"] for e in entries} == {pseudonym}
    assert all(e["office"] == counter.office_id and e["service"] == SIM for e in entries)
    text = repr(entries)
    assert FULL_CITIZEN["national_code"] not in text and "0912" not in text


def test_code_requests_count_against_the_office_quota(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    from conftest import make_app, open_counter

    app = make_app(db_url, tmp_path, plugins, sandboxes, OFFICE_RATE_LIMIT="2/minute")
    gw = app.extensions["pishkhan"]
    counter = open_counter(gw, "office-q")
    client = app.test_client()
    wrong_birth = dict(FULL_CITIZEN, birth_date="1370-01-01")
    codes = [
        client.post(
            "/v1/otp", json={"service": SIM, "citizen": wrong_birth}, headers=counter.headers()
        ).get_json()["code"]
        for _ in range(3)
    ]
    assert codes == ["identity_mismatch", "identity_mismatch", "rate_limited"]
    assert [e["code"] for e in _entries(gw, "otp_request")][-1] == "rate_limited"
