"""Step 7: recording. The ``Outcome`` is assembled once from the steps' values and the error
(``assemble``), then made durable with its log entry and receipt in one DB transaction
(``record``), its receipt signed (``sign_receipt``), before the response exists.

Appending to the log itself (gap-free indexes, canonical entries) is ``auditlog/append.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, insert, update

from pishkhan_gateway.auditlog import rowcheck
from pishkhan_gateway.auditlog.append import ENTRY_VERSION, defer_entry, reserve_in
from pishkhan_gateway.crypto.signing import Signer
from pishkhan_gateway.crypto.vault import Vault
from pishkhan_gateway.errors import AgencyTimeout, GatewayError
from pishkhan_gateway.jalali import format_moment, iso
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.pipeline import replays
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.groupcommit import Batch
from pishkhan_gateway.store.tables import IdempotencyRecord, Intent, Transaction

if TYPE_CHECKING:
    from pishkhan_gateway.pipeline.authenticate import Counter
    from pishkhan_gateway.pipeline.request import TransactionRequest
    from pishkhan_gateway.pipeline.tariff import Fees
    from pishkhan_gateway.plugins.door import RegisteredService
    from pishkhan_gateway.sdk.values import Citizen, Result, Service


MOVED = ("succeeded", "unknown")  # outcomes after which money may have moved


@dataclass(frozen=True)
class Outcome:
    """Everything recorded about one attempt, assembled once when it ends (``assemble``).

    Its fields are also an intent's JSON (``intents.py``): rename one only with a migration."""

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
    citizen_encrypted: str | None = None  # national code and mobile, AES-GCM (vault.py)
    agency_amount: int | None = None
    office_fee: int | None = None
    fee_cap: int | None = None
    priced_by: str | None = None  # FeeRule.priced_by; "law" is also in the entry and receipt
    agency_reference: str | None = None
    idempotency_key: str | None = None  # as stored: keyed-hashed (``idempotency.Key``)
    claimed: bool = False
    intended: bool = False  # an intent was written before dispatch (intents.py)
    latency_ms: int = 0
    result: dict[str, Any] | None = None
    result_encrypted: str | None = None  # the result as stored: AES-GCM (vault.py)

    @property
    def total(self) -> int | None:
        """Agency amount plus office fee, when both are known and money may have moved: a
        refused, failed or not-applied attempt shows no total."""
        if self.agency_amount is None or self.office_fee is None or self.outcome not in MOVED:
            return None
        return self.agency_amount + self.office_fee


def assemble(
    *,
    transaction_id: str,
    created_at: dt.datetime,
    error: GatewayError | None,
    started_dispatch: bool,
    latency_ms: int,
    citizen_pseudonym: str | None,
    counter: Counter | None = None,
    request: TransactionRequest | None = None,
    service: RegisteredService | None = None,
    citizen: Citizen | None = None,
    fees: Fees | None = None,
    result: Result | None = None,
    idempotency_key: str | None = None,
    claimed: bool = False,
    vault: Vault | None = None,
) -> Outcome:
    """The outcome of an attempt from what its steps returned (``None`` where a step never
    ran) and the error that ended it. A payment or request whose agency call ended unclearly
    (``agency_timeout`` after dispatch began) is ``unknown``; reconcile settles it."""
    declared = service.service if service else None
    kind = declared.kind if declared else None
    if error is None:
        outcome, code, status = "succeeded", None, 201
    else:
        outcome, code, status = error.outcome, error.code, error.status
        if started_dispatch and isinstance(error, AgencyTimeout) and kind != "inquiry":
            outcome = "unknown"
    encrypted = None
    if vault is not None and citizen is not None and citizen.national_code:
        personal = {"national_code": citizen.national_code}
        if citizen.mobile:
            personal["mobile"] = citizen.mobile
        encrypted = vault.encrypt(transaction_id, personal)
    # The agency's answer may name the citizen (a name, a birth date): encrypted at rest too.
    result_encrypted = None
    if vault is not None and result is not None and result.data:
        result_encrypted = vault.encrypt(transaction_id, result.data)
    office = counter.office if counter else None
    return Outcome(
        transaction_id=transaction_id,
        created_at=created_at,
        outcome=outcome,
        code=code,
        http_status=status,
        office_id=office.id if office else getattr(error, "office_id", None),
        office_name=office.name if office else None,
        licence_no=office.licence_no if office else None,
        operator=counter.operator if counter else None,
        service=_recorded_service(request.service if request else None, declared),
        service_title_fa=declared.title_fa if declared else None,
        agency=declared.agency if declared else None,
        kind=kind,
        citizen=citizen_pseudonym,
        citizen_encrypted=encrypted,
        agency_amount=fees.agency_amount if fees else None,
        office_fee=request.office_fee if request else None,
        fee_cap=fees.fee_cap if fees else getattr(error, "fee_cap", None),
        priced_by=fees.priced_by if fees else getattr(error, "extra", {}).get("priced_by"),
        agency_reference=result.reference if result else None,
        idempotency_key=idempotency_key,
        claimed=claimed,
        intended=kind in ("payment", "request") and (fees is not None),
        latency_ms=latency_ms,
        result=dict(result.data) if result else None,
        result_encrypted=result_encrypted,
    )


