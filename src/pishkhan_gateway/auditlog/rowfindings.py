"""What the row check found, named: the columns of each disagreeing row, rows that name no
entry, and settlements against their reconciliation entries.

``rowcheck.scan`` finds the indexes in the database at C speed; this module explains them
in Python, row by row, which is affordable because only the disagreeing rows come here. Each
problem is ``(index, detail)``; ``verify`` reports it as ``row_mismatch``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from pishkhan_gateway.auditlog import rowcheck
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LogEntry, Transaction

Problem = tuple[int | None, str]


@dataclass
class Scanned:
    """What the row check's statements found (``rowcheck.scan``), by index."""

    disagreeing: list[int]
    settled: list[int]  # rows recording a settlement
    reconciliations: list[int]  # candidate reconciliation entries
    unread: list[tuple[int, int]] = field(default_factory=list)  # ranges left to Python


def problems(store: Store, scanned: Scanned, log_size: int, named_at_most: int) -> list[Problem]:
    """Everything the row check found, explained: disagreeing rows (the first
    ``named_at_most`` column by column), rows naming no entry, and settlements unlike their
    reconciliation entries."""
    found: list[Problem] = []
    for start, end in scanned.unread:
        more, also = compare_range(store, start, end)
        found += more
        scanned.settled += also.settled
        scanned.reconciliations += also.reconciliations
    found += explain(store, scanned.disagreeing[:named_at_most])
    if len(scanned.disagreeing) > named_at_most:
        extra = len(scanned.disagreeing) - named_at_most
        found.append((scanned.disagreeing[named_at_most], f"and {extra} more rows disagree"))
    found += strays(store, log_size)
    found += settlements(store, scanned.settled, scanned.reconciliations)
    return found


_COLUMN_ATTRIBUTE = {"citizen_sealed": "citizen_encrypted"}


