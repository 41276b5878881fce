"""``POST /v1/transactions``: the counter's one endpoint, step by step (DESIGN.md §2).

    authenticate → check_licence → resolve_service → verify_identity → enforce_tariff
        → claim_idempotency_key → dispatch → record

Each step either fills in the ``Outcome`` or raises one ``GatewayError``; whatever happens, the
outcome is recorded (transaction row + log entry, and the receipt when it succeeded) before the
response exists. Handlers parse and respond; this module decides.
"""

from __future__ import annotations

import functools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from pishkhan_gateway import intents, metrics, offices
from pishkhan_gateway.errors import (
    AgencyTimeout,
    GatewayError,
    InvalidParams,
    InvalidRequest,
    TariffExceeded,
    UnknownService,
    UnsupportedMediaType,
)
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.idempotency import check_key, claim, request_digest
from pishkhan_gateway.identity import citizen_pseudonym, verify_identity
from pishkhan_gateway.ledger import Outcome, record
from pishkhan_gateway.plugins import RegisteredService
from pishkhan_gateway.schemas import first_error, validator
from pishkhan_gateway.store import utcnow
from pishkhan_gateway.tariffs import enforce_tariff

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Submission:
    """What the HTTP layer hands over: headers that matter and the raw body."""

    authorization: str | None
    operator: str | None
    idempotency_key: str | None
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class Reply:
    """What the HTTP layer sends back."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    transaction_id: str | None = None


def new_transaction_id() -> str:
    """``tx_`` + milliseconds (hex, sortable by time) + 80 random bits."""
    return f"tx_{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def submit(gw: Gateway, submission: Submission) -> Reply:
    """Run one transaction through every step and return the recorded reply."""
    started = time.perf_counter()
    out = Outcome(transaction_id=new_transaction_id(), created_at=utcnow())
    error: GatewayError | None = None
    executing = False
    result_data: dict[str, Any] | None = None
    try:
        office = authenticate(gw, submission, out)
        offices.check_licence(office)
        gw.quotas.take(office.id, out.operator or "")
        body = parse_body(submission.content_type, submission.body)
        out.citizen = citizen_pseudonym(body.get("citizen"), gw.pseudonyms)
        service = resolve_service(gw, body, out)
        params = body.get("params", {})
        citizen = verify_identity(
            level=service.service.identity_level,
            citizen=body.get("citizen"),
            plugins=gw.plugins,
            agencies=gw.agencies(),
            cache=gw.identity_cache,
            otp=functools.partial(
                gw.otps.confirm,
                office_id=out.office_id or "",
                service_id=service.service.id,
                idempotency_key=submission.idempotency_key,
            ),
        )
        if citizen.national_code:
            sealed = {"national_code": citizen.national_code}
            if citizen.mobile:
                sealed["mobile"] = citizen.mobile
            out.citizen_sealed = gw.vault.seal(out.transaction_id, sealed)
        check_tariff(gw, service, body, out, office.category)
        # A payment or request leaves an intent before it is sent (recovered after a crash).
        out.intended = out.kind != "inquiry"
        if submission.idempotency_key is not None:
            out.idempotency_key = check_key(submission.idempotency_key)
            replay = claim(
                gw.store,
                office_id=out.office_id or "",
                key=out.idempotency_key,
                digest=request_digest(body),
                transaction_id=out.transaction_id,
                wait_seconds=float(gw.config["IDEMPOTENCY_WAIT_SECONDS"]),
                also=lambda: [intents.row(out, claimed=True)] if out.intended else [],
            )
            if replay is not None:
                log.info("idempotent_replay", office=out.office_id)
                return Reply(replay.status, replay.body, {"Idempotent-Replayed": "true"})
            out.claimed = True
        elif out.intended:
            intents.write(gw.store, out)
        executing = True
        result = gw.dispatcher.execute(
            service=service,
            params=params,
            citizen=citizen,
            agency=gw.agency(out.agency or ""),
            transaction_id=out.transaction_id,
            agency_amount=out.agency_amount or 0,
        )
        out.outcome, out.code, out.http_status = "succeeded", None, 201
        out.agency_reference = result.reference
        result_data = dict(result.data)
        out.result = result_data
    except GatewayError as exc:
        error = exc
        out.outcome = exc.outcome
        if executing and isinstance(exc, AgencyTimeout) and out.kind != "inquiry":
            out.outcome = "unknown"
        out.code, out.http_status = exc.code, exc.status
    out.latency_ms = int((time.perf_counter() - started) * 1000)

    recorded = record(gw.store, gw.signer, out, responder(out, error, result_data))
    # A service id from the client is a label only once it is known (bounded cardinality).
    label = out.service if out.service and gw.plugins.service(out.service) else "unknown"
    metrics.TRANSACTIONS.labels(label, out.outcome, out.code or "").inc()
    metrics.TRANSACTION_SECONDS.labels(label).observe(time.perf_counter() - started)
    log.info(
        "transaction",
        transaction_id=out.transaction_id,
        office=out.office_id,
        service=out.service,
        outcome=out.outcome,
        code=out.code,
        ms=out.latency_ms,
        log_index=recorded.log_index,
    )
    headers = dict(error.headers) if error else {}
    if error is None:
        headers["Location"] = f"/v1/transactions/{out.transaction_id}"
    return Reply(recorded.status, recorded.body, headers, out.transaction_id)


def responder(
    out: Outcome, error: GatewayError | None, result_data: dict[str, Any] | None = None
) -> Callable[[int, dict[str, Any] | None], tuple[int, bytes]]:
    """How the attempt answers once its log index (and receipt) are known: the success body, or
    the problem document. Also used to record an attempt recovered after a crash."""

    def respond(log_index: int, receipt: dict[str, Any] | None) -> tuple[int, bytes]:
        if error is None:
            return 201, _json(
                {
                    "transaction_id": out.transaction_id,
                    "status": out.outcome,
                    "service": out.service,
                    "result": result_data,
                    "agency_reference": out.agency_reference,
                    "agency_amount": out.agency_amount,
                    "office_fee": out.office_fee,
                    "total": out.total,
                    "fee_cap": out.fee_cap,
                    "log_index": log_index,
                    "receipt": receipt,
                }
            )
        problem = error.problem()
        problem.update(transaction_id=out.transaction_id, outcome=out.outcome, log_index=log_index)
        return error.status, _json(problem)

    return respond


def authenticate(gw: Gateway, submission: Submission, out: Outcome) -> offices.OfficeView:
    """Step 1: the office credential, then the operator registered to that office (one query).
    A refusal names the office when the credential was good (or merely revoked or expired)."""
    try:
        office, out.operator = offices.authenticate_counter(
            gw.store, gw.pseudonyms, submission.authorization, submission.operator
        )
    except GatewayError as exc:
        out.office_id = getattr(exc, "office_id", None)
        raise
    out.office_id, out.office_name, out.licence_no = office.id, office.name, office.licence_no
    return office


def parse_body(content_type: str | None, raw: bytes) -> dict[str, Any]:
    """The JSON body, valid against ``transaction-request.schema.json``."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime != "application/json":
        raise UnsupportedMediaType(f"Content-Type is {mime or 'missing'}; send application/json")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # ValueError includes integers of thousands of digits (Python refuses to parse them)
        raise InvalidRequest("the body is not valid JSON") from None
    if _too_deep(body, MAX_DEPTH):
        raise InvalidRequest(f"the body is nested more than {MAX_DEPTH} levels deep")
    error = first_error(validator("transaction-request"), body)
    if error is not None:
        where, message = error
        raise InvalidRequest(f"{where}: {message}", field=where)
    fee = body.get("office_fee", 0)
    if type(fee) is not int:  # JSON Schema's "integer" admits 40000.0; money is never a float
        raise InvalidRequest("office_fee must be an integer number of rials", field="office_fee")
    return body


