"""The counter's API: one transaction endpoint, the catalog, and the office's own history."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response, request

from pishkhan_gateway import errors
from pishkhan_gateway.errors import NotFound
from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.pipeline import Submission, submit
from pishkhan_gateway.pipeline.otprequest import CodeParts, request_code
from pishkhan_gateway.pricing.catalog import catalog
from pishkhan_gateway.records import history, settlements
from pishkhan_gateway.records import search as searches
from pishkhan_gateway.records.settlements import SUMS
from pishkhan_gateway.registry import offices
from pishkhan_gateway.store import utcnow
from pishkhan_gateway.web import denials
from pishkhan_gateway.web.operations import OFFICE, Call, Header, operation
from pishkhan_gateway.web.page import page
from pishkhan_gateway.web.problem import PROBLEM, json_response
from pishkhan_gateway.web.shapes import (
    CURSOR,
    JALALI_DATE,
    MOMENT,
    RIALS,
    TRANSACTION,
    TRANSACTION_ID,
    array,
    contract,
    nullable,
    obj,
)

bp = Blueprint("offices", __name__, url_prefix="/v1")
log = structlog.get_logger(__name__)
TAGS = ("counter",)


TRANSACTION_REQUEST = contract("transaction-request")
OPERATOR = Header("X-Operator", "The operator's national code", required=True)
IDEMPOTENCY = Header(
    "Idempotency-Key",
    "Any unique string (at most 255 characters): a retry with the same key and body is "
    "answered with the first outcome, never run twice",
)
PATH = {"transaction_id": TRANSACTION_ID}
COUNTER_REFUSALS = (
    errors.UnsupportedMediaType,
    errors.PayloadTooLarge,
    errors.OperatorNotRegistered,
    errors.OfficeSuspended,
    errors.OfficeRevoked,
    errors.LicenceExpired,
    errors.UnknownService,
    errors.ServiceNotEntitled,
    errors.InvalidParams,
    errors.InvalidNationalCode,
    errors.IdentityMismatch,
    errors.CitizenDeceased,
    errors.MobileNotOwned,
    errors.OtpRequired,
    errors.OtpInvalid,
    errors.IdentityUnavailable,
    errors.TariffExceeded,
    errors.IdempotencyConflict,
    errors.IdempotencyInProgress,
    errors.OutcomeUnknown,
    errors.RateLimited,
    errors.Overloaded,
    errors.AgencyRejected,
    errors.AgencyTimeout,
    errors.AgencyFault,
    errors.AgencyUnavailable,
)
SERVICE = obj(
    {
        "id": {"type": "string"},
        "agency": {"type": "string"},
        "title_fa": {"type": "string"},
        "title_en": {"type": "string"},
        "kind": {"type": "string"},
        "identity_level": {"type": "integer", "minimum": 0, "maximum": 3},
        "registry_id": {"type": ["string", "null"]},
        "params_schema": {
            "type": "object",
            "description": "the JSON Schema of this service's `params` (its contract)",
        },
        "fee_cap": nullable(RIALS),
        "priced_by": {"type": "string"},
    },
    "id",
    "params_schema",
    extra=True,
)


@operation(
    bp,
    "POST",
    "/transactions",
    summary="Run a counter transaction (every outcome is recorded)",
    audience=OFFICE,
    tags=TAGS,
    pipeline=True,
    body=TRANSACTION_REQUEST,
    headers=(OPERATOR, IDEMPOTENCY),
    status=201,
    response=TRANSACTION,
    problems=COUNTER_REFUSALS,
    example={
        "service": "postbank.bill.pay",
        "citizen": {"national_code": "0012345679"},
        "params": {"bill_id": "1234567890123", "payment_id": "12345678"},
        "office_fee": 40000,
    },
)
@denials.records_itself
def create_transaction(call: Call) -> Response:
    """Run a counter transaction; every outcome is recorded before this returns (unless the
    worker is at capacity: then ``overloaded`` at once, nothing recorded, nothing executed).
    A refusal or failure is answered with its problem and ``transaction_id``."""
    gw = call.gateway
    with gw.admission.slot():
        reply = submit(
            gw,
            Submission(
                authorization=request.headers.get("Authorization"),
                operator=request.headers.get("X-Operator"),
                idempotency_key=request.headers.get("Idempotency-Key"),
                content_type=request.headers.get("Content-Type"),
                body=request.get_data(cache=False),
            ),
        )
    mimetype = "application/json" if reply.status < 400 else PROBLEM
    return json_response(reply.body, reply.status, reply.headers, mimetype)


@operation(
    bp,
    "POST",
    "/otp",
    summary="Send a one-time code to the citizen's own mobile (level-3 services)",
    audience=OFFICE,
    tags=TAGS,
    raw=True,
    body={
        **TRANSACTION_REQUEST,
        "description": "the transaction's body as it will be sent (service and citizen with "
        "national_code, birth_date, mobile; params and office_fee are not read here)",
    },
    headers=(OPERATOR,),
    status=202,
    example={
        "service": "telecom.mobile.sim.replace",
        "citizen": {
            "national_code": "0012345679",
            "birth_date": "1370-01-01",
            "mobile": "09121234567",
        },
    },
    response=obj(
        {
            "otp_id": {"type": "string"},
            "mobile": {"type": "string", "description": "masked"},
            "expires_in": {"type": "integer"},
            "max_attempts": {"type": "integer"},
        },
        "otp_id",
        extra=True,
    ),
    problems=(
        errors.UnsupportedMediaType,
        errors.PayloadTooLarge,
        errors.OperatorNotRegistered,
        errors.OfficeSuspended,
        errors.OfficeRevoked,
        errors.LicenceExpired,
        errors.UnknownService,
        errors.InvalidNationalCode,
        errors.IdentityMismatch,
        errors.CitizenDeceased,
        errors.MobileNotOwned,
        errors.IdentityUnavailable,
        errors.OtpRateLimited,
        errors.RateLimited,
        errors.AgencyUnavailable,
    ),
)
def send_one_time_code(call: Call) -> Any:
    """Send a one-time code to the citizen's mobile for a level-3 service (DESIGN.md §2 step 4).

    Body: ``{"service": id, "citizen": {"national_code", "birth_date", "mobile"}}``. The citizen
    is verified to level 2 and the mobile's ownership checked first, so a code is only ever sent
    to the citizen's own line; the code is then bound to this office, service and citizen.
    """
    gw = call.gateway
    parts = CodeParts(
        store=gw.store,
        pseudonyms=gw.pseudonyms,
        quotas=gw.quotas,
        plugins=gw.plugins,
        agencies=gw.agencies(),
        identity_cache=gw.identity_cache,
        otps=gw.otps,
    )
    return request_code(
        call.the_office(),
        operator=call.header("X-Operator"),
        content_type=call.header("Content-Type"),
        body=call.raw,
        parts=parts,
    )


@operation(
    bp,
    "GET",
    "/transactions/<transaction_id>",
    summary="One of the office's own transactions",
    audience=OFFICE,
    tags=TAGS,
    path=PATH,
    response=TRANSACTION,
    problems=(errors.NotFound,),
)
@denials.own_record_lookup
def get_transaction(call: Call) -> Any:
    """One of the office's own transactions (404 for anyone else's)."""
    transaction_id = call.path["transaction_id"]
    found = history.get(
        call.gateway.store, call.gateway.vault, call.the_office().id, transaction_id
    )
    if found is None:
        raise NotFound(f"no transaction {transaction_id} for this office")
    return found


@operation(
    bp,
    "GET",
    "/transactions/<transaction_id>/proof",
    summary="The inclusion proof of one of the office's transactions",
    audience=OFFICE,
    tags=TAGS,
    path=PATH,
    response=obj(
        {
            "transaction_id": TRANSACTION_ID,
            "log_index": {"type": "integer"},
            "leaf_hash": {"type": "string"},
            "entry": {"type": "string", "contentEncoding": "base64"},
            "audit_path": array({"type": "string"}, 64),
            "tree_head": {"type": "object"},
        },
        "log_index",
        "audit_path",
        "tree_head",
        extra=True,
    ),
    problems=(errors.NotFound, errors.NotSealedYet),
)
@denials.own_record_lookup
def transaction_proof(call: Call) -> Any:
    """The inclusion proof of one of the office's transactions in the latest signed tree."""
    gw = call.gateway
    return history.proof(
        gw.store, gw.vault, gw.sealer, call.the_office().id, call.path["transaction_id"]
    )