def _time(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def differing_columns(entry: dict[str, Any], row: Transaction) -> list[str]:
    """The row's columns that disagree with its transaction entry (column names)."""
    differ = [c for k, c in rowcheck.VERBATIM if entry.get(k) != getattr(row, c)]
    if entry.get("time") != _time(row.created_at):
        differ.append("created_at")
    if entry.get("v", 1) < 2:
        return differ
    differ += [c for k, c in rowcheck.VERBATIM_V2 if entry.get(k) != getattr(row, c)]
    digests = entry.get("sha256") or {}
    for column in rowcheck.DIGESTED:
        value = getattr(row, _COLUMN_ATTRIBUTE.get(column, column))
        if column == "receipt" and row.settled_log_index is not None:
            value = None  # an unknown outcome has none; the settlement's is checked with it
        if digests.get(column) != rowcheck.digest(value):
            differ.append(column)
    return differ


def _problem(index: int, raw: bytes | None, row: Transaction | None) -> Problem | None:
    """What is wrong between the entry at ``index`` (``raw`` bytes, None if gone) and the row
    naming that index (None if none), or None when they agree."""
    try:
        entry = json.loads(raw) if raw is not None else {}
    except ValueError:
        entry = {"type": "(not JSON)"}
    if not isinstance(entry, dict):
        entry = {"type": "(not a JSON object)"}
    if row is None:
        if entry.get("type") == "transaction":
            return index, "the transaction row for this entry is gone"
        return None
    if entry.get("type") != "transaction":
        return (
            index,
            f"transaction {row.id}'s row names this index, which holds no transaction entry",
        )
    columns = differing_columns(entry, row)
    if not columns:
        return None
    return index, "the transaction row disagrees with the log on " + ", ".join(columns)


def explain(store: Store, indexes: Iterable[int]) -> list[Problem]:
    """Why each of ``indexes`` (the database's candidates) disagrees with its row; a candidate
    that in fact agrees (spelled differently by the database's JSON) is dropped."""
    problems: list[Problem] = []
    with store.read() as session:
        for index in indexes:
            raw = session.scalar(select(LogEntry.entry).where(LogEntry.index == index))
            row = session.scalar(select(Transaction).where(Transaction.log_index == index))
            found = _problem(index, bytes(raw) if raw is not None else None, row)
            if found is not None:
                problems.append(found)
    return problems


def compare_range(store: Store, start: int, end: int) -> tuple[list[Problem], Scanned]:
    """The row check for [start, end) in Python, for a range the database's JSON functions
    could not read (an entry that is no longer JSON, or not UTF-8, stops the statement): its
    problems, and its settled rows and reconciliation entries for ``settlements``."""
    problems, found = [], Scanned([], [], [])
    query = (
        select(LogEntry.index, LogEntry.entry, Transaction)
        .outerjoin(Transaction, Transaction.log_index == LogEntry.index)
        .where(LogEntry.index >= start, LogEntry.index < end)
        .order_by(LogEntry.index)
        .execution_options(yield_per=5000)
    )
    with store.read() as session:
        for index, raw, row in session.execute(query):
            problem = _problem(index, bytes(raw), row)
            if problem is not None:
                problems.append(problem)
            if row is not None and _is_settled(row):
                found.settled.append(index)
            elif row is None and b'"type":"reconciliation"' in bytes(raw):
                found.reconciliations.append(index)
    return problems, found


def _is_settled(row: Transaction) -> bool:
    return any(
        value is not None
        for value in (
            row.settled_outcome,
            row.settled_log_index,
            row.settled_at,
            row.settled_reference,
        )
    )


def strays(store: Store, log_size: int) -> list[Problem]:
    """Rows that name an index the log does not have. (Below the log's size every index has
    its entry, or the tree check says which are missing; a row past the size whose entry is
    there was appended since this run's snapshot.)"""
    with store.read() as session:
        rows = session.execute(
            select(Transaction.id, Transaction.log_index)
            .outerjoin(LogEntry, LogEntry.index == Transaction.log_index)
            .where(
                or_(Transaction.log_index < 0, Transaction.log_index >= log_size),
                LogEntry.index.is_(None),
            )
        ).all()
    return [
        (None, f"transaction {transaction_id}'s row names index {index}, not in the log")
        for transaction_id, index in rows
    ]


def settlements(store: Store, settled: list[int], reconciliations: list[int]) -> list[Problem]:
    """Each settlement recorded on a row (the rows at ``settled``) agrees with its
    reconciliation entry, and each reconciliation entry (at ``reconciliations``, candidates
    the JSON confirms) is the settlement its row records."""
    problems: list[Problem] = []
    with store.read() as session:
        rows = (
            {
                row.id: row
                for row in session.scalars(
                    select(Transaction).where(Transaction.log_index.in_(settled))
                )
            }
            if settled
            else {}
        )
        recorded: set[str] = set()
        for index in reconciliations:
            entry = json.loads(bytes(session.get_one(LogEntry, index).entry))
            if entry.get("type") != "reconciliation":
                continue
            transaction_id = str(entry.get("transaction_id"))
            row = rows.get(transaction_id) or session.get(Transaction, transaction_id)
            if row is None:
                problems.append((index, f"the settled transaction {transaction_id} has no row"))
                continue
            if row.settled_log_index == index:
                recorded.add(row.id)
            differ = _settlement_columns(index, entry, row)
            if differ:
                problems.append(
                    (
                        index,
                        f"transaction {row.id}'s settlement disagrees with the log on "
                        + ", ".join(differ),
                    )
                )
    for row in rows.values():
        if row.id not in recorded:
            problems.append(
                (
                    row.log_index,
                    "the row records a settlement that no reconciliation entry "
                    "below the log's size records",
                )
            )
    return problems


def _settlement_columns(index: int, entry: dict[str, Any], row: Transaction) -> list[str]:
    differ = []
    if row.settled_log_index != index:
        differ.append("settled_log_index")
    if row.settled_outcome != entry.get("outcome"):
        differ.append("settled_outcome")
    if row.settled_reference != entry.get("agency_reference"):
        differ.append("settled_reference")
    if _time(row.settled_at) != entry.get("time"):
        differ.append("settled_at")
    if entry.get("v", 1) >= 2 and rowcheck.digest(row.receipt) != entry["sha256"]["receipt"]:
        differ.append("receipt")
    return differ
