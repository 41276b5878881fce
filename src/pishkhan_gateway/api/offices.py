"""The counter's API: one transaction endpoint, the catalog, and the office's own history."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from pishkhan_gateway import history, merkle, offices
from pishkhan_gateway.api.problem import PROBLEM, json_response
from pishkhan_gateway.errors import InvalidRequest, NotFound, NotSealedYet
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.pipeline import Submission, submit
from pishkhan_gateway.sealer import latest_head, node_lookup
from pishkhan_gateway.store import utcnow
from pishkhan_gateway.store.tables import LogEntry

bp = Blueprint("offices", __name__, url_prefix="/v1")


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def _office() -> offices.OfficeView:
    """Reads need the office credential only (a suspended office may still read its history)."""
    return offices.authenticate(_gateway().store, request.headers.get("Authorization"))


@bp.post("/transactions")
def create_transaction() -> Response:
    """Run a counter transaction; every outcome is recorded before this returns."""
    reply = submit(
        _gateway(),
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


@bp.get("/transactions/<transaction_id>")
def get_transaction(transaction_id: str) -> Response:
    """One of the office's own transactions (404 for anyone else's)."""
    found = history.get(_gateway().store, _office().id, transaction_id)
    if found is None:
        raise NotFound(f"no transaction {transaction_id} for this office")
    return json_response(found)


@bp.get("/transactions/<transaction_id>/proof")
def transaction_proof(transaction_id: str) -> Response:
    """The inclusion proof of one of the office's transactions in the latest signed tree."""
    gw = _gateway()
    found = history.get(gw.store, _office().id, transaction_id)
    if found is None:
        raise NotFound(f"no transaction {transaction_id} for this office")
    with gw.store.read() as session:
        head = latest_head(session)
    if head is None or head.tree_size <= found["log_index"]:
        head = gw.sealer.seal_all() or head  # not sealed yet: seal now rather than make it wait
    if head is None or head.tree_size <= found["log_index"]:
        error = NotSealedYet()
        error.headers = {"Retry-After": "1"}
        raise error
    with gw.store.read() as session:
        path = merkle.inclusion_path(node_lookup(session), found["log_index"], head.tree_size)
        entry = session.scalar(select(LogEntry.entry).where(LogEntry.index == found["log_index"]))
    return json_response(
        {
            "transaction_id": transaction_id,
            "log_index": found["log_index"],
            "leaf_hash": merkle.leaf_hash(bytes(entry)).hex(),
            "entry": base64.b64encode(bytes(entry)).decode(),
            "audit_path": [p.hex() for p in path],
            "tree_head": head.document,
        }
    )


@bp.get("/transactions")
def list_transactions() -> Response:
    """The office's own history, newest first, paged by ``cursor``."""
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError:
        raise InvalidRequest("limit must be a number", field="limit") from None
    return json_response(
        history.page(
            _gateway().store,
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
    gw = _gateway()
    office = _office()
    now = utcnow()
    schedule = gw.tariffs.in_force(now)
    items = []
    for registered in gw.plugins.catalog():
        service = registered.service
        agency = gw.plugins.agencies[service.agency]
        items.append(
            {
                "id": service.id,
                "agency": service.agency,
                "agency_title_fa": agency.title_fa,
                "agency_title_en": agency.title_en,
                "title_fa": service.title_fa,
                "title_en": service.title_en,
                "kind": service.kind,
                "identity_level": service.identity_level,
                "params_schema": service.params_schema,
                "fee_cap": schedule.cap(service.id, office.category) if schedule else 0,
            }
        )
    return json_response(
        {
            "services": items,
            "tariff_schedule": (
                {"name": schedule.name, "effective": schedule.effective_jalali}
                if schedule
                else None
            ),
        }
    )