@operation(
    bp,
    "GET",
    "/transactions",
    summary="The office's own transactions, newest first",
    audience=OFFICE,
    tags=TAGS,
    query={
        "limit": {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 50},
        "cursor": CURSOR,
        "service": {"type": "string", "maxLength": 128},
        "outcome": {"enum": ["succeeded", "refused", "failed", "unknown"]},
    },
    response=obj(
        {"items": array(TRANSACTION, 10_000), "next_cursor": nullable(CURSOR)},
        "items",
        "next_cursor",
    ),
)
def list_transactions(call: Call) -> Any:
    """The office's own history, newest first, paged by ``cursor``."""
    return history.page(
        call.gateway.store,
        call.gateway.vault,
        call.the_office().id,
        limit=call.query.get("limit", 50),
        cursor=call.query.get("cursor"),
        service=call.query.get("service"),
        outcome=call.query.get("outcome"),
    )


@operation(
    bp,
    "GET",
    "/services",
    summary="The catalog, with this office's fee cap today",
    audience=OFFICE,
    tags=TAGS,
    response=obj(
        {
            "services": array(SERVICE, 10_000),
            "tariff_schedule": nullable(
                obj({"name": {"type": "string"}, "effective": JALALI_DATE}, extra=True)
            ),
        },
        "services",
    ),
)
def list_services(call: Call) -> Any:
    """The catalog, with this office's fee cap today for each service (and each service's
    ``params_schema``, its contract)."""
    board = catalog(call.gateway, call.the_office(), utcnow())
    return {
        "services": board["services"],
        "tariff_schedule": (
            {
                "name": board["schedule"]["name"],
                "effective": board["schedule"]["effective_jalali"],
            }
            if board["schedule"]
            else None
        ),
    }


