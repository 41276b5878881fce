"""Appending to the log: gap-free indexes, canonical entries, in the caller's DB transaction.

Each append increments the single ``log_state`` row, whose row lock (PostgreSQL) or the database
write lock (SQLite) serialises appenders, so index ``n`` is committed only together with its
entry. Entries are RFC 8785 canonical JSON; the Merkle tree and signed tree heads over them are
built by the sealer off the request path (``sealer.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.orm import Session

from pishkhan_gateway.crypto.signing import canonical
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.groupcommit import Batch
from pishkhan_gateway.store.tables import LogEntry, LogState

# 2: transaction entries also bind the row's columns that are not in them verbatim (``kind``,
# ``http_status``, ``sealed`` and the ``sha256`` digests; ``auditlog/rowcheck.py``), and
# reconciliation entries the receipt they produced. Version 1 entries lack those fields.
ENTRY_VERSION = 2
_INSERT_ENTRY = insert(LogEntry)
# SQLite renders no FOR UPDATE: its write lock is held from BEGIN IMMEDIATE.
_LOG_SIZE = select(LogState.size).where(LogState.id == 1).with_for_update()


def reserve(session: Session | Connection) -> int:
    """The next index, reserved inside ``session``'s transaction (its entry must be inserted in
    the same transaction: ``insert_entry``). For an entry that names things signed with its own
    index, such as a receipt."""
    size = session.execute(
        text("UPDATE log_state SET size = size + 1 WHERE id = 1 RETURNING size")
    ).scalar_one()
    return int(size) - 1


def reserve_in(batch: Batch) -> int:
    """The next index, reserved inside a group-commit ``batch``: ``log_state`` is read once per
    batch (under the row lock on PostgreSQL; SQLite's write lock is already held) and written
    once when the batch's rows are (``defer_entry``), not updated per entry."""
    cursor = batch.shared.get("log_size")
    if cursor is None:
        size = batch.session.execute(_LOG_SIZE).scalar_one()
        cursor = batch.shared["log_size"] = [int(size)]
    index = cursor[0]
    cursor[0] += 1

    def write_size(session: Session) -> None:
        session.execute(text("UPDATE log_state SET size = :size WHERE id = 1"), {"size": cursor[0]})

    batch.once("log_size", write_size)
    return index


def defer_entry(batch: Batch, index: int, entry: dict[str, Any], created_at: dt.datetime) -> None:
    """Write the entry at an index from ``reserve_in`` with the batch's other entries."""
    batch.defer(
        _INSERT_ENTRY, {"index": index, "entry": canonical(entry), "created_at": created_at}
    )


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
