"""Supervisors' reads of the log and its records, within their scope: reads recorded before
anything is shown, entries, tree heads, inclusion and consistency proofs, transaction detail,
personal data revealed."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import select

from pishkhan_gateway.auditlog import merkle
from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.auditlog.sealer import Sealer, latest_head, node_lookup
from pishkhan_gateway.crypto.vault import Vault
from pishkhan_gateway.errors import InvalidRequest, NotFound, SealedDataInvalid
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LogEntry, Office, Transaction, TreeHead

log = structlog.get_logger(__name__)


def log_access(
    store: Store, scope: Scope, action: str, details: Mapping[str, Any] | None = None
) -> int:
    """Log a supervisor's read or action (before anything is shown); the entry's index."""
    return record_event(
        store,
        {
            "type": "supervisor_access",
            "supervisor": scope.supervisor_id,
            "scope": scope.label,
            "action": action,
            # a reason is free text: personal-data-shaped digits are masked before the log
            "details": {
                k: redact_text(v) if k == "reason" and isinstance(v, str) else v
                for k, v in (details or {}).items()
            },
        },
    )


def entry_province(session: Any, entry: dict[str, Any], cache: dict[str, str | None]) -> str | None:
    """The province an entry belongs to: its office's, or, for a province-wide one (working
    hours), the province it names."""
    if entry.get("office") is None and isinstance(entry.get("province"), str):
        return entry["province"]
    return province_of(session, entry.get("office"), cache)


def province_of(session: Any, office_id: str | None, cache: dict[str, str | None]) -> str | None:
    """The province of ``office_id`` (memoised in ``cache`` for one listing)."""
    if office_id is None:
        return None
    if office_id not in cache:
        cache[office_id] = session.scalar(select(Office.province).where(Office.id == office_id))
    return cache[office_id]


def inclusion(store: Store, index: int, size: int, scope: Scope | None) -> dict[str, Any]:
    """RFC 6962 audit path of entry ``index`` in the signed tree of ``size`` (in scope), with
    the entry's exact bytes (base64) so the caller can hash the leaf itself."""
    with store.read() as session:
        head = latest_head(session)
        if head is None or size > head.tree_size or index >= size:
            raise InvalidRequest(
                "need index < tree_size <= the latest signed tree size", field="tree_size"
            )
        entry = session.scalar(select(LogEntry.entry).where(LogEntry.index == index))
        if entry is None:
            raise NotFound(f"no entry {index}")
        decoded = json.loads(bytes(entry))
        if scope is not None and not scope.sees_entry(
            decoded, entry_province(session, decoded, {})
        ):
            raise NotFound(f"no entry {index} in your scope")
        path = merkle.inclusion_path(node_lookup(session), index, size)
    return {
        "index": index,
        "tree_size": size,
        "leaf_hash": merkle.leaf_hash(bytes(entry)).hex(),
        "audit_path": [p.hex() for p in path],
        "entry": base64.b64encode(bytes(entry)).decode(),
    }


def reveal(store: Store, vault: Vault, transaction_id: str) -> dict[str, Any]:
    """The personal data encrypted with one transaction (the caller has checked the role and
    logged the reason); ``NotFound`` when there is none, ``SealedDataInvalid`` when it does not
    open (moved, altered, or its key is not held)."""
    with store.read() as session:
        encrypted = session.scalar(
            select(Transaction.citizen_encrypted).where(Transaction.id == transaction_id)
        )
    if encrypted is None:
        raise NotFound(f"no sealed personal data for transaction {transaction_id}")
    try:
        return vault.decrypt(transaction_id, encrypted)
    except ValueError as exc:
        log.error("sealed_data_invalid", transaction_id=transaction_id, reason=str(exc))
        raise SealedDataInvalid(str(exc)) from None


def latest_head_document(store: Store) -> dict[str, Any] | None:
    """The latest signed tree head, if any was signed."""
    with store.read() as session:
        head = latest_head(session)
    return head.document if head else None


def tree_head(store: Store, sealer: Sealer) -> dict[str, Any]:
    """The latest signed tree head (sealing now when none was signed yet)."""
    with store.read() as session:
        head = latest_head(session)
    if head is None:
        head = sealer.seal()
    if head is None:
        raise NotFound("no tree head has been signed yet")
    return head.document


def entries_in_scope(store: Store, scope: Scope, start: int, end: int) -> list[str | None]:
    """Entries [start, end) as exact bytes (base64), in order; out-of-scope ones are None."""
    out: list[str | None] = []
    provinces: dict[str, str | None] = {}
    with store.read() as session:
        rows = session.execute(
            select(LogEntry.index, LogEntry.entry)
            .where(LogEntry.index >= start, LogEntry.index < end)
            .order_by(LogEntry.index)
        )
        for _index, entry in rows:
            raw = bytes(entry)
            decoded = json.loads(raw)
            visible = scope.sees_entry(decoded, entry_province(session, decoded, provinces))
            out.append(base64.b64encode(raw).decode() if visible else None)
    return out


def consistency(store: Store, first: int, second: int) -> dict[str, Any]:
    """RFC 6962 consistency path between two signed tree sizes."""
    with store.read() as session:
        head = latest_head(session)
        if head is None or not 0 < first <= second <= head.tree_size:
            raise InvalidRequest(
                "need 0 < first <= second <= the latest signed tree size", field="second"
            )
        path = merkle.consistency_path(node_lookup(session), first, second)
    return {"first": first, "second": second, "consistency_path": [p.hex() for p in path]}


def transaction_detail(
    store: Store, scope: Scope, transaction_id: str
) -> tuple[Transaction, bytes, TreeHead | None, dict[str, Any] | None]:
    """One transaction in scope, its log entry's bytes, the latest head and (when the entry is
    under it) its inclusion proof: what the console shows and checks in the browser."""
    with store.read() as session:
        row = session.scalar(
            select(Transaction).where(Transaction.id == transaction_id, scope.transactions())
        )
        if row is None:
            raise NotFound(f"no transaction {transaction_id} in your scope")
        entry = bytes(session.scalar(select(LogEntry.entry).where(LogEntry.index == row.log_index)))
        head = latest_head(session)
    proof = None
    if head is not None and row.log_index < head.tree_size:
        proof = inclusion(store, row.log_index, head.tree_size, scope)
    return row, entry, head, proof


def offices_in_scope(store: Store, scope: Scope) -> list[Office]:
    """The offices a supervisor lists (a province its own, a region its provinces'), by
    province and id."""
    with store.read() as session:
        query = select(Office).where(scope.offices()).order_by(Office.province, Office.id)
        return list(session.scalars(query))
