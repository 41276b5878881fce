"""``POST /v1/transactions``: the counter's one endpoint, step by step (DESIGN.md §2).

    authenticate → admit (licence, quotas) → parse_request → replayed (a finished key answers)
        → resolve_service → entitled → verify_identity → price → hold (Idempotency-Key and
        intent) → dispatch → record

One module per step. Each step takes the values and parts it needs and returns a frozen value
(the ``Counter``, the ``TransactionRequest``, the ``Fees``, the agency's ``Result``) or raises
one ``GatewayError``; the recorded ``Outcome`` is assembled once, at the end, from those values
and the error (``record.assemble``), and is durable before the response exists. No Flask here:
``web/api/offices.py`` turns HTTP into a ``Submission`` and the ``Reply`` back into HTTP.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any

import structlog

from pishkhan_gateway import instruments
from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.errors import AgencyTimeout, GatewayError, InternalError
from pishkhan_gateway.pipeline import intents
from pishkhan_gateway.pipeline.authenticate import Counter, admit, authenticate
from pishkhan_gateway.pipeline.idempotency import Replay, hold, keyed, replayed
from pishkhan_gateway.pipeline.identity import citizen_pseudonym, verify_identity
from pishkhan_gateway.pipeline.record import Outcome, Recorded, assemble, record, responder
from pishkhan_gateway.pipeline.request import Reply, Submission, parse_request
from pishkhan_gateway.pipeline.service import resolve_service
from pishkhan_gateway.pipeline.tariff import price
from pishkhan_gateway.store import utcnow

if TYPE_CHECKING:
    from pishkhan_gateway.pipeline.parts import Parts

__all__ = ["Reply", "Submission", "new_transaction_id", "submit"]

log = structlog.get_logger(__name__)


def new_transaction_id() -> str:
    """``tx_`` + milliseconds (hex, sortable by time) + 80 random bits."""
    return f"tx_{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


def submit(gw: Parts, sub: Submission) -> Reply:
    """Run one transaction through every step and return the recorded reply."""
    started, tx, now = time.perf_counter(), new_transaction_id(), utcnow()
    done: dict[str, Any] = {}  # each step's value, under the name ``assemble`` takes it by
    error: GatewayError | None = None
    try:
        counter = done["counter"] = authenticate(
            gw.store, gw.pseudonyms, sub.authorization, sub.operator, gw.counters
        )
        admit(counter, gw.quotas)
        request = done["request"] = parse_request(sub.content_type, sub.body)
        key = keyed(gw.pseudonyms, counter.office.id, sub.idempotency_key)
        pause = gw.admission.paused  # a wait on a key holds no slot
        wait = float(gw.config["IDEMPOTENCY_WAIT_SECONDS"])
        replay = replayed(gw.store, gw.vault, counter.office.id, key, request.digest, wait, pause)
        if replay is not None:
            return _replay(counter, replay)
        service = done["service"] = resolve_service(gw.plugins, request)
        gw.entitlements.check(counter.office, service.service.id)
        level, agency = service.service.identity_level, gw.agency(service.service.agency)
        otp = gw.otps.checker(counter.office.id, service.service.id)
        citizen = done["citizen"] = verify_identity(
            level, request.citizen, gw.plugins, gw.agencies(), otp, gw.identity_cache
        )
        fees = done["fees"] = price(
            gw.tariffs, gw.dispatcher, service, request, counter.office, agency, now
        )
        claim = {"idempotency_key": key.stored if key else None, "claimed": key is not None}
        intent = intents.for_attempt(_outcome(gw, tx, now, started, None, done | claim))
        replay = hold(
            gw.store, gw.vault, counter.office.id, key, request.digest, tx, intent, wait, pause
        )
        if replay is not None:
            return _replay(counter, replay)
        done.update(claim, started_dispatch=True)
        done["result"] = gw.dispatcher.execute(
            service, request.params, citizen, agency, tx, fees.agency_amount
        )
    except GatewayError as exc:
        error = exc
    except Exception:  # noqa: BLE001 - a bug of ours: answered and recorded all the same
        error = _bug(tx, done)
    if (repeat := _repeat_refusal(gw, error, done)) is not None:
        return repeat
    outcome = _outcome(gw, tx, now, started, error, done)
    recorded = record(gw.store, gw.signer, gw.vault, outcome, responder(outcome, error))
    return _reply(outcome, error, recorded, started)


def _outcome(
    gw: Parts, tx: str, now: Any, started: float, error: GatewayError | None, done: dict
) -> Outcome:
    request = done.get("request")
    return assemble(
        transaction_id=tx,
        created_at=now,
        error=error,
        started_dispatch=bool(done.get("started_dispatch")),
        latency_ms=int((time.perf_counter() - started) * 1000),
        citizen_pseudonym=citizen_pseudonym(request.citizen, gw.pseudonyms) if request else None,
        counter=done.get("counter"),
        request=request,
        service=done.get("service"),
        citizen=done.get("citizen"),
        fees=done.get("fees"),
        result=done.get("result"),
        idempotency_key=done.get("idempotency_key"),
        claimed=bool(done.get("claimed")),
        vault=gw.vault,
    )


def _bug(tx: str, done: dict[str, Any]) -> GatewayError:
    """What an unexpected exception in a step becomes: ``internal_error`` (recorded, nothing
    happened), or — once the agency was called — ``agency_timeout``, so a payment or request is
    recorded ``unknown`` and reconciled, never released to be paid twice."""
    log.exception("pipeline_bug", transaction_id=tx)
    if done.get("started_dispatch"):
        return AgencyTimeout("the gateway failed after the agency call; it will be reconciled")
    return InternalError(f"internal error in {tx}; it is recorded")


def _repeat_refusal(gw: Parts, error: GatewayError | None, done: dict[str, Any]) -> Reply | None:
    """A repeat over-quota refusal in the office's window: answered and counted, not written
    (``RefusalSampler``); the count of a closed window is written as one entry first."""
    counter = done.get("counter")
    office_id = counter.office.id if counter else None
    keep, counted = gw.refusals.keep(error, office_id)
    if counted:
        record_event(
            gw.store,
            {
                "type": "refusal_count",
                "office": office_id,
                "code": "rate_limited",
                "count": counted,
                "window_seconds": gw.refusals.window,
            },
        )
    if keep or error is None:
        return None
    problem = {**error.problem(), "recorded": False}
    body = json.dumps(problem, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(error.status, body, dict(error.headers))


def _replay(counter: Counter, replay: Replay) -> Reply:
    """The stored answer of the key's first request, marked as a replay."""
    log.info("idempotent_replay", office=counter.office.id, status=replay.status)
    return Reply(replay.status, replay.body, {**replay.headers, "Idempotent-Replayed": "true"})


def _reply(
    outcome: Outcome, error: GatewayError | None, recorded: Recorded, started: float
) -> Reply:
    """Count, log and answer a recorded attempt."""
    label = outcome.service if outcome.kind else "unknown"  # a label only once the service is known
    instruments.TRANSACTIONS.labels(label, outcome.outcome, outcome.code or "").inc()
    instruments.TRANSACTION_SECONDS.labels(label).observe(time.perf_counter() - started)
    log.info(
        "transaction",
        transaction_id=outcome.transaction_id,
        office=outcome.office_id,
        service=outcome.service,
        outcome=outcome.outcome,
        code=outcome.code,
        ms=outcome.latency_ms,
        log_index=recorded.log_index,
    )
    headers = dict(error.headers) if error else {}
    if error is None:
        headers["Location"] = f"/v1/transactions/{outcome.transaction_id}"
    return Reply(recorded.status, recorded.body, headers, outcome.transaction_id)
