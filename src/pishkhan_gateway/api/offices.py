"""The counter's API: one transaction endpoint, the catalog, and the office's own history."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response, current_app, render_template, request

from pishkhan_gateway import history, ids, jalali, oversight, receipts, settlements
from pishkhan_gateway.api import denials
from pishkhan_gateway.api.problem import PROBLEM, json_body, json_response
from pishkhan_gateway.auditlog import bundles
from pishkhan_gateway.catalog import catalog
from pishkhan_gateway.errors import InvalidRequest, NotFound
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.oversight import feedback
from pishkhan_gateway.pipeline import Submission, submit
from pishkhan_gateway.pipeline.identity import verify_before_otp
from pishkhan_gateway.pipeline.otp import request_code
from pishkhan_gateway.pipeline.request import CitizenInput
from pishkhan_gateway.registry import offices
from pishkhan_gateway.store import utcnow

bp = Blueprint("offices", __name__, url_prefix="/v1")
log = structlog.get_logger(__name__)


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def _office() -> offices.OfficeView:
    """Reads need the office credential only (a suspended office may still read its history)."""
    office = offices.authenticate(_gateway().store, request.headers.get("Authorization"))
    denials.set_actor(office=office.id)
    return office


@bp.post("/transactions")
@denials.records_itself
def create_transaction() -> Response:
    """Run a counter transaction; every outcome is recorded before this returns (unless the
    worker is at capacity: then ``overloaded`` at once, nothing recorded, nothing executed)."""
    gw = _gateway()
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


def _operator_body() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("national_code"), str):
        raise InvalidRequest('send {"national_code": …}', field="national_code")
    return body


@bp.get("/operators")
def list_operators() -> Response:
    """The office's operators (numbers and dates; national codes are never stored)."""
    return json_response({"operators": offices.list_operators(_gateway().store, _office().id)})


@bp.post("/operators")
def register_operator() -> Response:
    """Register an operator of this office, matched at the Civil Registry (identity level 2).

    Body ``{"national_code", "birth_date"}`` (Jalali). Refusals are the identity codes.
    """
    gw = _gateway()
    office = _office()
    offices.check_licence(office)
    body = _operator_body()
    if not body.get("birth_date"):
        raise InvalidRequest("birth_date (Jalali) matches the operator at the Civil Registry")
    person = verify_before_otp(
        level=2,
        citizen=CitizenInput(national_code=body["national_code"], birth_date=body["birth_date"]),
        plugins=gw.plugins,
        agencies=gw.agencies(),
        cache=gw.identity_cache,
    )
    offices.add_operator(gw.store, gw.pseudonyms, office.id, person.national_code or "")
    log.info("operator_registered", office_id=office.id)
    return json_response({"registered": True, "identity_level": 2}, 201)


@bp.post("/operators/revoke")
def revoke_operator() -> Response:
    """Revoke an operator of this office (body ``{"national_code"}``); effective at once."""
    gw = _gateway()
    office = _office()
    offices.revoke_operator(gw.store, gw.pseudonyms, office.id, _operator_body()["national_code"])
    log.info("operator_revoked", office_id=office.id)
    return json_response({"revoked": True})


@bp.post("/otp")
def send_one_time_code() -> Response:
    """Send a one-time code to the citizen's mobile for a level-3 service (DESIGN.md §2 step 4).

    Body: ``{"service": id, "citizen": {"national_code", "birth_date", "mobile"}}``. The citizen
    is verified to level 2 and the mobile's ownership checked first, so a code is only ever sent
    to the citizen's own line; the code is then bound to this office, service and citizen.
    """
    gw = _gateway()
    sent = request_code(
        gw,
        _office(),
        operator=request.headers.get("X-Operator"),
        content_type=request.headers.get("Content-Type"),
        body=request.get_data(cache=False),
    )
    return json_response(sent, 202)


@bp.get("/transactions/<transaction_id>")
@denials.own_record_lookup
def get_transaction(transaction_id: str) -> Response:
    """One of the office's own transactions (404 for anyone else's)."""
    found = history.get(_gateway().store, _gateway().vault, _office().id, transaction_id)
    if found is None:
        raise NotFound(f"no transaction {transaction_id} for this office")
    return json_response(found)


