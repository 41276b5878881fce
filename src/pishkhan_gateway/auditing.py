"""``audit verify``: recompute the log's tree and check it against every signed tree head.

Works on the database or on an exported log file (``export_log``), in one pass with memory that
does not grow with the log: entries, sealed leaf hashes and transaction rows are streamed in index
order side by side. What it reports, by index where the evidence allows:

- ``missing``: an index with no entry (deleted rows, a truncated tail);
- ``modified``: an entry whose hash differs from the leaf sealed for it (edits, bit flips, and
  both positions of a swap);
- ``not_canonical``: an entry that is not RFC 8785 JSON (a hand edit);
- ``head_mismatch``: a signed head whose root the entries no longer produce, with the range of
  indexes between the last matching head and it;
- ``bad_signature``: a head not signed by the gateway's key;
- ``row_mismatch``: a transaction row that disagrees with its log entry.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select, text

from pishkhan_gateway import merkle
from pishkhan_gateway.signing import Signer, verify
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LogEntry, MerkleNode, Transaction, TreeHead

_STREAM = {"yield_per": 5000}
ROW_FIELDS = (
    "outcome",
    "code",
    "office",
    "service",
    "agency",
    "agency_amount",
    "office_fee",
    "total",
    "citizen",
)


@dataclass(frozen=True)
class Finding:
    """One problem, at ``index`` when it can be pinned to an entry."""

    kind: str
    index: int | None
    detail: str

    def __str__(self) -> str:
        where = f"index {self.index}" if self.index is not None else "log"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class Report:
    """What verification found."""

    entries: int = 0
    heads: int = 0
    sealed: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings


def _ahead(
    stream: Iterator[tuple[int, Any]], index: int, current: tuple[int, Any] | None
) -> tuple[int, Any] | None:
    """Advance a sorted (index, value) stream to the first item at or after ``index``."""
    while current is not None and current[0] < index:
        current = next(stream, None)
    return current


def verify_log(
    entries: Iterable[tuple[int, bytes]],
    heads: Iterable[dict[str, Any]],
    public_key: Ed25519PublicKey,
    *,
    sealed_leaves: Iterable[tuple[int, bytes]] = (),
    rows: Iterable[tuple[int, dict[str, Any]]] | None = None,
    log_size: int | None = None,
) -> Report:
    """Verify entries (index order) against signed heads, sealed leaves and transaction rows."""
    report = Report()
    ordered = sorted(heads, key=lambda h: h.get("tree_size", -1))
    report.heads = len(ordered)
    for head in ordered:
        if not verify(head, public_key):
            report.findings.append(
                Finding(
                    "bad_signature",
                    None,
                    f"tree head {head.get('tree_size')} is not signed by the gateway's key",
                )
            )
    pending = iter(ordered)
    next_head = next(pending, None)
    while next_head is not None and next_head["tree_size"] == 0:
        next_head = next(pending, None)
    leaves, rows_it = iter(sealed_leaves), iter(rows or ())
    leaf_at, row_at = next(leaves, None), next(rows_it, None)
    tree = merkle.CompactTree()
    expected, last_good, structural = 0, 0, False
    for index, entry in entries:
        if index != expected:
            report.findings.append(
                Finding(
                    "missing",
                    expected,
                    f"entries {expected}..{index - 1} are missing (deleted or renumbered)",
                )
            )
            structural, expected = True, index
        try:
            decoded = json.loads(entry)
            if rfc8785.dumps(decoded) != entry:
                raise ValueError("not canonical")
        except ValueError:
            decoded = {}
            report.findings.append(
                Finding("not_canonical", index, "the entry is not RFC 8785 canonical JSON")
            )
        leaf = merkle.leaf_hash(entry)
        leaf_at = _ahead(leaves, index, leaf_at)
        if leaf_at is not None and leaf_at[0] == index and bytes(leaf_at[1]) != leaf:
            report.findings.append(
                Finding("modified", index, "the entry differs from the leaf sealed for it")
            )
        row_at = _ahead(rows_it, index, row_at)
        if rows is not None and decoded.get("type") == "transaction":
            row = row_at[1] if row_at is not None and row_at[0] == index else None
            if row is None:
                report.findings.append(
                    Finding("row_mismatch", index, "the transaction row for this entry is gone")
                )
            else:
                differ = [f for f in ROW_FIELDS if row.get(f) != decoded.get(f)]
                if differ or row.get("id") != decoded.get("transaction_id"):
                    report.findings.append(
                        Finding(
                            "row_mismatch",
                            index,
                            f"the transaction row disagrees with the log on {differ or 'id'}",
                        )
                    )
        if not structural:
            tree.extend([leaf])
        expected = index + 1
        while next_head is not None and next_head["tree_size"] == expected and not structural:
            if tree.root().hex() != next_head["root_hash"]:
                report.findings.append(
                    Finding(
                        "head_mismatch",
                        None,
                        f"signed head {expected} no longer matches: an entry in "
                        f"{last_good}..{expected - 1} was altered, inserted, removed or "
                        "reordered",
                    )
                )
            else:
                last_good = expected
            next_head = next(pending, None)
    report.entries = expected
    report.sealed = max((h["tree_size"] for h in ordered), default=0)
    if report.sealed > expected:
        report.findings.append(
            Finding(
                "missing",
                expected,
                f"signed head {report.sealed} covers "
                f"entries {expected}..{report.sealed - 1}, which are gone",
            )
        )
    if log_size is not None and log_size != expected:
        report.findings.append(
            Finding(
                "missing" if log_size > expected else "inserted",
                min(log_size, expected),
                f"the log's size is {log_size} but {expected} entries were found",
            )
        )
    return report


def verify_store(store: Store, public_key: Ed25519PublicKey) -> Report:
    """Verify the database's log, heads, sealed leaves and transaction rows."""
    with store.read() as session:
        heads = [json.loads(d) for d in session.scalars(select(TreeHead.document))]
        log_size = session.execute(text("SELECT size FROM log_state WHERE id = 1")).scalar_one()
        entries = session.execute(
            select(LogEntry.index, LogEntry.entry)
            .order_by(LogEntry.index)
            .execution_options(**_STREAM)
        )
        leaves = session.execute(
            select(MerkleNode.index, MerkleNode.hash)
            .where(MerkleNode.level == 0)
            .order_by(MerkleNode.index)
            .execution_options(**_STREAM)
        )
        rows = session.execute(
            select(
                Transaction.log_index,
                Transaction.id,
                Transaction.outcome,
                Transaction.code,
                Transaction.office_id,
                Transaction.service,
                Transaction.agency,
                Transaction.agency_amount,
                Transaction.office_fee,
                Transaction.total,
                Transaction.citizen,
            )
            .order_by(Transaction.log_index)
            .execution_options(**_STREAM)
        )
        row_dicts = (
            (
                r.log_index,
                {
                    "id": r.id,
                    "outcome": r.outcome,
                    "code": r.code,
                    "office": r.office_id,
                    "service": r.service,
                    "agency": r.agency,
                    "agency_amount": r.agency_amount,
                    "office_fee": r.office_fee,
                    "total": r.total,
                    "citizen": r.citizen,
                },
            )
            for r in rows
        )
        return verify_log(
            ((i, bytes(e)) for i, e in entries),
            heads,
            public_key,
            sealed_leaves=((i, bytes(h)) for i, h in leaves),
            rows=row_dicts,
            log_size=log_size,
        )


