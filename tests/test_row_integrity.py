"""The routine ``audit verify`` (no flag) checks every transaction row against its log entry and
every settlement against its reconciliation entry: changing any column of any row is caught,
with the index and the column named, on one process and on the helpers' parallel pass alike."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import delete, select, update

from conftest import BILL, pay_body
from pishkhan_gateway.auditlog import rowcheck
from pishkhan_gateway.auditlog.verify import verify_store
from pishkhan_gateway.store.tables import LogEntry, Transaction

# column -> a new value (computed from the row when it must be of the row's own kind)
EDITS = {
    "office_fee": lambda row: row.office_fee + 1,
    "total": lambda row: row.total + 1,
    "agency_amount": lambda row: row.agency_amount - 1,
    "fee_cap": lambda row: (row.fee_cap or 0) + 1,
    "outcome": lambda row: "refused",
    "code": lambda row: "tariff_exceeded",
    "agency_reference": lambda row: "PB-FORGED",
    "office_id": lambda row: "office-2",
    "service": lambda row: "postbank.bill.inquiry",
    "agency": lambda row: "telecom",
    "operator": lambda row: "0" * 64,
    "citizen": lambda row: "f" * 64,
    "latency_ms": lambda row: row.latency_ms + 1,
    "created_at": lambda row: row.created_at + dt.timedelta(hours=1),
    "kind": lambda row: "inquiry",
    "http_status": lambda row: 200,
    "result": lambda row: row.result[:-4] + "AAA=",
    "receipt": lambda row: row.receipt.replace("160000", "16000"),
    "idempotency_key": lambda row: "another-key",
    "citizen_sealed": lambda row: None,
    "id": lambda row: "tx_forged",
}
ATTRIBUTE = {"citizen_sealed": "citizen_encrypted"}


@pytest.fixture
def paid(client, counter, gw):
    """A paid bill (index 0, with result, receipt and key) and a refusal (index 1)."""
    response = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("k-1"))
    assert response.status_code == 201, response.get_json()
    client.post(
        "/v1/transactions",
        headers=counter.headers(),
        json={"service": "postbank.bill.inquiry", "params": BILL, "office_fee": 9},
    )
    gw.sealer.seal_all()
    assert verify_store(gw.store, gw.signer.public_key).ok
    return gw


def edit(gw, index, column, value=None, **more):
    attribute = ATTRIBUTE.get(column, column)
    with gw.store.write() as session:
        row = session.scalar(select(Transaction).where(Transaction.log_index == index))
        new = EDITS[column](row) if column in EDITS and value is None else value
        session.execute(
            update(Transaction)
            .where(Transaction.log_index == index)
            .values({attribute: new, **more})
        )


def row_findings(gw, **options):
    report = verify_store(gw.store, gw.signer.public_key, **options)
    assert not report.ok
    return [(f.index, f.detail) for f in report.findings if f.kind == "row_mismatch"]


@pytest.mark.parametrize("column", sorted(EDITS))
def test_routine_verify_names_the_index_and_column_of_any_edited_row(paid, column):
    edit(paid, 0, column)
    (index, detail), *_ = row_findings(paid)
    assert index == 0
    assert column in detail, detail


@pytest.mark.parametrize("column", ["total", "result", "receipt", "citizen_sealed"])
def test_the_parallel_pass_checks_the_rows_too(paid, column):
    edit(paid, 0, column)
    found = row_findings(paid, workers=2, parallel_from=1, block=1)
    assert found[0][0] == 0 and column in found[0][1], found


def test_the_cli_exits_non_zero_naming_the_index_and_column(paid, runner):
    edit(paid, 1, "code", "tariff_ok")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert "index 1: row_mismatch" in result.output and "code" in result.output


def test_a_deleted_row_is_named(paid):
    with paid.store.write() as session:
        session.execute(delete(Transaction).where(Transaction.log_index == 1))
    assert row_findings(paid) == [(1, "the transaction row for this entry is gone")]


def test_a_row_moved_or_invented_past_the_log_is_named(paid):
    edit(paid, 1, "total", 999, log_index=50)
    found = row_findings(paid)
    assert (1, "the transaction row for this entry is gone") in found
    assert any(index is None and "index 50" in detail for index, detail in found), found


def test_a_refusal_rewritten_as_a_success_is_caught(paid):
    edit(paid, 1, "outcome", "succeeded", code=None, total=160000)
    (index, detail), *_ = row_findings(paid)
    assert index == 1 and "outcome" in detail and "code" in detail and "total" in detail


def _settled(client, counter, gw, sandbox, runner):
    sandbox.faults("postbank", mode="drop_after_apply", times=1)
    unknown = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("u-1"))
    assert unknown.get_json()["outcome"] == "unknown"
    assert runner.invoke(args=["reconcile"]).exit_code == 0
    gw.sealer.seal_all()
    assert verify_store(gw.store, gw.signer.public_key).ok  # settlements verify as recorded
    with gw.store.read() as session:
        return session.scalar(select(Transaction).where(Transaction.settled_outcome.is_not(None)))


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"settled_outcome": "not_applied"}, "settled_outcome"),
        ({"settled_reference": "PB-FORGED"}, "settled_reference"),
        ({"settled_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "settled_at"),
        ({"receipt": None}, "receipt"),
    ],
)
def test_an_edited_settlement_is_named(client, counter, gw, sandbox, runner, values, named):
    row = _settled(client, counter, gw, sandbox, runner)
    with gw.store.write() as session:
        session.execute(update(Transaction).where(Transaction.id == row.id).values(values))
    found = row_findings(gw)
    assert found == [
        (
            row.settled_log_index,
            f"transaction {row.id}'s settlement disagrees with the log on {named}",
        )
    ]


def test_a_settlement_erased_or_invented_on_a_row_is_caught(client, counter, gw, sandbox, runner):
    row = _settled(client, counter, gw, sandbox, runner)
    erased = {"settled_outcome": None, "settled_at": None, "settled_log_index": None}
    with gw.store.write() as session:
        session.execute(update(Transaction).where(Transaction.id == row.id).values(erased))
    found = row_findings(gw)
    assert (
        row.settled_log_index,
        f"transaction {row.id}'s settlement disagrees with the log on "
        "settled_log_index, settled_outcome, settled_at",
    ) in found
    with gw.store.write() as session:  # and a settlement the log never recorded
        session.execute(
            update(Transaction)
            .where(Transaction.id != row.id)
            .values(settled_outcome="succeeded", settled_log_index=0)
        )
    assert any("no reconciliation entry" in detail for _, detail in row_findings(gw))


def test_entries_bind_the_columns_they_do_not_hold_by_digest(paid):
    with paid.store.read() as session:
        row = session.scalar(select(Transaction).where(Transaction.log_index == 0))
        entry = json.loads(session.get(LogEntry, 0).entry)
    assert entry["v"] == 2 and entry["kind"] == "payment" and entry["http_status"] == 201
    assert entry["sha256"] == {
        "citizen_sealed": rowcheck.digest(row.citizen_encrypted),
        "idempotency_key": rowcheck.digest(row.idempotency_key),
        "receipt": rowcheck.digest(row.receipt),
        "result": rowcheck.digest(row.result),
    }
    assert len(entry["sha256"]["receipt"]) == 32


def test_what_could_name_a_citizen_is_stored_encrypted_or_keyed_so_no_digest_reveals_it(paid):
    with paid.store.read() as session:
        row = session.scalar(select(Transaction).where(Transaction.log_index == 0))
    assert row.idempotency_key == paid.pseudonyms.idempotency_key("office-1", "k-1")
    assert not row.result.startswith("{") and "amount" not in row.result
    assert paid.vault.decrypt(row.id, row.result)["amount"] == 120000


def test_an_altered_result_is_refused_at_the_counter_not_shown(paid, client, counter):
    transaction_id = client.get("/v1/transactions", headers=counter.headers()).get_json()["items"][
        -1
    ]["transaction_id"]
    shown = client.get(f"/v1/transactions/{transaction_id}", headers=counter.headers())
    assert shown.get_json()["result"]["amount"] == 120000
    edit(paid, 0, "result")
    altered = client.get(f"/v1/transactions/{transaction_id}", headers=counter.headers())
    assert altered.get_json()["code"] == "sealed_data_invalid"