def _recorded_service(given: str | None, declared: Service | None) -> str | None:
    """The service id to record: a declared one as is; what a client typed that names no
    service only with its national-code- and mobile-shaped digit runs redacted (the log can
    never forget what it holds) (CSV exports quote it if it reads as a formula)."""
    if given is None or declared is not None:
        return given
    return redact_text(given)


def responder(outcome: Outcome, error: GatewayError | None) -> Respond:
    """How the attempt answers once its log index (and receipt) are known: the success body,
    or the problem document. Also used to record an attempt recovered after a crash."""

    def respond(log_index: int, receipt: dict[str, Any] | None) -> tuple[int, bytes]:
        if error is None:
            return 201, _json(
                {
                    "transaction_id": outcome.transaction_id,
                    "status": outcome.outcome,
                    "service": outcome.service,
                    "result": outcome.result,
                    "agency_reference": outcome.agency_reference,
                    "agency_amount": outcome.agency_amount,
                    "office_fee": outcome.office_fee,
                    "total": outcome.total,
                    "fee_cap": outcome.fee_cap,
                    "priced_by": outcome.priced_by,
                    "log_index": log_index,
                    "receipt": receipt,
                }
            )
        problem = error.problem()
        problem.update(
            transaction_id=outcome.transaction_id, outcome=outcome.outcome, log_index=log_index
        )
        return error.status, _json(problem)

    return respond


Respond = Callable[[int, dict[str, Any] | None], tuple[int, bytes]]


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class AlreadyRecorded(Exception):
    """Recovery found the attempt's intent gone: someone recorded it meanwhile."""


@dataclass(frozen=True)
class Recorded:
    """What recording produced: the log index, the signed receipt, the stored response."""

    log_index: int
    receipt: dict[str, Any] | None
    status: int
    body: bytes


