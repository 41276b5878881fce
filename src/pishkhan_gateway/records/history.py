"""An office's own transactions: one by id, pages of its history (newest first), and the
inclusion proof of one."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from pishkhan_gateway import ids
from pishkhan_gateway.auditlog import merkle
from pishkhan_gateway.auditlog.sealer import Sealer, latest_head, node_lookup
from pishkhan_gateway.crypto.vault import Vault
from pishkhan_gateway.errors import InvalidRequest, NotFound, NotSealedYet, SealedDataInvalid
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.outcomes import OUTCOMES, final_outcome
from pishkhan_gateway.store.tables import LogEntry, Transaction

MAX_PAGE = 200


def shown_total(row: Any) -> int | None:
    """The total to show: only where money moved or may have (succeeded, still unknown)."""
    return row.total if final_outcome(row) in ("succeeded", "unknown") else None


def opened_result(row: Any, vault: Vault) -> dict[str, Any] | None:
    """The agency's result as recorded: encrypted at rest (``SealedDataInvalid`` if it does
    not open); rows from before 2026-12-02 hold it as plain JSON."""
    if not row.result:
        return None
    if row.result.startswith("{"):
        return dict(json.loads(row.result))
    try:
        return vault.decrypt(row.id, row.result)
    except ValueError as exc:
        raise SealedDataInvalid(f"the result of {row.id} does not open: {exc}") from None


def view(row: Transaction, vault: Vault) -> dict[str, Any]:
    """The office-facing view of a recorded transaction (no personal data)."""
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
    return {
        "transaction_id": row.id,
        "status": row.settled_outcome or row.outcome,
        "recorded_status": row.outcome,
        "code": row.code,
        "service": row.service,
        "agency": row.agency,
        "time": iso(created),
        "agency_reference": row.agency_reference,
        "agency_amount": row.agency_amount,
        "office_fee": row.office_fee,
        "total": shown_total(row),
        "fee_cap": row.fee_cap,
        "log_index": row.log_index,
        "latency_ms": row.latency_ms,
        "result": opened_result(row, vault),
        "receipt": json.loads(row.receipt) if row.receipt else None,
        "settlement": (
            {
                "outcome": row.settled_outcome,
                "log_index": row.settled_log_index,
                "agency_reference": row.settled_reference,
            }
            if row.settled_outcome
            else None
        ),
    }


def get(store: Store, vault: Vault, office_id: str, transaction_id: str) -> dict[str, Any] | None:
    """The office's transaction, or None (also when it belongs to another office)."""
    with store.read() as session:
        row = session.scalar(
            select(Transaction).where(
                Transaction.id == transaction_id, Transaction.office_id == office_id
            )
        )
        return view(row, vault) if row else None


def page(
    store: Store,
    vault: Vault,
    office_id: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    service: str | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """A page of the office's history, newest first; ``next_cursor`` continues it."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be 1..{MAX_PAGE}", field="limit")
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidRequest(f"outcome must be one of {OUTCOMES}", field="outcome")
    query = select(Transaction).where(Transaction.office_id == office_id)
    if cursor is not None:
        query = query.where(Transaction.log_index < ids.index(cursor, "cursor"))
    if service:
        query = query.where(Transaction.service == service)
    if outcome:
        query = query.where(Transaction.outcome == outcome)
    query = query.order_by(Transaction.log_index.desc()).limit(limit + 1)
    with store.read() as session:
        rows = list(session.scalars(query))
    items = [view(r, vault) for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next_cursor": str(rows[limit - 1].log_index) if more else None}


def proof(
    store: Store, vault: Vault, sealer: Sealer, office_id: str, transaction_id: str
) -> dict[str, Any]:
    """The inclusion proof of one of the office's transactions in the latest signed tree (the
    tree is sealed now if the entry is not in it yet); ``NotFound`` for anyone else's."""
    found = get(store, vault, office_id, transaction_id)
    if found is None:
        raise NotFound(f"no transaction {transaction_id} for this office")
    # a reconciled transaction's receipt names its settlement's entry: prove that one
    index = found["receipt"]["log_index"] if found["receipt"] else found["log_index"]
    with store.read() as session:
        head = latest_head(session)
    if head is None or head.tree_size <= index:
        head = sealer.seal_all() or head  # not sealed yet: seal now rather than make it wait
    if head is None or head.tree_size <= index:
        error = NotSealedYet()
        error.headers = {"Retry-After": "1"}
        raise error
    with store.read() as session:
        path = merkle.inclusion_path(node_lookup(session), index, head.tree_size)
        entry = bytes(session.scalar(select(LogEntry.entry).where(LogEntry.index == index)))
    return {
        "transaction_id": transaction_id,
        "log_index": index,
        "leaf_hash": merkle.leaf_hash(entry).hex(),
        "entry": base64.b64encode(entry).decode(),
        "audit_path": [p.hex() for p in path],
        "tree_head": head.document,
    }