@operation(
    bp,
    "GET",
    "/tariffs",
    summary="The tariff board the office must display",
    audience=OFFICE,
    tags=TAGS,
    query={"format": {"enum": ["json", "html"]}},
    response=obj(
        {"office": {"type": "object"}, "services": array(SERVICE, 10_000)}, "services", extra=True
    ),
    other_content={"text/html": "with ?format=html: the printable Persian board"},
)
def tariff_board(call: Call) -> Any:
    """The tariff board the office must display (``?format=html``: printable, Persian)."""
    board = catalog(call.gateway, call.the_office(), utcnow())
    if call.query.get("format") == "html":
        return page("tariff_board.html", board=board)
    return board


@operation(
    bp,
    "GET",
    "/settlements",
    summary="The office's daily settlement",
    audience=OFFICE,
    tags=TAGS,
    query={"date": MOMENT},
    response=obj(
        {
            "office_id": {"type": "string"},
            "date": JALALI_DATE,
            "date_gregorian": {"type": "string", "format": "date"},
            "services": array(
                obj(
                    {
                        "service": {"type": "string"},
                        **{k: {"type": "integer"} for k in SUMS},
                    },
                    "service",
                    *SUMS,
                ),
                1000,
            ),
            "totals": {"type": "object"},
            "log_indexes": nullable(array({"type": "integer"}, 2)),
        },
        "date",
        "services",
        "totals",
        extra=True,
    ),
)
def settlement(call: Call) -> Any:
    """The office's daily settlement (``?date=`` Jalali or ISO; default today in Tehran)."""
    raw = call.query.get("date")
    day = searches.parse_moment(raw, "date").astimezone(TEHRAN).date() if raw else offices.today()
    return settlements.daily(call.gateway.store, call.the_office().id, day)
