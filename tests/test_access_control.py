"""Access control, case by case from the OWASP API Security Top 10: each attempt is refused and
recorded — as a refused transaction on ``POST /v1/transactions``, as an ``access_denied`` log
entry everywhere else — and the record names who tried, never a secret."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select, update

from conftest import BILL_2, OTHER_OPERATOR, make_app, open_counter, pay_body
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.store.tables import LogEntry, Office, OfficeCredential, Transaction
from test_reference_agencies import FULL_CITIZEN, SIM, send_otp, transact


def entries(gw) -> list[dict]:
    with gw.store.read() as session:
        return [
            json.loads(e) for e in session.scalars(select(LogEntry.entry).order_by(LogEntry.index))
        ]


def denials(gw) -> list[dict]:
    return [e for e in entries(gw) if e.get("type") == "access_denied"]


def refused_transaction(gw, transaction_id: str) -> Transaction:
    with gw.store.read() as session:
        row = session.get(Transaction, transaction_id)
    assert row is not None and row.outcome == "refused"
    return row


def supervisor(gw, supervisor_id, role, scope=None, **issue) -> dict[str, str]:
    supervisors.add(gw.store, supervisor_id, role, scope)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, supervisor_id, **issue)}"}


@pytest.fixture
def two_offices(client, gw, counter):
    """office-1 (Tehran) with a paid bill; office-2 (Fars) with its own operator."""
    paid = client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    assert paid.status_code == 201
    other = open_counter(gw, "office-2", province="Fars", operator=OTHER_OPERATOR)
    gw.sealer.seal_all()
    return counter, other, paid.get_json()["transaction_id"]


# -- API1: broken object level authorisation ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/v1/transactions/{id}", "/v1/receipts/{id}", "/v1/transactions/{id}/proof"],
)
def test_an_office_cannot_read_another_offices_transaction_or_receipt(
    client, gw, two_offices, path
):
    mine, theirs, transaction_id = two_offices
    foreign = client.get(path.format(id=transaction_id), headers=theirs.headers())
    missing = client.get(path.format(id="tx_000000000000" + "0" * 20), headers=theirs.headers())
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_json()["code"] == missing.get_json()["code"] == "not_found"
    assert foreign.get_json()["title"] == missing.get_json()["title"]  # no existence oracle
    assert client.get(path.format(id=transaction_id), headers=mine.headers()).status_code == 200
    recorded = denials(gw)[-2]
    assert recorded["code"] == "not_found" and recorded["office"] == "office-2"
    assert recorded["route"] == path.replace("{id}", "<transaction_id>")


def test_a_supervisor_cannot_read_outside_its_scope(client, gw, two_offices):
    fars = supervisor(gw, "wg-fars", "province", "Fars")
    card = client.get("/v1/audit/offices/office-1/scorecard", headers=fars)
    assert card.status_code == 404 and card.get_json()["code"] == "not_found"
    assert client.get("/v1/audit/offices/office-2/scorecard", headers=fars).status_code == 200
    listed = client.get("/v1/audit/transactions?office=office-1", headers=fars).get_json()
    assert listed["items"] == []  # filtered in the query itself
    recorded = denials(gw)[-1]
    assert (recorded["supervisor"], recorded["code"]) == ("wg-fars", "not_found")
    assert recorded["route"] == "/v1/audit/offices/<office_id>/scorecard"


# -- API2: broken authentication ----------------------------------------------------------------


def test_a_revoked_credential_is_refused_and_recorded_against_its_office(client, gw, counter):
    offices.revoke_key(gw.store, counter.credential)
    read = client.get("/v1/transactions", headers=counter.headers())
    assert read.status_code == 401 and read.get_json()["code"] == "unauthorized"
    recorded = denials(gw)[-1]
    credential_id = counter.credential.split(".")[0]
    assert (recorded["office"], recorded["credential"]) == ("office-1", credential_id)
    assert counter.credential.split(".")[1] not in json.dumps(entries(gw))  # never the secret
    paid = client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    assert refused_transaction(gw, paid.get_json()["transaction_id"]).code == "unauthorized"


def test_an_expired_credential_is_refused_and_recorded(client, gw, counter, runner):
    result = runner.invoke(args=["offices", "issue-key", "office-1", "--valid-days", "30"])
    fresh = result.stdout.strip()
    headers = {**counter.headers(), "Authorization": f"Bearer {fresh}"}
    assert client.get("/v1/transactions", headers=headers).status_code == 200
    with gw.store.write() as session:
        session.execute(
            update(OfficeCredential)
            .where(OfficeCredential.id == fresh[4:20])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    read = client.get("/v1/transactions", headers=headers)
    assert read.status_code == 401 and "expired" in read.get_json()["detail"]
    assert denials(gw)[-1]["office"] == "office-1"
    paid = client.post("/v1/transactions", json=pay_body(), headers=headers)
    row = refused_transaction(gw, paid.get_json()["transaction_id"])
    assert (row.code, row.office_id) == ("unauthorized", "office-1")


def test_credentials_are_issued_for_the_configured_days(gw, runner):
    runner.invoke(args=["supervisors", "add", "--id", "reg", "--role", "regulator"])
    issued = runner.invoke(args=["supervisors", "issue-key", "reg"]).stdout.strip()
    forever = runner.invoke(args=["supervisors", "issue-key", "reg", "--valid-days", "0"])
    from pishkhan_gateway.store.tables import SupervisorCredential

    with gw.store.read() as session:
        ends = {row.id: row.expires_at for row in session.scalars(select(SupervisorCredential))}
    days = (ends[issued[4:20]].replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)).days
    assert days in (364, 365)  # CREDENTIAL_VALID_DAYS
    assert ends[forever.stdout.strip()[4:20]] is None


def test_an_expired_supervisor_credential_is_refused(client, gw):
    headers = supervisor(gw, "reg", "regulator", valid_days=1)
    assert client.get("/v1/audit/transactions", headers=headers).status_code == 200
    from pishkhan_gateway.store.tables import SupervisorCredential

    with gw.store.write() as session:
        session.execute(
            update(SupervisorCredential).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    refused = client.get("/v1/audit/transactions", headers=headers)
    assert refused.status_code == 401
    credential_id = headers["Authorization"].split()[1].split(".")[0]
    assert denials(gw)[-1]["credential"] == credential_id


def test_credentials_do_not_cross_audiences(client, gw, counter):
    regulator = supervisor(gw, "reg", "regulator")
    as_supervisor = client.get("/v1/audit/transactions", headers=counter.headers())
    as_office = client.get("/v1/transactions", headers=regulator)
    assert as_supervisor.status_code == as_office.status_code == 401
    assert [d["code"] for d in denials(gw)[-2:]] == ["unauthorized", "unauthorized"]


# -- API5: broken function level authorisation --------------------------------------------------


def test_an_agency_cannot_suspend_an_office(client, gw, two_offices):
    auditor = supervisor(gw, "aud-pb", "agency", "postbank")
    for action in ("suspend", "revoke"):
        refused = client.post(
            f"/v1/offices/office-1/{action}", json={"reason": "we do not like it"}, headers=auditor
        )
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    with gw.store.read() as session:
        assert session.get(Office, "office-1").status == "active"
    recorded = denials(gw)[-2:]
    assert {(d["supervisor"], d["code"]) for d in recorded} == {("aud-pb", "forbidden")}
    assert recorded[0]["route"] == "/v1/offices/<office_id>/suspend"


def test_a_province_cannot_act_on_another_provinces_office(client, gw, two_offices):
    fars = supervisor(gw, "wg-fars", "province", "Fars")
    refused = client.post(
        "/v1/offices/office-1/suspend", json={"reason": "not ours at all"}, headers=fars
    )
    assert refused.status_code == 403
    assert denials(gw)[-1]["supervisor"] == "wg-fars"


def test_only_the_regulator_reveals_personal_data(client, gw, two_offices):
    _, _, transaction_id = two_offices
    fars = supervisor(gw, "wg-fars", "province", "Fars")
    body = {"reason": "court order 1405/123 for this transaction"}
    path = f"/v1/audit/transactions/{transaction_id}/reveal"
    refused = client.post(path, json=body, headers=fars)
    assert refused.status_code == 403 and "national_code" not in refused.get_json()
    assert denials(gw)[-1]["code"] == "forbidden"


def test_an_operator_of_another_office_is_refused_and_recorded(client, gw, two_offices):
    mine, _, _ = two_offices
    headers = mine.headers(**{"X-Operator": OTHER_OPERATOR})
    paid = client.post("/v1/transactions", json=pay_body(BILL_2), headers=headers)
    assert paid.status_code == 403
    row = refused_transaction(gw, paid.get_json()["transaction_id"])
    assert (row.code, row.office_id) == ("operator_not_registered", "office-1")
    sent = client.post("/v1/otp", json={"service": SIM, "citizen": FULL_CITIZEN}, headers=headers)
    assert sent.status_code == 403
    assert (denials(gw)[-1]["office"], denials(gw)[-1]["code"]) == (
        "office-1",
        "operator_not_registered",
    )


# -- one-time codes ----------------------------------------------------------------------------


def test_a_replayed_otp_is_refused_and_recorded(client, gw, counter, sandbox):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    citizen = dict(FULL_CITIZEN, otp=code)
    assert transact(client, counter, SIM, {"reason": "lost"}, citizen).status_code == 201
    replay = transact(client, counter, SIM, {"reason": "lost"}, citizen)  # a new key
    assert replay.status_code == 401
    assert refused_transaction(gw, replay.get_json()["transaction_id"]).code == "otp_invalid"
    assert sandbox.state("telecom")["calls"]["replace"] == 1


def test_guessing_an_otp_burns_it_and_every_guess_is_recorded(client, gw, counter, sandbox):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    guesses = [f"{(int(code) + n) % 10**6:06d}" for n in (1, 2, 3)] + [code]
    refused = [
        transact(client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=g))
        for g in guesses
    ]
    assert [r.status_code for r in refused] == [401] * 4  # the right code comes too late
    codes = {refused_transaction(gw, r.get_json()["transaction_id"]).code for r in refused}
    assert codes == {"otp_invalid"}
    assert sandbox.state("telecom")["calls"]["replace"] == 0


# -- brute force --------------------------------------------------------------------------------


def test_guessed_credentials_are_recorded_then_throttled_without_flooding_the_log(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    app = make_app(db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="5/minute")
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    throttled_before = _throttled(client)
    guesses = [f"Bearer pgk_{n:016x}.{'x' * 43}" for n in range(40)]
    answers = [client.get("/v1/transactions", headers={"Authorization": g}) for g in guesses]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 35
    recorded = denials(gw)
    assert len(recorded) == 5  # the limit's worth, then nothing more reaches the database
    assert [d["credential"] for d in recorded] == [f"pgk_{n:016x}" for n in range(5)]
    assert _throttled(client) - throttled_before == 35  # counted, for the dashboards
    gw.store.dispose()


def _throttled(client) -> float:
    metrics = client.get("/metrics").get_data(as_text=True)
    found = re.search(r'pishkhan_access_denied_total\{code="too_many_failures"\} (\S+)', metrics)
    return float(found.group(1)) if found else 0.0


def test_the_console_signin_is_recorded_and_throttled(db_url, tmp_path, plugins, sandboxes):
    app = make_app(db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="3/minute")
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    answers = [
        client.post("/console/signin", data={"credential": f"psk_{n:016x}.{'y' * 43}"})
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert [d["credential"] for d in denials(gw)] == [f"psk_{n:016x}" for n in range(3)]
    gw.store.dispose()


def test_a_denial_entry_is_in_its_provinces_scope(client, gw, two_offices):
    _, theirs, transaction_id = two_offices
    client.get(f"/v1/receipts/{transaction_id}", headers=theirs.headers())
    gw.sealer.seal_all()
    index = len(entries(gw)) - 1
    size = index + 1
    fars = supervisor(gw, "wg-fars", "province", "Fars")
    tehran = supervisor(gw, "wg-teh", "province", "Tehran")
    query = f"/v1/audit/entries?start={index}&end={size}"
    assert client.get(query, headers=fars).get_json()["entries"] != [None]
    assert client.get(query, headers=tehran).get_json()["entries"] == [None]
