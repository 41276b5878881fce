"""The citizen's voice over HTTP (``citizens/feedback.py``): the receipt's QR page carries a
rating form; this takes what it sends — as a form (the page, answered with a Persian page) or as
JSON — limited per client address (``PISHKHAN_FEEDBACK_LIMIT``)."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response, render_template

from pishkhan_gateway import errors
from pishkhan_gateway.citizens import feedback
from pishkhan_gateway.errors import GatewayError
from pishkhan_gateway.web.operations import PUBLIC, Call, operation
from pishkhan_gateway.web.publiclimits import take_one
from pishkhan_gateway.web.shapes import LOG_INDEX, TRANSACTION_ID, obj, text

bp = Blueprint("feedback", __name__)
log = structlog.get_logger(__name__)


@operation(
    bp,
    "POST",
    "/v1/receipts/<transaction_id>/feedback",
    summary="Rate a receipt (and complain), once",
    audience=PUBLIC,
    tags=("citizens",),
    path={"transaction_id": TRANSACTION_ID},
    forms=True,
    body=obj(
        {
            "s": {"type": "string", "minLength": 8, "maxLength": 200},
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "complaint": text(0, 1000),
            "complaint_type": {"enum": list(feedback.COMPLAINT_TYPES)},
        },
        "s",
        "rating",
    ),
    status=201,
    response=obj(
        {
            "transaction_id": TRANSACTION_ID,
            "rating": {"type": "integer"},
            "complaint": {"type": "boolean"},
            "log_index": LOG_INDEX,
        },
        "transaction_id",
        "rating",
        extra=True,
    ),
    problems=(errors.NotFound, errors.FeedbackAlreadyGiven, errors.RateLimited),
    other_content={"text/html": "when sent as the QR page's form: a Persian page"},
    example={
        "s": "q1w2e3r4t5y6",
        "rating": 2,
        "complaint": "کارمزد بیشتر از تعرفه گرفتند",
        "complaint_type": "overcharging",
    },
)
def give_feedback(call: Call) -> Any:
    """Rate a receipt (``s``: the QR code's signature prefix; ``rating`` 1-5; a
    ``complaint`` and its ``complaint_type``), once."""
    transaction_id = call.path["transaction_id"]
    ticket = str(call.body.get("s", "")).replace("-", "+").replace("_", "/")
    try:
        take_one("FEEDBACK_LIMIT", "feedback", "ratings")
        done = feedback.give(call.gateway.store, transaction_id, ticket, dict(call.body))
    except GatewayError as error:
        if not call.form:
            raise
        page = render_template("feedback_done.html", error=error, transaction_id=transaction_id)
        return Response(page, status=error.status, mimetype="text/html")
    _hand_to_agency(call, done)
    if call.form:
        return Response(render_template("feedback_done.html", done=done), mimetype="text/html")
    return done


def _hand_to_agency(call: Call, done: dict[str, Any]) -> None:
    """``pishkhan_service_rated`` on the service's owner, off the citizen's request."""
    gw = call.gateway
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
