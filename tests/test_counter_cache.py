"""The counter cache (``registry/counters.py``) saves the credential query while the registry is
unchanged, and forgets at once when it changes — whoever changes it: the API, the CLI in another
process, or a hand-written UPDATE (database triggers bump ``registry_version``)."""

from __future__ import annotations

from sqlalchemy import text, update

from conftest import OTHER_OPERATOR, pay_body
from pishkhan_gateway.registry import offices
from pishkhan_gateway.store.tables import Office, OfficeCredential

INQUIRY = {"service": "postbank.bill.inquiry", "params": pay_body()["params"]}


def send(client, headers):
    return client.post("/v1/transactions", json=INQUIRY, headers=headers)


def _queries(gw, monkeypatch) -> list[int]:
    """Count the counter query (the only ``store.statement`` on the transaction path)."""
    seen: list[int] = []
    statement = gw.store.statement

    def counting():
        seen.append(1)
        return statement()

    monkeypatch.setattr(gw.store, "statement", counting)
    return seen


def test_a_second_transaction_reuses_the_counter_row(client, counter, gw, monkeypatch):
    queries = _queries(gw, monkeypatch)
    for _ in range(3):
        assert send(client, counter.headers()).status_code == 201
    assert len(queries) == 1


def test_a_revoked_credential_is_refused_on_the_next_request(client, counter, gw, runner):
    assert send(client, counter.headers()).status_code == 201
    credential = counter.credential.split(".")[0]
    assert runner.invoke(args=["offices", "revoke-key", credential]).exit_code == 0
    refused = send(client, counter.headers())
    assert refused.status_code == 401


def test_a_hand_written_update_is_seen_on_the_next_request(client, counter, gw):
    assert send(client, counter.headers()).status_code == 201
    with gw.store.write() as session:  # not through the gateway's code at all
        session.execute(update(Office).where(Office.id == "office-1").values(status="suspended"))
    refused = send(client, counter.headers())
    assert refused.get_json()["code"] == "office_suspended"
    with gw.store.write() as session:
        session.execute(
            update(OfficeCredential)
            .where(OfficeCredential.office_id == "office-1")
            .values(revoked_at=text("CURRENT_TIMESTAMP"))
        )
        session.execute(update(Office).where(Office.id == "office-1").values(status="active"))
    assert send(client, counter.headers()).status_code == 401


def test_an_operator_added_or_revoked_is_seen_on_the_next_request(client, counter, gw):
    other = counter.headers(**{"X-Operator": OTHER_OPERATOR})
    refused = send(client, other)
    assert refused.get_json()["code"] == "operator_not_registered"
    offices.add_operator(gw.store, gw.pseudonyms, "office-1", OTHER_OPERATOR)
    assert send(client, other).status_code == 201
    offices.revoke_operator(gw.store, gw.pseudonyms, "office-1", OTHER_OPERATOR)
    refused = send(client, other)
    assert refused.get_json()["code"] == "operator_not_registered"
