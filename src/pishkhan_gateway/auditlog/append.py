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

# 2: transaction entries also bind the row's columns that are not in them verbatim (``kind``,
# ``http_status``, ``sealed`` and the ``sha256`` digests; ``auditlog/rowcheck.py``), and
# reconciliation entries the receipt they produced. Version 1 entries lack those fields.
ENTRY_VERSION = 2
_INSERT_ENTRY = insert(LogEntry)


def reserve(session: Session | Connection) -> int:
    """The next index, reserved inside ``session``'s transaction (its entry must be inserted in
    the same transaction: ``insert_entry``). For an entry that names things signed with its own
    index, such as a receipt."""
    size = session.execute(
        text("UPDATE log_state SET size = size + 1 WHERE id = 1 RETURNING size")
    ).scalar_one()
    return int(size) - 1


def insert_entry(
    session: Session | Connection, index: int, entry: dict[str, Any], created_at: dt.datetime
) -> None:
    """Write the entry at a reserved index."""
    # Core inserts on the hot path: the ORM's unit of work costs more than the insert itself.
    session.execute(
        _INSERT_ENTRY, {"index": index, "entry": canonical(entry), "created_at": created_at}
    )


def append(session: Session | Connection, entry: dict[str, Any], created_at: dt.datetime) -> int:
    """Append one entry to the log inside ``session``'s transaction; return its index."""
    index = reserve(session)
    insert_entry(session, index, entry, created_at)
    return index


def record_event(store: Store, entry: dict[str, Any]) -> int:
    """Append a non-transaction entry (a supervisor's read or action) in its own transaction."""
    now = dt.datetime.now(dt.UTC)
    with store.write() as session:
        return append(session, {"v": ENTRY_VERSION, "time": iso(now), **entry}, now)