@bp.get("/transactions/<transaction_id>/proof")
@denials.own_record_lookup
def transaction_proof(transaction_id: str) -> Response:
    """The inclusion proof of one of the office's transactions in the latest signed tree."""
    gw = _gateway()
    return json_response(history.proof(gw.store, gw.vault, gw.sealer, _office().id, transaction_id))


@bp.get("/transactions")
def list_transactions() -> Response:
    """The office's own history, newest first, paged by ``cursor``."""
    limit = ids.index(request.args.get("limit", "50"), "limit", maximum=10_000)
    return json_response(
        history.page(
            _gateway().store,
            _gateway().vault,
            _office().id,
            limit=limit,
            cursor=request.args.get("cursor"),
            service=request.args.get("service"),
            outcome=request.args.get("outcome"),
        )
    )


@bp.get("/services")
def list_services() -> Response:
    """The catalog, with this office's fee cap today for each service."""
    board = catalog(_gateway(), _office(), utcnow())
    return json_response(
        {
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
    )


@bp.get("/tariffs")
def tariff_board() -> Response:
    """The tariff board the office must display (``?format=html``: printable, Persian)."""
    board = catalog(_gateway(), _office(), utcnow())
    if request.args.get("format") == "html":
        return _html("tariff_board.html", board=board)
    return json_response(board)


@bp.get("/receipts/<transaction_id>")
@denials.own_record_lookup
def receipt(transaction_id: str) -> Response:
    """The signed receipt of one of the office's transactions (``?format=html``: printable)."""
    found = history.get(_gateway().store, _gateway().vault, _office().id, transaction_id)
    if found is None or found["receipt"] is None:
        raise NotFound(f"no receipt for {transaction_id} at this office")
    signed = found["receipt"]
    if request.args.get("format") == "html":
        url = receipts.check_url(request.host_url, signed)
        return _html("receipt.html", r=signed, qr=receipts.qr_svg(url))
    return json_response(signed)


@bp.get("/receipts/<transaction_id>/bundle")
@denials.own_record_lookup
def receipt_bundle(transaction_id: str) -> Response:
    """The receipt with its log entry, inclusion proof and (cosigned) checkpoint: verifiable
    offline with ``tools/verify_bundle.py`` and pinned keys."""
    return json_response(bundles.bundle(_gateway(), _office().id, transaction_id))


@bp.get("/receipts/<transaction_id>/check")
def receipt_check(transaction_id: str) -> Response:
    """Public: what the receipt's QR code opens. Genuine receipts show their amounts."""
    prefix = request.args.get("s", "").replace("-", "+").replace("_", "/")
    found = receipts.check_by_prefix(_gateway().store, transaction_id, prefix)
    if request.args.get("format") == "json":
        return json_response({"valid": found is not None, "receipt": found}, 200 if found else 404)
    rated = found is not None and feedback.given(_gateway().store, transaction_id)
    return _html(
        "receipt_check.html",
        status=200 if found else 404,
        r=found,
        rated=rated,
        ticket=request.args.get("s", ""),
    )


@bp.post("/receipts/verify")
def receipt_verify() -> Response:
    """Public: is this receipt (the JSON body) genuine and unaltered?"""
    gw = _gateway()
    return json_response(receipts.check(gw.store, gw.signer, json_body()))


@bp.get("/settlements")
def settlement() -> Response:
    """The office's daily settlement (``?date=`` Jalali or ISO; default today in Tehran)."""
    raw = request.args.get("date")
    day = oversight.parse_moment(raw, "date").astimezone(TEHRAN).date() if raw else offices.today()
    return json_response(settlements.daily(_gateway().store, _office().id, day))


def _html(template: str, status: int = 200, **context: object) -> Response:
    body = render_template(template, fa=jalali.persian_digits, rials=jalali.rials, **context)
    return Response(body, status=status, mimetype="text/html")