def export_log(store: Store, signer: Signer, path: Path) -> int:
    """Write the log (entries and signed heads) as JSON lines that verify without the database."""
    count = 0
    with path.open("w", encoding="utf-8") as out, store.read() as session:
        out.write(
            json.dumps(
                {
                    "type": "pishkhan.log.v1",
                    "key_id": signer.key_id,
                    "public_key": signer.public_pem,
                }
            )
            + "\n"
        )
        for document in session.scalars(select(TreeHead.document).order_by(TreeHead.tree_size)):
            out.write(json.dumps({"head": json.loads(document)}) + "\n")
        entries = session.execute(
            select(LogEntry.index, LogEntry.entry)
            .order_by(LogEntry.index)
            .execution_options(**_STREAM)
        )
        for index, entry in entries:
            out.write(
                json.dumps({"index": index, "entry": base64.b64encode(bytes(entry)).decode()})
                + "\n"
            )
            count += 1
    return count


def verify_export(path: Path, public_key_pem: str | None = None) -> Report:
    """Verify an exported log file offline (with the given key, else the file's own)."""
    heads: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        header = json.loads(fh.readline())
        for line in fh:
            item = json.loads(line)
            if "head" in item:
                heads.append(item["head"])
    key = load_pem_public_key((public_key_pem or header["public_key"]).encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not Ed25519")

    def entries() -> Iterator[tuple[int, bytes]]:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                item = json.loads(line)
                if "entry" in item:
                    yield item["index"], base64.b64decode(item["entry"])

    return verify_log(entries(), heads, key)
