"""Supervisors: each sees only its scope on every endpoint; only the regulator or the office's
province may act on a licence; every read and action is itself logged."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from conftest import BILL, BILL_2, CITIZEN, open_counter, pay_body
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.store.tables import LogEntry


def credential(gw, supervisor_id, role, scope=None):
    supervisors.add(gw.store, supervisor_id, role, scope)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, supervisor_id)}"}


@pytest.fixture
def world(client, gw):
    """Two provinces, one office each, with traffic; a supervisor of each kind."""
    tehran = open_counter(gw, "teh-1", province="Tehran")
    fars = open_counter(gw, "fars-1", province="Fars", category="city")
    client.post("/v1/transactions", json=pay_body(), headers=tehran.headers())
    client.post("/v1/transactions", json=pay_body(fee=10**8), headers=tehran.headers())
    client.post("/v1/transactions", json=pay_body(BILL_2, fee=20000), headers=fars.headers())
    client.post(
        "/v1/transactions",
        headers=fars.headers(),
        json={"service": "postbank.bill.inquiry", "params": BILL},
    )
    gw.sealer.seal_all()
    return {
        "tehran": tehran,
        "fars": fars,
        "regulator": credential(gw, "reg", "regulator"),
        "fars_group": credential(gw, "wg-fars", "province", "Fars"),
        "postbank": credential(gw, "aud-pb", "agency", "postbank"),
        "telecom": credential(gw, "aud-tc", "agency", "telecom"),
    }


def offices_seen(client, headers, path="/v1/audit/transactions"):
    return {t["office_id"] for t in client.get(path, headers=headers).get_json()["items"]}


def test_the_regulator_sees_every_office(client, world):
    assert offices_seen(client, world["regulator"]) == {"teh-1", "fars-1"}


def test_a_province_sees_only_its_offices(client, world):
    assert offices_seen(client, world["fars_group"]) == {"fars-1"}
    other = client.get("/v1/audit/transactions?office=teh-1", headers=world["fars_group"])
    assert other.get_json()["items"] == []


def test_an_agency_auditor_sees_only_its_services(client, world):
    assert offices_seen(client, world["postbank"]) == {"teh-1", "fars-1"}
    assert client.get("/v1/audit/transactions", headers=world["telecom"]).get_json()["items"] == []


def test_scope_holds_on_export(client, world):
    text = client.get("/v1/audit/export?format=csv", headers=world["fars_group"]).get_data(
        as_text=True
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {r["office_id"] for r in rows} == {"fars-1"}
    lines = client.get("/v1/audit/export?format=jsonl", headers=world["telecom"]).get_data()
    assert lines.strip() == b""
    everything = client.get("/v1/audit/export?format=jsonl", headers=world["regulator"])
    parsed = [json.loads(line) for line in everything.get_data(as_text=True).splitlines()]
    assert [p["log_index"] for p in parsed] == sorted(p["log_index"] for p in parsed)
    assert len(parsed) == 4 and everything.mimetype == "application/x-ndjson"


def test_scope_holds_on_scorecards(client, world):
    assert (
        client.get("/v1/audit/offices/teh-1/scorecard", headers=world["fars_group"]).status_code
        == 404
    )
    card = client.get("/v1/audit/offices/teh-1/scorecard", headers=world["regulator"]).get_json()
    assert card["transactions"] == 2 and card["over_cap_refusals"] == 1
    assert card["outcomes"]["succeeded"] == 1 and card["office_fees"] == 40000
    assert card["agency_amounts"] == 120000
    assert (
        client.get("/v1/audit/offices/teh-1/scorecard", headers=world["telecom"]).get_json()[
            "transactions"
        ]
        == 0
    )


def test_scope_holds_on_entries_and_inclusion_proofs(client, world, gw):
    size = client.get("/v1/audit/tree-head").get_json()["tree_size"]
    mine = client.get(f"/v1/audit/entries?start=0&end={size}", headers=world["fars_group"])
    visible = [e for e in mine.get_json()["entries"] if e is not None]
    everything = client.get(f"/v1/audit/entries?start=0&end={size}", headers=world["regulator"])
    assert len(visible) == 2 and len(everything.get_json()["entries"]) == size
    with gw.store.read() as session:
        tehran_index = next(
            i
            for i, e in session.execute(select(LogEntry.index, LogEntry.entry))
            if json.loads(e).get("office") == "teh-1"
        )
    denied = client.get(
        f"/v1/audit/proof/inclusion?index={tehran_index}&tree_size={size}",
        headers=world["fars_group"],
    )
    assert denied.status_code == 404


AUDIT_GETS = [
    "/v1/audit/transactions",
    "/v1/audit/export?format=csv",
    "/v1/audit/offices/teh-1/scorecard",
    "/v1/audit/entries?start=0&end=1",
    "/v1/audit/proof/inclusion?index=0&tree_size=1",
    "/v1/audit/proof/consistency?first=1&second=1",
]


@pytest.mark.parametrize("path", AUDIT_GETS)
def test_office_credentials_cannot_reach_audit_endpoints(client, world, path):
    response = client.get(path, headers=world["tehran"].headers())
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"


def test_office_credentials_cannot_take_licence_actions(client, world):
    response = client.post(
        "/v1/offices/fars-1/suspend", json={"reason": "because"}, headers=world["tehran"].headers()
    )
    assert response.status_code == 401


def test_searching_by_national_code_uses_its_pseudonym(client, world, gw):
    found = client.get(
        f"/v1/audit/transactions?national_code={CITIZEN}", headers=world["regulator"]
    ).get_json()["items"]
    assert {t["office_id"] for t in found} == {"teh-1", "fars-1"}
    assert all(t["citizen"] == gw.pseudonyms.national_code(CITIZEN) for t in found)
    with gw.store.read() as session:
        logged = [e.decode() for e in session.scalars(select(LogEntry.entry))]
    assert not any(CITIZEN in e for e in logged)  # the search itself was logged, pseudonymised


def test_filters_by_outcome_code_and_jalali_dates(client, world):
    refused = client.get(
        "/v1/audit/transactions?code=tariff_exceeded", headers=world["regulator"]
    ).get_json()["items"]
    assert [t["office_id"] for t in refused] == ["teh-1"]
    today = client.get(
        "/v1/audit/transactions?from=1405-01-01&to=1499-12-29", headers=world["regulator"]
    ).get_json()["items"]
    assert len(today) == 4
    none = client.get("/v1/audit/transactions?to=1400-01-01", headers=world["regulator"])
    assert none.get_json()["items"] == []
    bad = client.get("/v1/audit/transactions?from=yesterday", headers=world["regulator"])
    assert bad.status_code == 400 and bad.get_json()["field"] == "from"


def test_an_agency_cannot_suspend_an_office(client, world, gw):
    response = client.post(
        "/v1/offices/fars-1/suspend",
        json={"reason": "we do not like it"},
        headers=world["postbank"],
    )
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert (
        client.post(
            "/v1/transactions", json=pay_body(BILL, fee=0), headers=world["fars"].headers()
        ).get_json()["code"]
        == "agency_rejected"
    )


def test_a_province_acts_on_its_own_offices_only(client, world):
    other = client.post(
        "/v1/offices/teh-1/suspend", json={"reason": "not ours"}, headers=world["fars_group"]
    )
    assert other.status_code == 403
    done = client.post(
        "/v1/offices/fars-1/suspend",
        json={"reason": "forged documents"},
        headers=world["fars_group"],
    )
    assert done.status_code == 200 and done.get_json()["status"] == "suspended"
    refused = client.post(
        "/v1/transactions", json=pay_body(BILL_2), headers=world["fars"].headers()
    )
    assert refused.get_json()["code"] == "office_suspended"


def test_suspend_reinstate_revoke_take_effect_on_the_next_request(client, world):
    reg, tehran = world["regulator"], world["tehran"]
    inquiry = {"service": "postbank.bill.inquiry", "params": BILL}

    def status():
        return client.post("/v1/transactions", json=inquiry, headers=tehran.headers()).status_code

    assert (
        client.post(
            "/v1/offices/teh-1/suspend", json={"reason": "overcharging"}, headers=reg
        ).status_code
        == 200
    )
    assert status() == 403
    assert (
        client.post(
            "/v1/offices/teh-1/reinstate", json={"reason": "paid the penalty"}, headers=reg
        ).status_code
        == 200
    )
    assert status() == 201
    assert (
        client.post(
            "/v1/offices/teh-1/revoke", json={"reason": "inactive"}, headers=reg
        ).status_code
        == 200
    )
    assert status() == 403
    again = client.post("/v1/offices/teh-1/reinstate", json={"reason": "please"}, headers=reg)
    assert again.status_code == 400


def test_a_licence_action_needs_a_reason(client, world):
    response = client.post("/v1/offices/teh-1/suspend", json={}, headers=world["regulator"])
    assert response.status_code == 400 and response.get_json()["field"] == "reason"


def test_every_supervisor_read_and_action_is_logged(client, world, gw):
    client.get("/v1/audit/transactions?outcome=refused", headers=world["fars_group"])
    client.post(
        "/v1/offices/fars-1/suspend",
        json={"reason": "forged documents"},
        headers=world["regulator"],
    )
    client.post("/v1/offices/fars-1/revoke", json={"reason": "x" * 10}, headers=world["postbank"])
    with gw.store.read() as session:
        entries = [
            json.loads(e) for e in session.scalars(select(LogEntry.entry).order_by(LogEntry.index))
        ]
    accesses = [
        (e["supervisor"], e["action"]) for e in entries if e.get("type") == "supervisor_access"
    ]
    assert ("wg-fars", "search") in accesses
    assert ("reg", "licence_suspend") in accesses
    # the agency auditor is turned away before anything is read: its try is an access_denied
    denied = [e for e in entries if e.get("type") == "access_denied"]
    assert [(e["supervisor"], e["route"], e["path"]) for e in denied] == [
        ("aud-pb", "/v1/offices/<office_id>/revoke", {"office_id": "fars-1"})
    ]
    actions = [e for e in entries if e.get("type") == "licence_action"]
    assert [(a["office"], a["action"], a["reason"]) for a in actions] == [
        ("fars-1", "suspend", "forged documents")
    ]


def _reveal_setup(client, gw, counter):
    body = pay_body()
    tx = client.post("/v1/transactions", json=body, headers=counter.headers()).get_json()
    keys = {}
    for sid, role, scope in (
        ("reg", "regulator", None),
        ("teh", "province", "Tehran"),
        ("pb", "agency", "postbank"),
    ):
        supervisors.add(gw.store, sid, role, scope)
        keys[sid] = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, sid)}"}
    return tx["transaction_id"], keys


def test_only_the_regulator_reveals_personal_data_and_the_reason_is_logged(client, gw, counter):
    tx, keys = _reveal_setup(client, gw, counter)
    url = f"/v1/audit/transactions/{tx}/reveal"
    reason = "court order 1405/123 on a forged-document case"
    for who in ("teh", "pb"):
        denied = client.post(url, json={"reason": reason}, headers=keys[who])
        assert denied.status_code == 403
    assert client.post(url, json={"reason": "why"}, headers=keys["reg"]).status_code == 400
    assert client.post(url, json={"reason": reason}, headers=counter.headers()).status_code == 401
    shown = client.post(url, json={"reason": reason}, headers=keys["reg"]).get_json()
    assert shown["national_code"] == CITIZEN
    gw.sealer.seal_all()
    entries = client.get("/v1/audit/transactions?limit=5", headers=keys["reg"])
    assert entries.status_code == 200
    with gw.store.read() as session:
        logged = [e.entry.decode() for e in session.scalars(select(LogEntry))]
    reveals = [json.loads(e) for e in logged if "reveal_personal_data" in e]
    assert len(reveals) == 1 and reveals[0]["details"]["reason"] == reason
    refused = [json.loads(e) for e in logged if '"access_denied"' in e and '"forbidden"' in e]
    # the refused tries too: who, which transaction
    assert [(e["supervisor"], e["path"]) for e in refused] == [
        ("teh", {"transaction_id": tx}),
        ("pb", {"transaction_id": tx}),
    ]
    assert not any(CITIZEN in e for e in logged)


def test_a_sealed_value_opens_only_for_its_own_transaction(client, gw, counter):
    from pishkhan_gateway.store.tables import Transaction

    tx, _ = _reveal_setup(client, gw, counter)
    other = client.post("/v1/transactions", json=pay_body(BILL_2), headers=counter.headers())
    with gw.store.write() as session:
        sealed = session.get(Transaction, tx).citizen_encrypted
        session.get(Transaction, other.get_json()["transaction_id"]).citizen_encrypted = sealed
    with pytest.raises(ValueError):
        gw.vault.decrypt(other.get_json()["transaction_id"], sealed)


def test_a_supervisor_key_is_revocable_by_cli_and_by_the_regulator(client, gw, runner):
    """Effective on the next request; the regulator's API revocation is recorded with its
    reason; a province cannot revoke."""
    fars = credential(gw, "fars-wg", "province", "Fars")
    regulator = credential(gw, "the-regulator", "regulator")
    assert client.get("/v1/audit/transactions", headers=fars).status_code == 200
    key = fars["Authorization"].removeprefix("Bearer ")
    refused = client.post(
        "/v1/supervisors/credentials/revoke",
        json={"credential": regulator["Authorization"].removeprefix("Bearer "), "reason": "no"},
        headers=fars,
    )
    assert refused.status_code == 403
    reply = client.post(
        "/v1/supervisors/credentials/revoke",
        json={"credential": key, "reason": "the key was mailed in clear"},
        headers=regulator,
    )
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["credential"] == key.split(".")[0]
    assert client.get("/v1/audit/transactions", headers=fars).status_code == 401
    entries = client.get(
        f"/v1/audit/entries?start={reply.get_json()['log_index']}"
        f"&end={reply.get_json()['log_index'] + 1}",
        headers=regulator,
    ).get_json()["entries"]
    import base64
    import json as _json

    entry = _json.loads(base64.b64decode(entries[0]))
    assert entry["type"] == "credential_revoked" and entry["reason"].startswith("the key")
    assert key.split(".")[1] not in repr(entry)
    # the CLI form
    other = credential(gw, "pb-audit", "agency", "postbank")
    cli_key = other["Authorization"].removeprefix("Bearer ")
    result = runner.invoke(args=["supervisors", "revoke-key", cli_key.split(".")[0]])
    assert result.exit_code == 0, result.output
    assert client.get("/v1/audit/transactions", headers=other).status_code == 401
