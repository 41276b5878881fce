"""Entitlements over HTTP (``oversight/entitlements.py``): the regulator and the provincial
working groups set which offices may sell a service; supervisors in scope read the rules.

    PUT /v1/entitlements  {"service", "office_types": [...]|null, "categories": [...]|null,
                           "max_rank": N|null, "reason", "scope"?}
                          regulator (any scope) or province (its own)
    GET /v1/entitlements  the rules the supervisor oversees

Other workers see a change within ``PISHKHAN_TARIFF_CACHE_SECONDS`` (the rules are cached like
the tariff)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from pishkhan_gateway.api.audit import _supervisor
from pishkhan_gateway.api.problem import json_body, json_response
from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.oversight import entitlements

bp = Blueprint("entitlements", __name__)


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


@bp.put("/v1/entitlements")
def set_entitlement() -> Response:
    """Set or (office_types, categories and max_rank all null) clear the rule for one service."""
    gw = _gateway()
    body = json_body()
    if not isinstance(body, dict):
        _supervisor("entitlement_set")
        raise InvalidRequest("send the rule as a JSON object")
    scope = _supervisor("entitlement_set", service=str(body.get("service"))[:128])
    services = {s.service.id for s in gw.plugins.catalog()}
    done = entitlements.set_rule(gw.store, scope, services, body)
    gw.entitlements.forget()
    return json_response(done)


@bp.get("/v1/entitlements")
def list_entitlements() -> Response:
    """The rules this supervisor oversees."""
    scope = _supervisor("entitlements_read")
    return json_response({"entitlements": entitlements.listing(_gateway().entitlements, scope)})
