"""Entitlements over HTTP (``regulation/entitlementrules.py``): the regulator and the provincial
working groups set which offices may sell a service; supervisors in scope read the rules.

    PUT /v1/entitlements  {"service", "office_types": [...]|null, "categories": [...]|null,
                           "max_rank": N|null, "reason", "scope"?}
                          regulator (any scope) or province (its own)
    GET /v1/entitlements  the rules the supervisor oversees

Other workers see a change within ``PISHKHAN_TARIFF_CACHE_SECONDS`` (the rules are cached like
the tariff)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from pishkhan_gateway.registry.offices import CATEGORIES, OFFICE_TYPES
from pishkhan_gateway.regulation import entitlementrules as entitlements
from pishkhan_gateway.web.operations import Call, operation, supervisors_of
from pishkhan_gateway.web.shapes import REASON, SERVICE_ID, TARIFF_SCOPE, array, nullable, obj

bp = Blueprint("entitlements", __name__)
TAGS = ("supervisors",)
RULE = obj({"service": {"type": "string"}, "scope": {"type": "string"}}, extra=True)


@operation(
    bp,
    "PUT",
    "/v1/entitlements",
    summary="Set or clear which offices may sell a service",
    audience=supervisors_of("regulator", "province"),
    tags=TAGS,
    body=obj(
        {
            "service": SERVICE_ID,
            "office_types": nullable(array({"enum": list(OFFICE_TYPES)}, 10)),
            "categories": nullable(array({"enum": list(CATEGORIES)}, 10)),
            "max_rank": nullable({"type": "integer", "minimum": 1, "maximum": 100_000}),
            "reason": REASON,
            "scope": TARIFF_SCOPE,
        },
        "service",
        "reason",
    ),
    response=RULE,
    example={
        "service": "insurance.health.register",
        "office_types": ["pishkhan"],
        "categories": None,
        "max_rank": None,
        "reason": "the agency's contract names counters with a nurse's desk",
    },
)
def set_entitlement(call: Call) -> Any:
    """Set or (office_types, categories and max_rank all null) clear the rule for one service:
    the regulator in any scope, a province's working group its own."""
    gw = call.gateway
    scope = call.supervisor("entitlement_set", service=call.body["service"])
    services = {s.service.id for s in gw.plugins.catalog()}
    done = entitlements.set_rule(gw.store, scope, services, dict(call.body))
    gw.entitlements.forget()
    return done


@operation(
    bp,
    "GET",
    "/v1/entitlements",
    summary="The entitlement rules this supervisor oversees",
    audience=supervisors_of(),
    tags=TAGS,
    response=obj({"entitlements": array(RULE, 10_000)}, "entitlements"),
)
def list_entitlements(call: Call) -> Any:
    """The rules this supervisor oversees."""
    scope = call.supervisor("entitlements_read")
    return {"entitlements": entitlements.listing(call.gateway.entitlements.rules(), scope)}
