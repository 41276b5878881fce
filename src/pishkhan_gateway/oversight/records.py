"""Supervisors' reads, recorded before anything is shown, and inclusion proofs in scope."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from pishkhan_gateway.auditlog import merkle
from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.auditlog.sealer import latest_head, node_lookup
from pishkhan_gateway.errors import InvalidRequest, NotFound
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LogEntry, Office


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
            "details": dict(details or {}),
        },
    )


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
            decoded, province_of(session, decoded.get("office"), {})
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
