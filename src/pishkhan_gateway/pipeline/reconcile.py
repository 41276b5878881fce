"""Settling ``unknown`` outcomes: ask the agency what became of each, never perform it again.

A payment or request whose agency call ended unclearly (timeout, dropped connection, garbled
reply) is recorded as ``unknown``. ``reconcile`` asks the owning plugin's ``pishkhan_reconcile``
by the transaction id the agency was given as its tracking id:

- the agency applied it → ``succeeded``, with the agency's reference and a signed receipt;
- the agency certainly did not (``AgencyRejected`` with one of the codes its ``Agency`` declares
  in ``not_found_codes``) → ``not_applied``; any other refusal proves nothing → left ``unknown``;
- the agency cannot say now (unavailable, timeout) → left ``unknown`` for the next round.

Attempts a crashed worker left in flight (``intents``) are first recorded as ``unknown``
(``recover_interrupted``), so they are settled the same way.

Each settlement is a new log entry (``type: reconciliation``); the original entry is never
touched, and the transaction row keeps its first outcome beside its ``settled_*`` fields.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import structlog
from sqlalchemy import select, update

from pishkhan_gateway.auditlog import rowcheck
from pishkhan_gateway.auditlog.append import ENTRY_VERSION, insert_entry, reserve
from pishkhan_gateway.errors import AgencyError, AgencyRejected, AgencyTimeout
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.pipeline import intents, replays
from pishkhan_gateway.pipeline.parts import Parts
from pishkhan_gateway.pipeline.record import Outcome, responder, sign_receipt
from pishkhan_gateway.sdk.values import Result
from pishkhan_gateway.store import utcnow
from pishkhan_gateway.store.tables import IdempotencyRecord, LogEntry, Office, Transaction

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Settlement:
    """What reconciliation did with one unknown transaction."""

    transaction_id: str
    outcome: str  # succeeded | not_applied | unknown
    detail: str
    log_index: int | None = None


def recover_interrupted(gw: Parts) -> list[str]:
    """Record attempts left in flight for over ``INTERRUPTED_AFTER_SECONDS`` as ``unknown``."""
    stopped = AgencyTimeout(
        "the gateway stopped while the agency call was under way; the outcome is unknown and "
        "will be reconciled"
    )
    return intents.recover(
        gw.store,
        gw.signer,
        gw.vault,
        dt.timedelta(seconds=float(gw.config["INTERRUPTED_AFTER_SECONDS"])),
        lambda out: responder(out, stopped),
    )


def reconcile(gw: Parts, older_than: dt.timedelta = dt.timedelta(0)) -> list[Settlement]:
    """Try to settle every unsettled ``unknown`` transaction older than ``older_than``."""
    cutoff = utcnow() - older_than
    with gw.store.read() as session:
        pending = list(
            session.scalars(
                select(Transaction)
                .where(
                    Transaction.outcome == "unknown",
                    Transaction.settled_outcome.is_(None),
                    Transaction.created_at <= cutoff,
                )
                .order_by(Transaction.log_index)
            )
        )
    return [_settle(gw, row) for row in pending]


def _settle(gw: Parts, row: Transaction) -> Settlement:
    service = gw.plugins.service(row.service or "")
    if service is None:
        return Settlement(row.id, "unknown", f"service {row.service} is not installed")
    agency = gw.agency(service.service.agency)
    where = agency.url or "no URL configured"  # named: a moved sandbox or agency shows
    try:
        result = gw.plugins.reconcile(service=service, transaction_id=row.id, agency=agency)
    except AgencyRejected as exc:
        never_seen = gw.plugins.agencies[service.service.agency].not_found_codes
        if exc.agency_code in never_seen:
            return _record(gw, row, None, exc)
        return Settlement(
            row.id,
            "unknown",
            f"the agency refused to say ({exc.agency_code or 'no code'}: {exc.reason}); only "
            f"{', '.join(never_seen) or 'a declared not-found code'} proves it never applied "
            f"it ({where})",
        )
    except AgencyError as exc:
        return Settlement(row.id, "unknown", f"the agency cannot say yet: {exc.detail} ({where})")
    if result is None:
        return Settlement(row.id, "unknown", "the plugin cannot reconcile this service")
    return _record(gw, row, result, None)


def _record(
    gw: Parts, row: Transaction, result: Result | None, rejected: AgencyRejected | None
) -> Settlement:
    """Record the settlement: its log entry, the row's settled fields and, for a key, the
    settled answer a retry now gets (201 with the receipt, or the not-applied problem)."""
    now = utcnow()
    outcome = "succeeded" if result is not None else "not_applied"
    reference = result.reference if result is not None else None
    if rejected is not None:
        detail = f"the agency says: {rejected.reason}"
    else:
        detail = "the agency applied it"
    with gw.store.write() as session:
        current = session.get(Transaction, row.id, with_for_update=True)  # one settlement each
        if current is None or current.settled_outcome is not None:
            return Settlement(
                row.id,
                current.settled_outcome if current else "unknown",
                "settled by another reconciler",
            )
        index = reserve(session)  # the receipt is signed with the index, and the entry binds it
        office = session.get(Office, row.office_id) if row.office_id else None
        first = session.get(LogEntry, row.log_index)  # priced by law? as the attempt recorded
        priced_by = json.loads(first.entry).get("priced_by") if first is not None else None
        settled = Outcome(
            transaction_id=row.id,
            created_at=now,
            outcome=outcome,
            office_id=row.office_id,
            office_name=office.name if office else None,
            licence_no=office.licence_no if office else None,
            service=row.service,
            service_title_fa=_title(gw, row.service),
            agency_amount=row.agency_amount,
            office_fee=row.office_fee,
            fee_cap=row.fee_cap,
            priced_by=priced_by,
            agency_reference=reference,
            result=dict(result.data) if result is not None else None,
        )
        signed = sign_receipt(settled, index, gw.signer) if result is not None else None
        receipt = json.dumps(signed, ensure_ascii=False) if signed else None
        insert_entry(
            session,
            index,
            {
                "v": ENTRY_VERSION,
                "type": "reconciliation",
                "time": iso(now),
                "transaction_id": row.id,
                "office": row.office_id,
                "service": row.service,
                "agency": row.agency,
                "outcome": outcome,
                "agency_reference": reference,
                "sha256": {"receipt": rowcheck.digest(receipt)},
            },
            now,
        )
        status, body = responder(settled, rejected)(index, signed)
        session.execute(  # a retry with the attempt's key now answers the settlement
            update(IdempotencyRecord)
            .where(IdempotencyRecord.transaction_id == row.id)
            .values(
                state="done",
                response_status=status,
                response_body=replays.seal(
                    gw.vault, row.office_id, row.idempotency_key or "", row.id, body
                ),
            )
        )
        session.execute(
            update(Transaction)
            .where(Transaction.id == row.id)
            .values(
                settled_outcome=outcome,
                settled_at=now,
                settled_log_index=index,
                settled_reference=reference,
                receipt=receipt,
            )
        )
    log.info("reconciled", transaction_id=row.id, outcome=outcome, log_index=index)
    return Settlement(row.id, outcome, detail, index)


def _title(gw: Parts, service_id: str | None) -> str | None:
    registered = gw.plugins.service(service_id or "")
    return registered.service.title_fa if registered else None
