"""Appending to the log: gap-free indexes, canonical entries, in the caller's DB transaction.

Each append increments the single ``log_state`` row, whose row lock (PostgreSQL) or the database
write lock (SQLite) serialises appenders, so index ``n`` is committed only together with its
entry. Entries are RFC 8785 canonical JSON; the Merkle tree and signed tree heads over them are
built by the sealer off the request path (``sealer.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, text
from sqlalchemy.orm import Session

from pishkhan_gateway.crypto.signing import canonical
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LogEntry

ENTRY_VERSION = 1
_INSERT_ENTRY = insert(LogEntry)


def append(session: Session | Connection, entry: dict[str, Any], created_at: dt.datetime) -> int:
    """Append one entry to the log inside ``session``'s transaction; return its index."""
    size = session.execute(
        text("UPDATE log_state SET size = size + 1 WHERE id = 1 RETURNING size")
    ).scalar_one()
    index = size - 1
    # Core inserts on the hot path: the ORM's unit of work costs more than the insert itself.
    session.execute(
        _INSERT_ENTRY, {"index": index, "entry": canonical(entry), "created_at": created_at}
    )
    return index


def record_event(store: Store, entry: dict[str, Any]) -> int:
    """Append a non-transaction entry (a supervisor's read or action) in its own transaction."""
    now = dt.datetime.now(dt.UTC)
    with store.write() as session:
        return append(session, {"v": ENTRY_VERSION, "time": iso(now), **entry}, now)
