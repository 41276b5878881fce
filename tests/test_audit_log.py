"""The tamper-evident log: signed heads, proofs, independent recomputation, and tampering."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import rfc8785
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import delete, update

from conftest import BILL, BILL_2, open_counter, pay_body
from pishkhan_gateway.auditlog import merkle
from pishkhan_gateway.auditlog.verify import verify_store
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.store.tables import LogEntry, MerkleNode, Transaction


@pytest.fixture
def regulator(gw):
    supervisors.add(gw.store, "reg", "regulator", None)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'reg')}"}


def fill(client, counter, n=6):
    """A mix of outcomes: successes and refusals."""
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    client.post("/v1/transactions", json=pay_body(BILL_2), headers=counter.headers())
    for _ in range(n - 2):
        client.post(
            "/v1/transactions",
            headers=counter.headers(),
            json={"service": "postbank.bill.inquiry", "params": BILL, "office_fee": 9},
        )


def test_signed_head_matches_a_root_recomputed_with_hashlib_alone(client, counter, gw, regulator):
    fill(client, counter)
    gw.sealer.seal_all()
    head = client.get("/v1/audit/tree-head").get_json()
    raw = client.get(
        f"/v1/audit/entries?start=0&end={head['tree_size']}", headers=regulator
    ).get_json()["entries"]

    def mth(items):  # RFC 6962, in a few lines, independent of pishkhan_gateway.auditlog.merkle
        if len(items) == 1:
            return hashlib.sha256(b"\x00" + items[0]).digest()
        k = 1 << ((len(items) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + mth(items[:k]) + mth(items[k:])).digest()

    assert mth([base64.b64decode(e) for e in raw]).hex() == head["root_hash"]
    key = load_pem_public_key(client.get("/v1/audit/public-key").get_json()["public_key"].encode())
    unsigned = {k: v for k, v in head.items() if k != "signature"}
    key.verify(base64.b64decode(head["signature"]), rfc8785.dumps(unsigned))  # raises if bad


def test_inclusion_and_consistency_proofs_from_the_api_verify(client, counter, gw, regulator):
    fill(client, counter, 3)
    first = gw.sealer.seal_all()
    fill(client, counter, 5)
    second = gw.sealer.seal_all()
    entries = client.get(
        f"/v1/audit/entries?start=0&end={second.tree_size}", headers=regulator
    ).get_json()["entries"]
    root = bytes.fromhex(second.root_hash)
    for index, entry in enumerate(entries):
        proof = client.get(
            f"/v1/audit/proof/inclusion?index={index}&tree_size={second.tree_size}",
            headers=regulator,
        ).get_json()
        leaf = merkle.leaf_hash(base64.b64decode(entry))
        assert proof["leaf_hash"] == leaf.hex()
        assert merkle.verify_inclusion(
            leaf, index, second.tree_size, [bytes.fromhex(p) for p in proof["audit_path"]], root
        )
    proof = client.get(
        f"/v1/audit/proof/consistency?first={first.tree_size}&second={second.tree_size}",
        headers=regulator,
    ).get_json()
    assert merkle.verify_consistency(
        first.tree_size,
        second.tree_size,
        bytes.fromhex(first.root_hash),
        root,
        [bytes.fromhex(p) for p in proof["consistency_path"]],
    )


def test_an_office_fetches_the_inclusion_proof_of_its_own_transaction(client, counter, gw):
    paid = client.post("/v1/transactions", json=pay_body(), headers=counter.headers()).get_json()
    proof = client.get(
        f"/v1/transactions/{paid['transaction_id']}/proof", headers=counter.headers()
    ).get_json()
    head = proof["tree_head"]
    assert proof["log_index"] == paid["receipt"]["log_index"]
    assert merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["log_index"],
        head["tree_size"],
        [bytes.fromhex(p) for p in proof["audit_path"]],
        bytes.fromhex(head["root_hash"]),
    )
    other = open_counter(gw, "office-2")
    denied = client.get(f"/v1/transactions/{paid['transaction_id']}/proof", headers=other.headers())
    assert denied.status_code == 404


def test_sealing_in_small_batches_gives_consistent_heads(client, counter, gw, regulator):
    fill(client, counter, 9)
    gw.sealer.batch = 2
    heads = []
    while (head := gw.sealer.seal()) is not None:
        heads.append(head)
    assert [h.tree_size for h in heads] == [2, 4, 6, 8, 9]
    assert verify_store(gw.store, gw.signer.public_key).ok


def test_the_block_pass_in_helper_processes_agrees_on_both_databases(
    client, counter, gw, regulator
):
    """``audit verify`` from 200,000 entries hashes blocks in helper processes; forced on here
    (blocks of 2), it confirms a log sealed at odd sizes, against a saved head too."""
    fill(client, counter, 11)
    gw.sealer.batch = 3
    while gw.sealer.seal() is not None:
        pass
    head = client.get("/v1/audit/tree-head").get_json()
    fast = verify_store(
        gw.store,
        gw.signer.public_key,
        witnesses=[head],
        workers=2,
        parallel_from=0,
        block=2,
    )
    assert fast.ok, fast.findings
    assert fast.helpers_peak_kb > 0  # confirmed by the helpers, not by the sequential pass
    assert (fast.entries, fast.heads, fast.sealed) == (11, 4, 11)


def test_when_a_helper_cannot_run_the_sequential_pass_still_verifies(
    client, counter, gw, monkeypatch, tmp_path
):
    from pishkhan_gateway.auditlog import blockroots

    fill(client, counter, 5)
    gw.sealer.seal_all()
    monkeypatch.setattr(blockroots, "__file__", str(tmp_path / "gone.py"))
    report = verify_store(gw.store, gw.signer.public_key, workers=2, parallel_from=0, block=2)
    assert report.ok and report.entries == 5
    assert report.helpers_peak_kb == 0  # the sequential pass answered


# -- tampering, directly in the database ----------------------------------------------------


@pytest.fixture
def sealed(client, counter, gw):
    fill(client, counter, 8)
    gw.sealer.seal_all()
    assert verify_store(gw.store, gw.signer.public_key).ok
    return gw


def findings(gw, deep=False):
    report = verify_store(gw.store, gw.signer.public_key, deep=deep)
    assert not report.ok
    return {(f.kind, f.index) for f in report.findings}


def test_an_untouched_log_verifies_through_the_cli(sealed, runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 8 entries" in result.output


def test_an_edited_entry_is_named(sealed):
    with sealed.store.write() as session:
        entry = session.get(LogEntry, 3)
        decoded = json.loads(entry.entry)
        decoded["office_fee"] = 0
        entry.entry = rfc8785.dumps(decoded)
    assert ("modified", 3) in findings(sealed)


def test_a_flipped_bit_is_named(sealed):
    with sealed.store.write() as session:
        entry = session.get(LogEntry, 5)
        raw = bytearray(entry.entry)
        raw[10] ^= 0x01
        entry.entry = bytes(raw)
    assert ("modified", 5) in findings(sealed)


def test_a_deleted_entry_is_named(sealed):
    with sealed.store.write() as session:
        session.execute(delete(LogEntry).where(LogEntry.index == 2))
    assert ("missing", 2) in findings(sealed)


def test_a_truncated_tail_is_named(sealed):
    with sealed.store.write() as session:
        session.execute(delete(LogEntry).where(LogEntry.index >= 6))
    assert ("missing", 6) in findings(sealed)


def test_an_inserted_entry_is_named(sealed):
    with sealed.store.write() as session:
        session.add(
            LogEntry(
                index=8, entry=b'{"forged":true}', created_at=session.get(LogEntry, 7).created_at
            )
        )
    assert ("inserted", 8) in findings(sealed)


def test_swapped_entries_are_both_named(sealed):
    with sealed.store.write() as session:
        one, two = session.get(LogEntry, 1), session.get(LogEntry, 4)
        one.entry, two.entry = two.entry, one.entry
    found = findings(sealed)
    assert ("modified", 1) in found and ("modified", 4) in found


def test_a_rewritten_tree_still_fails_against_the_signed_heads(sealed):
    with sealed.store.write() as session:
        entry = session.get(LogEntry, 2)
        decoded = json.loads(entry.entry)
        decoded["outcome"] = "succeeded"
        entry.entry = rfc8785.dumps(decoded)
        session.execute(
            update(MerkleNode)
            .where(MerkleNode.level == 0, MerkleNode.index == 2)
            .values(hash=merkle.leaf_hash(entry.entry))
        )
    assert "head_mismatch" in {kind for kind, _ in findings(sealed)}


def test_an_edited_transaction_row_is_named_without_any_flag(sealed):
    with sealed.store.write() as session:
        session.execute(update(Transaction).where(Transaction.log_index == 0).values(office_fee=1))
    assert findings(sealed) == {("row_mismatch", 0)}  # the rest: tests/test_row_integrity.py


def test_a_clean_log_passes_the_deep_check(sealed):
    assert verify_store(sealed.store, sealed.signer.public_key, deep=True).ok


def test_an_exported_log_verifies_offline_and_catches_edits(sealed, runner, tmp_path):
    path = tmp_path / "log.jsonl"
    assert runner.invoke(args=["audit", "export", str(path)]).exit_code == 0
    assert runner.invoke(args=["audit", "verify", "--export", str(path)]).exit_code == 0
    lines = path.read_text().splitlines()
    item = json.loads(lines[-1])
    item["entry"] = base64.b64encode(base64.b64decode(item["entry"]) + b" ").decode()
    lines[-1] = json.dumps(item)
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(args=["audit", "verify", "--export", str(path)])
    assert result.exit_code == 1 and "head_mismatch" in result.output
