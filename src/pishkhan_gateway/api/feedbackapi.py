"""The citizen's voice over HTTP (``oversight/feedback.py``): the receipt's QR page carries a
rating form; this takes what it sends — as a form (the page, answered with a Persian page) or as
JSON — limited per client address (``PISHKHAN_FEEDBACK_LIMIT``).

    POST /v1/receipts/{id}/feedback   s (the QR code's signature prefix), rating 1-5,
                                      complaint?, complaint_type? (overcharging|other)
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from flask import Blueprint, Flask, Response, current_app, render_template, request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pishkhan_gateway.api.problem import json_body, json_response
from pishkhan_gateway.errors import GatewayError, RateLimited
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.oversight import feedback

bp = Blueprint("feedback", __name__)
log = structlog.get_logger(__name__)


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def _limiter(app: Flask) -> tuple[MovingWindowRateLimiter, list[Any]]:
    cached = app.extensions.get("pishkhan_feedback_limiter")
    if cached is None:
        storage = storage_from_string(app.config["RATE_LIMIT_STORAGE"])
        cached = (MovingWindowRateLimiter(storage), parse_many(app.config["FEEDBACK_LIMIT"]))
        app.extensions["pishkhan_feedback_limiter"] = cached
    return cached


def _take_one() -> None:
    limiter, limits = _limiter(current_app)
    client = request.remote_addr or "unknown"
    for limit in limits:
        if not limiter.test(limit, "feedback", client):
            reset = limiter.get_window_stats(limit, "feedback", client).reset_time
            raise RateLimited(
                f"at most {limit} ratings from one address",
                retry_after=max(1, int(reset - time.time()) + 1),
            )
    for limit in limits:
        limiter.hit(limit, "feedback", client)


@bp.post("/v1/receipts/<transaction_id>/feedback")
def give_feedback(transaction_id: str) -> Response:
    """Rate a receipt (and complain), once."""
    as_form = request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
    body: Any = request.form.to_dict() if as_form else json_body()
    if not isinstance(body, dict):
        body = {}
    ticket = str(body.get("s", "")).replace("-", "+").replace("_", "/")
    try:
        _take_one()
        done = feedback.give(_gateway().store, transaction_id[:64], ticket, body)
    except GatewayError as error:
        if not as_form:
            raise
        page = render_template("feedback_done.html", error=error, transaction_id=transaction_id)
        return Response(page, status=error.status, mimetype="text/html")
    _hand_to_agency(done)
    if as_form:
        return Response(render_template("feedback_done.html", done=done), mimetype="text/html")
    return json_response(done, 201)


def _hand_to_agency(done: dict[str, Any]) -> None:
    """``pishkhan_service_rated`` on the service's owner, off the citizen's request."""
    gw = _gateway()
    registered = gw.plugins.service(done["service"] or "")
    if registered is None:
        return
    agency = gw.agency(registered.service.agency)
    gw.background.submit(
        gw.plugins.rated,
        service=registered,
        transaction_id=done["transaction_id"],
        rating=done["rating"],
        complained=done["complaint"],
        agency=agency,
    )
