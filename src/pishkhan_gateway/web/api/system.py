"""Liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from pishkhan_gateway import __version__
from pishkhan_gateway.pricing import tariffchanges
from pishkhan_gateway.records import collectors
from pishkhan_gateway.store import utcnow
from pishkhan_gateway.web.docs import reference_page
from pishkhan_gateway.web.openapi import document
from pishkhan_gateway.web.operations import PUBLIC, Call, operation
from pishkhan_gateway.web.shapes import array, obj

bp = Blueprint("system", __name__)
TAGS = ("system",)


@operation(
    bp,
    "GET",
    "/metrics",
    summary="Prometheus exposition",
    audience=PUBLIC,
    tags=TAGS,
    response={"type": "string"},
    other_content={"text/plain": "Prometheus text format"},
)
def prometheus(call: Call) -> Response:
    """Prometheus exposition: counters summed over every worker, log figures from the store.
    (Serve it to the scraper only: the front proxy's documented configuration keeps it off
    the public side.)"""
    gw = call.gateway
    body, content_type = collectors.exposition(
        gw.store, gw.witnessing.quorum, gw.witnessing.rollback
    )
    return Response(body, content_type=content_type)


@operation(
    bp,
    "GET",
    "/v1/health",
    summary="Liveness, plugins and breakers",
    audience=PUBLIC,
    tags=TAGS,
    response=obj(
        {
            "status": {"const": "ok"},
            "version": {"type": "string"},
            "plugins": array({"type": "string"}, 1000),
            "plugin_problems": array(obj({"plugin": {}, "error": {}}, extra=True), 1000),
            "agencies": {"type": "object"},
            "services": {"type": "integer"},
            "witnessing": {"type": "object"},
            "tariff_warnings": array(
                obj(
                    {"service": {"type": "string"}, "zero_cap_in": array({"type": "string"})},
                    "service",
                    "zero_cap_in",
                ),
                1000,
            ),
        },
        "status",
        "version",
    ),
)
def health(call: Call) -> Any:
    """Alive; with plugin problems and each agency's breaker state for operators."""
    gw = call.gateway
    states = gw.dispatcher.breaker_states()
    return {
        "status": "ok",
        "version": __version__,
        "plugins": sorted(name for name, _ in gw.plugins.pm.list_name_plugin()),
        "plugin_problems": [{"plugin": p.plugin, "error": p.error} for p in gw.plugins.problems],
        "agencies": {
            name: {"breaker": states.get(name, "closed")} for name in sorted(gw.plugins.agencies)
        },
        "services": len(gw.plugins.services),
        "witnessing": gw.witnessing.status(),
        # payment services offices may charge nothing for: usually a schedule that forgot them
        "tariff_warnings": tariffchanges.zero_priced_payments(
            gw.tariffs, gw.plugins.services, utcnow()
        ),
    }


READY = obj({"status": {"enum": ["ready", "not_ready"]}, "checks": {"type": "object"}}, "status")


@operation(
    bp,
    "GET",
    "/v1/ready",
    summary="Readiness (database and schema)",
    audience=PUBLIC,
    tags=TAGS,
    response=READY,
    responses={503: ("Not ready: a check failed", READY)},
)
def ready(call: Call) -> Any:
    """Ready to serve: the database answers and its schema is current."""
    checks = call.gateway.store.readiness()
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503


@operation(
    bp,
    "GET",
    "/openapi.json",
    summary="This document",
    audience=PUBLIC,
    tags=TAGS,
    response=obj(
        {"openapi": {"type": "string"}, "paths": {"type": "object"}}, "openapi", "paths", extra=True
    ),
)
def openapi(call: Call) -> Any:
    """The OpenAPI 3.1 description of this gateway, generated from its operations' declarations,
    with its installed services' parameter schemas."""
    return document(current_app, call.gateway.plugins.catalog())


@operation(
    bp,
    "GET",
    "/docs",
    summary="The API reference, as a page",
    audience=PUBLIC,
    tags=TAGS,
    response={"type": "string"},
    other_content={"text/html": "the reference rendered from /openapi.json"},
)
def docs(call: Call) -> Response:
    """The API reference rendered from this gateway's own ``/openapi.json`` (no CDN: the page
    and its script are packaged assets)."""
    return reference_page()
