"""Liveness, readiness, the OpenAPI document and the gateway's public key."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from pishkhan_gateway import __version__, metrics, tariffchanges
from pishkhan_gateway.api.openapi import document
from pishkhan_gateway.api.problem import json_response
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.store import utcnow

bp = Blueprint("system", __name__)


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


@bp.get("/metrics")
def prometheus() -> Response:
    """Prometheus exposition: counters summed over every worker, log figures from the store."""
    gw = _gateway()
    body, content_type = metrics.exposition(gw.store, gw.witnessing.quorum, gw.witnessing.rollback)
    return Response(body, content_type=content_type)


@bp.get("/v1/health")
def health() -> Response:
    """Alive; with plugin problems and each agency's breaker state for operators."""
    gw = _gateway()
    states = gw.dispatcher.breaker_states()
    return json_response(
        {
            "status": "ok",
            "version": __version__,
            "plugins": sorted(name for name, _ in gw.plugins.pm.list_name_plugin()),
            "plugin_problems": [
                {"plugin": p.plugin, "error": p.error} for p in gw.plugins.problems
            ],
            "agencies": {
                name: {"breaker": states.get(name, "closed")}
                for name in sorted(gw.plugins.agencies)
            },
            "services": len(gw.plugins.services),
            "witnessing": gw.witnessing.status(),
            # payment services offices may charge nothing for: usually a schedule that forgot them
            "tariff_warnings": tariffchanges.zero_priced_payments(
                gw.tariffs, gw.plugins.services, utcnow()
            ),
        }
    )


@bp.get("/v1/ready")
def ready() -> Response:
    """Ready to serve: the database answers and its schema is current."""
    checks = _gateway().store.readiness()
    ok = all(v == "ok" for v in checks.values())
    return json_response(
        {"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this gateway, with its installed services."""
    rules = list(current_app.url_map.iter_rules())
    return json_response(document(sorted(_gateway().plugins.services), rules))
