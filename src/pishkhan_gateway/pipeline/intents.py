"""Payments and requests in flight: the write-ahead half of the outbox.

Before a payment or request is sent to its agency, the attempt (its ``Outcome`` so far: ids,
amounts, pseudonym, sealed citizen — nothing in plain) is written as an intent, in the same
database transaction as its Idempotency-Key claim when it has one. Recording the outcome deletes
the intent in the transaction that appends the log entry and marks the key done, so at any
instant exactly one of the two exists. A worker killed between the agency call and the record
leaves the intent behind; ``recover`` (run by ``pishkhan-gateway reconcile``) records such an
attempt as ``unknown`` once it is older than any live call can be, and the usual reconciliation
then asks the agency what became of it. Inquiries change nothing at the agency and write none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select

from pishkhan_gateway.crypto.signing import Signer
from pishkhan_gateway.crypto.vault import Vault
from pishkhan_gateway.pipeline.record import AlreadyRecorded, Outcome, record
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import IdempotencyRecord, Intent

_SKIP = {"result"}


def row(out: Outcome, *, claimed: bool = False) -> Intent:
    """The intent row for an attempt about to be dispatched (``claimed``: written with its
    Idempotency-Key's claim, which recovery must then complete)."""
    fields = {k: v for k, v in dataclasses.asdict(out).items() if k not in _SKIP}
    fields["claimed"] = claimed
    fields["created_at"] = out.created_at.isoformat()
    return Intent(
        transaction_id=out.transaction_id,
        created_at=out.created_at,
        outcome=json.dumps(fields, ensure_ascii=False),
    )


def decode(text: str) -> Outcome:
    """The ``Outcome`` an intent was written from."""
    fields = json.loads(text)
    if "citizen_sealed" in fields:  # written before the field was renamed
        fields["citizen_encrypted"] = fields.pop("citizen_sealed")
    fields["created_at"] = dt.datetime.fromisoformat(fields["created_at"])
    return Outcome(**fields)


def for_attempt(out: Outcome) -> Intent | None:
    """The intent to write before dispatching this attempt: its row for a payment or request
    (``claimed`` when it holds an Idempotency-Key), None for an inquiry."""
    if not out.intended:
        return None
    return row(out, claimed=out.claimed)


def recover(
    store: Store,
    signer: Signer,
    vault: Vault,
    older_than: dt.timedelta,
    respond: Callable[[Outcome], Callable[[int, dict[str, Any] | None], tuple[int, bytes]]],
) -> list[str]:
    """Record every intent older than ``older_than`` as ``unknown``; release Idempotency-Keys
    whose attempt (an inquiry) died before recording. Returns the recovered transaction ids.

    ``respond(outcome)`` builds the stored response (the same problem document a live attempt
    would have answered), so a retry with the key replays it.
    """
    cutoff = utcnow() - older_than
    with store.read() as session:
        left = list(session.scalars(select(Intent).where(Intent.created_at <= cutoff)))
    recovered = []
    for intent in left:
        out = dataclasses.replace(
            decode(intent.outcome), outcome="unknown", code="agency_timeout", http_status=504
        )
        try:
            record(store, signer, vault, out, respond(out), intent_required=True)
        except AlreadyRecorded:
            continue
        recovered.append(out.transaction_id)
    with store.write() as session:
        in_flight = select(Intent.transaction_id)
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.state == "pending",
                IdempotencyRecord.created_at <= cutoff,
                IdempotencyRecord.transaction_id.not_in(in_flight),
            )
        )
    return recovered
