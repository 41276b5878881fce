"""Receipts: the office's signed receipt and its offline bundle, and the public check a
receipt's QR code opens (a Persian page for the citizen's phone, or JSON)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from pishkhan_gateway import errors
from pishkhan_gateway.citizens import feedback, receipts
from pishkhan_gateway.errors import NotFound
from pishkhan_gateway.records import bundles, history
from pishkhan_gateway.web import denials
from pishkhan_gateway.web.operations import OFFICE, PUBLIC, Call, operation
from pishkhan_gateway.web.page import page
from pishkhan_gateway.web.shapes import RECEIPT, TRANSACTION_ID, array, nullable, obj

bp = Blueprint("receipts", __name__, url_prefix="/v1")
TAGS = ("counter",)
PATH = {"transaction_id": TRANSACTION_ID}


@operation(
    bp,
    "GET",
    "/receipts/<transaction_id>",
    summary="The signed receipt of one of the office's transactions",
    audience=OFFICE,
    tags=TAGS,
    path=PATH,
    query={"format": {"enum": ["json", "html"]}},
    response=RECEIPT,
    problems=(errors.NotFound,),
    other_content={"text/html": "with ?format=html: the printable receipt with its QR code"},
)
@denials.own_record_lookup
def receipt(call: Call) -> Any:
    """The signed receipt of one of the office's transactions (``?format=html``: printable)."""
    transaction_id = call.path["transaction_id"]
    found = history.get(
        call.gateway.store, call.gateway.vault, call.the_office().id, transaction_id
    )
    if found is None or found["receipt"] is None:
        raise NotFound(f"no receipt for {transaction_id} at this office")
    signed = found["receipt"]
    if call.query.get("format") == "html":
        url = receipts.check_url(request.host_url, signed)
        return page("receipt.html", r=signed, qr=receipts.qr_svg(url))
    return signed


@operation(
    bp,
    "GET",
    "/receipts/<transaction_id>/bundle",
    summary="The receipt with everything needed to verify it offline",
    audience=OFFICE,
    tags=TAGS,
    path=PATH,
    response=obj(
        {
            "format": {"type": "string"},
            "receipt": RECEIPT,
            "log_index": {"type": "integer"},
            "entry": {"type": "string", "contentEncoding": "base64"},
            "tree_size": {"type": "integer"},
            "inclusion_proof": array({"type": "string"}, 64),
            "checkpoint": {"type": "string"},
        },
        "receipt",
        "inclusion_proof",
        "checkpoint",
        extra=True,
    ),
    problems=(errors.NotFound, errors.NotSealedYet),
)
@denials.own_record_lookup
def receipt_bundle(call: Call) -> Any:
    """The receipt with its log entry, inclusion proof and (cosigned) checkpoint: verifiable
    offline with ``tools/verify_bundle.py`` and pinned keys."""
    return bundles.bundle(call.gateway, call.the_office().id, call.path["transaction_id"])


CHECKED = obj({"valid": {"type": "boolean"}, "receipt": nullable(RECEIPT)}, "valid", extra=True)


def _prefers_html(accept: str | None) -> bool:
    """A browser asks for text/html above JSON; an API client (or ``*/*``) gets JSON."""
    offered = parse_accept_header(accept or "", MIMEAccept)
    return offered.best_match(["application/json", "text/html"]) == "text/html"


@operation(
    bp,
    "GET",
    "/receipts/<transaction_id>/check",
    summary="What a receipt's QR code opens: is it genuine?",
    audience=PUBLIC,
    tags=("citizens",),
    path=PATH,
    query={
        "s": {"type": "string", "maxLength": 200, "description": "the signature's prefix"},
        "format": {"enum": ["json", "html"]},
    },
    response=CHECKED,
    responses={404: ("Not a genuine receipt", CHECKED)},
    other_content={
        "text/html": "the Persian page a citizen's phone opens: when the client prefers "
        "text/html (a browser's Accept) and ?format is not json"
    },
)
def receipt_check(call: Call) -> Any:
    """Public: what the receipt's QR code opens. Genuine receipts show their amounts."""
    transaction_id = call.path["transaction_id"]
    given = call.query.get("s", "")
    prefix = given.replace("-", "+").replace("_", "/")
    found = receipts.check_by_prefix(call.gateway.store, transaction_id, prefix)
    if call.query.get("format") == "json" or (
        call.query.get("format") is None and not _prefers_html(call.header("Accept"))
    ):
        return {"valid": found is not None, "receipt": found}, 200 if found else 404
    rated = found is not None and feedback.given(call.gateway.store, transaction_id)
    return page(
        "receipt_check.html", status=200 if found else 404, r=found, rated=rated, ticket=given
    )


@operation(
    bp,
    "POST",
    "/receipts/verify",
    summary="Is this receipt genuine and unaltered?",
    audience=PUBLIC,
    tags=("citizens",),
    body={**RECEIPT, "additionalProperties": True, "required": []},
    response=obj({"valid": {"type": "boolean"}, "reason": {"type": "string"}}, "valid", extra=True),
)
def receipt_verify(call: Call) -> Any:
    """Public: is this receipt (the JSON body, as the office printed or sent it) genuine?"""
    gw = call.gateway
    return receipts.check(gw.store, gw.signer, dict(call.body))