MAX_DEPTH = 16  # the request schema needs 4; validators and canonical JSON recurse


def _too_deep(value: Any, limit: int) -> bool:
    """Is ``value`` nested deeper than ``limit``? (Iterative: the check itself cannot blow the
    stack.)"""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return False


def resolve_service(gw: Gateway, body: dict[str, Any], out: Outcome) -> RegisteredService:
    """Step 3: a known service, params valid against its schema and its plugin's checks."""
    out.service = body["service"]
    service = gw.plugins.service(body["service"])
    if service is None:
        raise UnknownService(f"no service {body['service']!r}; see GET /v1/services")
    out.agency, out.kind = service.service.agency, service.service.kind
    out.service_title_fa = service.service.title_fa
    params = body.get("params", {})
    error = first_error(service.params_validator, params)
    if error is not None:
        where, message = error
        raise InvalidParams(f"{where}: {message}", field=where)
    gw.plugins.check_params(service=service, params=params)
    return service


def check_tariff(
    gw: Gateway, service: RegisteredService, body: dict[str, Any], out: Outcome, category: str
) -> None:
    """Step 5: the office fee within the cap in force; the agency amount from the plugin."""
    out.office_fee = body.get("office_fee", 0)
    try:
        out.fee_cap = enforce_tariff(
            tariffs=gw.tariffs,
            service_id=service.service.id,
            category=category,
            office_fee=out.office_fee,
            at=out.created_at,
        )
    except TariffExceeded as exc:
        out.fee_cap = exc.fee_cap  # the violation is recorded with the cap it broke
        raise
    out.agency_amount = gw.dispatcher.quote(
        service=service, params=body.get("params", {}), agency=gw.agency(service.service.agency)
    )