def log_entry(outcome: Outcome, row: dict[str, Any]) -> dict[str, Any]:
    """The log entry for an outcome: no personal data, only pseudonyms. It also binds the
    ``row``'s columns it does not hold verbatim (``rowcheck.bound_columns``), so the routine
    ``audit verify`` checks every column."""
    entry = {
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
    if outcome.priced_by == "law":  # no office cap exists: the fee is the agency's, by law
        entry["priced_by"] = "law"
    bound = rowcheck.bound_columns(
        kind=row["kind"],
        http_status=row["http_status"],
        citizen_sealed=row["citizen_encrypted"],
        idempotency_key=row["idempotency_key"],
        receipt=row["receipt"],
        result=row["result"],
    )
    return {**entry, **bound}


_INSERT_TRANSACTION = insert(Transaction)
_INTENT_DONE = delete(Intent).where(Intent.transaction_id == bindparam("p_tid"))
_KEY = (
    IdempotencyRecord.office_id == bindparam("p_office"),
    IdempotencyRecord.key == bindparam("p_key"),
)
_KEY_RELEASED = delete(IdempotencyRecord).where(*_KEY)
_KEY_ANSWERED = (
    update(IdempotencyRecord)
    .where(*_KEY)
    .values(
        state=bindparam("p_state"),
        response_status=bindparam("p_status"),
        response_body=bindparam("p_body"),
    )
)


def record(
    store: Store,
    signer: Signer,
    vault: Vault,
    outcome: Outcome,
    respond: Respond,
    *,
    intent_required: bool = False,
) -> Recorded:
    """Make the outcome durable and return the response to send, all in one DB transaction
    (shared with concurrent outcomes under group commit; returns once it committed).

    ``respond(log_index, receipt)`` builds the HTTP status and body; when the attempt claimed an
    Idempotency-Key the same bytes are stored with it, sealed (``replays``), so a replay is
    byte-identical and the agency's answer is not kept in plain text. A claim
    whose attempt *failed* (nothing happened at the agency) is released so the key can be retried.
    The attempt's intent, if it wrote one, is deleted in the same transaction (the outbox); with
    ``intent_required`` (recovery) an intent already gone means it was recorded:
    ``AlreadyRecorded``.
    """

    def write(batch: Batch) -> Recorded:
        # Rows are deferred to one executemany per statement for the whole batch; only the
        # recovery's intent check needs its answer at once.
        if outcome.intended:
            if intent_required:
                gone = batch.session.execute(_INTENT_DONE, {"p_tid": outcome.transaction_id})
                if not gone.rowcount:
                    raise AlreadyRecorded(outcome.transaction_id)
            else:
                batch.defer(_INTENT_DONE, {"p_tid": outcome.transaction_id})
        index = reserve_in(batch)  # the receipt is signed with the index, and the entry binds it
        receipt = sign_receipt(outcome, index, signer) if outcome.outcome == "succeeded" else None
        status, body = respond(index, receipt)
        row = {
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
            "citizen_encrypted": outcome.citizen_encrypted,
            "agency_amount": outcome.agency_amount,
            "office_fee": outcome.office_fee,
            "total": outcome.total,
            "fee_cap": outcome.fee_cap,
            "agency_reference": outcome.agency_reference,
            "idempotency_key": outcome.idempotency_key,
            "latency_ms": outcome.latency_ms,
            "result": outcome.result_encrypted,
            "receipt": json.dumps(receipt, ensure_ascii=False) if receipt else None,
            "settled_outcome": None,
            "settled_at": None,
            "settled_log_index": None,
            "settled_reference": None,
        }
        defer_entry(batch, index, log_entry(outcome, row), outcome.created_at)
        batch.defer(_INSERT_TRANSACTION, row)
        if outcome.claimed:
            key = {"p_office": outcome.office_id, "p_key": outcome.idempotency_key}
            if outcome.outcome == "failed":
                batch.defer(_KEY_RELEASED, key)
            else:  # an unknown outcome stays "unknown" until reconcile stores its settlement
                state = "unknown" if outcome.outcome == "unknown" else "done"
                kept = replays.seal(
                    vault, outcome.office_id, outcome.idempotency_key, outcome.transaction_id, body
                )
                batch.defer(
                    _KEY_ANSWERED, {**key, "p_state": state, "p_status": status, "p_body": kept}
                )
        return Recorded(index, receipt, status, body)

    return store.write_grouped(write)


def sign_receipt(outcome: Outcome, log_index: int, signer: Signer) -> dict[str, Any]:
    """The signed receipt of a succeeded transaction."""
    law = {"priced_by": "law"} if outcome.priced_by == "law" else {}
    return signer.sign(
        {
            **law,  # the amount is the agency's, set by law: the office added nothing
            "type": "pishkhan.receipt.v1",
            "transaction_id": outcome.transaction_id,
            "office_id": outcome.office_id,
            "office_name": outcome.office_name,
            "licence_no": outcome.licence_no,
            "service": outcome.service,
            "service_title_fa": outcome.service_title_fa,
            "time": iso(outcome.created_at),
            "time_jalali": format_moment(outcome.created_at),
            "agency_reference": outcome.agency_reference,
            "agency_amount": outcome.agency_amount,
            "office_fee": outcome.office_fee,
            "total": outcome.total,
            "log_index": log_index,
        }
    )
