"""Recording outcomes: the transaction row, its log entry and its receipt, in one DB transaction.

The log is append-only with gap-free indexes: each append increments the single ``log_state``
row, whose row lock (PostgreSQL) or the database write lock (SQLite) serialises appenders, so
index ``n`` is committed only together with its entry. Entries are RFC 8785 canonical JSON; the
Merkle tree and signed tree heads over them are built by a sealer off the request path.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jdatetime
from sqlalchemy import Connection, delete, insert, text, update
from sqlalchemy.orm import Session

from pishkhan_gateway.signing import Signer, canonical
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import IdempotencyRecord, Intent, LogEntry, Transaction
from pishkhan_gateway.tariffs import TEHRAN

ENTRY_VERSION = 1


@dataclass
class Outcome:
    """Everything known about one attempt when it ends (filled in step by step)."""

    transaction_id: str
    created_at: dt.datetime
    outcome: str = "refused"
    code: str | None = None
    http_status: int = 200
    office_id: str | None = None
    office_name: str | None = None
    licence_no: str | None = None
    operator: str | None = None
    service: str | None = None
    service_title_fa: str | None = None
    agency: str | None = None
    kind: str | None = None
    citizen: str | None = None
    citizen_sealed: str | None = None  # national code and mobile, AES-GCM (vault.py)
    agency_amount: int | None = None
    office_fee: int | None = None
    fee_cap: int | None = None
    agency_reference: str | None = None
    idempotency_key: str | None = None
    claimed: bool = False
    intended: bool = False  # an intent was written before dispatch (intents.py)
    latency_ms: int = 0
    result: dict[str, Any] | None = None

    @property
    def total(self) -> int | None:
        """Agency amount plus office fee, when both are known."""
        if self.agency_amount is None or self.office_fee is None:
            return None
        return self.agency_amount + self.office_fee


class AlreadyRecorded(Exception):
    """Recovery found the attempt's intent gone: someone recorded it meanwhile."""


@dataclass(frozen=True)
class Recorded:
    """What recording produced: the log index, the signed receipt, the stored response."""

    log_index: int
    receipt: dict[str, Any] | None
    status: int
    body: bytes


def iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with milliseconds and ``Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jalali(moment: dt.datetime) -> str:
    """Tehran wall-clock time in the Jalali calendar, ``1405/09/03 12:30:00``."""
    local = moment.astimezone(TEHRAN)
    return f"{_jalali_day(local.date())} {local:%H:%M:%S}"


@functools.lru_cache(maxsize=64)
def _jalali_day(day: dt.date) -> str:
    # The calendar conversion is most of a receipt's time stamp and changes once a day.
    return jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d")


def log_entry(outcome: Outcome) -> dict[str, Any]:
    """The log entry for an outcome: no personal data, only pseudonyms."""
    return {
        "v": ENTRY_VERSION,
        "type": "transaction",
        "transaction_id": outcome.transaction_id,
        "time": iso(outcome.created_at),
        "office": outcome.office_id,
        "operator": outcome.operator,
        "service": outcome.service,
        "agency": outcome.agency,
        "outcome": outcome.outcome,
        "code": outcome.code,
        "agency_amount": outcome.agency_amount,
        "office_fee": outcome.office_fee,
        "total": outcome.total,
        "fee_cap": outcome.fee_cap,
        "agency_reference": outcome.agency_reference,
        "latency_ms": outcome.latency_ms,
        "citizen": outcome.citizen,
    }


def receipt_for(outcome: Outcome, log_index: int, signer: Signer) -> dict[str, Any]:
    """The signed receipt of a succeeded transaction."""
    return signer.sign(
        {
            "type": "pishkhan.receipt.v1",
            "transaction_id": outcome.transaction_id,
            "office_id": outcome.office_id,
            "office_name": outcome.office_name,
            "licence_no": outcome.licence_no,
            "service": outcome.service,
            "service_title_fa": outcome.service_title_fa,
            "time": iso(outcome.created_at),
            "time_jalali": jalali(outcome.created_at),
            "agency_reference": outcome.agency_reference,
            "agency_amount": outcome.agency_amount,
            "office_fee": outcome.office_fee,
            "total": outcome.total,
            "log_index": log_index,
        }
    )


_INSERT_ENTRY = insert(LogEntry)
_INSERT_TRANSACTION = insert(Transaction)


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


def record(
    store: Store,
    signer: Signer,
    outcome: Outcome,
    respond: Callable[[int, dict[str, Any] | None], tuple[int, bytes]],
    *,
    intent_required: bool = False,
) -> Recorded:
    """Make the outcome durable and return the response to send, all in one DB transaction
    (shared with concurrent outcomes under group commit; returns once it committed).

    ``respond(log_index, receipt)`` builds the HTTP status and body; when the attempt claimed an
    Idempotency-Key the same bytes are stored with it, so a replay is byte-identical. A claim
    whose attempt *failed* (nothing happened at the agency) is released so the key can be retried.
    The attempt's intent, if it wrote one, is deleted in the same transaction (the outbox); with
    ``intent_required`` (recovery) an intent already gone means it was recorded:
    ``AlreadyRecorded``.
    """

    def write(session: Session) -> Recorded:
        # Core statements on the session's connection: Session.execute doubles their cost.
        db = session.connection()
        if outcome.intended:
            gone = db.execute(
                delete(Intent).where(Intent.transaction_id == outcome.transaction_id)
            ).rowcount
            if intent_required and not gone:
                raise AlreadyRecorded(outcome.transaction_id)
        index = append(db, log_entry(outcome), outcome.created_at)
        receipt = receipt_for(outcome, index, signer) if outcome.outcome == "succeeded" else None
        status, body = respond(index, receipt)
        db.execute(
            _INSERT_TRANSACTION,
            {
                "id": outcome.transaction_id,
                "log_index": index,
                "created_at": outcome.created_at,
                "office_id": outcome.office_id,
                "operator": outcome.operator,
                "service": outcome.service,
                "agency": outcome.agency,
                "kind": outcome.kind,
                "outcome": outcome.outcome,
                "code": outcome.code,
                "http_status": status,
                "citizen": outcome.citizen,
                "citizen_sealed": outcome.citizen_sealed,
                "agency_amount": outcome.agency_amount,
                "office_fee": outcome.office_fee,
                "total": outcome.total,
                "fee_cap": outcome.fee_cap,
                "agency_reference": outcome.agency_reference,
                "idempotency_key": outcome.idempotency_key,
                "latency_ms": outcome.latency_ms,
                "result": json.dumps(outcome.result, ensure_ascii=False)
                if outcome.result
                else None,
                "receipt": json.dumps(receipt, ensure_ascii=False) if receipt else None,
                "settled_outcome": None,
                "settled_at": None,
                "settled_log_index": None,
                "settled_reference": None,
            },
        )
        if outcome.claimed:
            key = (
                IdempotencyRecord.office_id == outcome.office_id,
                IdempotencyRecord.key == outcome.idempotency_key,
            )
            if outcome.outcome == "failed":
                db.execute(delete(IdempotencyRecord).where(*key))
            else:
                db.execute(
                    update(IdempotencyRecord)
                    .where(*key)
                    .values(state="done", response_status=status, response_body=body)
                )
        return Recorded(index, receipt, status, body)

    return store.write_grouped(write)


def record_event(store: Store, entry: dict[str, Any]) -> int:
    """Append a non-transaction entry (a supervisor's read or action) in its own transaction."""
    now = dt.datetime.now(dt.UTC)
    with store.write() as session:
        return append(session, {"v": ENTRY_VERSION, "time": iso(now), **entry}, now)
