"""An agency's coverage and availability over HTTP, for supervisors (in scope; an agency
auditor its own agency) and for offices (aggregates only: no transaction, no office, no citizen)
— an outage is a fact every counter can check. Computed by ``records/agencies.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint

from pishkhan_gateway.errors import Forbidden
from pishkhan_gateway.records import agencies, scorecards
from pishkhan_gateway.records.search import parse_moment
from pishkhan_gateway.web.operations import OFFICE_OR_SUPERVISORS, SUPERVISORS, Call, operation
from pishkhan_gateway.web.shapes import MOMENT, obj

bp = Blueprint("agencyreports", __name__)
AGENCY = {"agency": {"type": "string", "minLength": 1, "maxLength": 64}}
FIGURES = obj({"agency": {"type": "string"}}, "agency", extra=True)


def _scope(call: Call, action: str, **details: Any) -> Any:
    """None for an office, else the supervisor's scope (access logged)."""
    return None if call.office is not None else call.supervisor(action, **details)


@operation(
    bp,
    "GET",
    "/v1/audit/agencies/<agency>/coverage",
    summary="An agency's services declared, offered and used",
    audience=OFFICE_OR_SUPERVISORS,
    tags=("office", "supervisors"),
    path=AGENCY,
    query={"months": {"type": "integer", "minimum": 1, "maximum": 24, "default": 6}},
    response=FIGURES,
)
def coverage(call: Call) -> Any:
    """Services declared (with national registry ids), offered (priced), used per Jalali month
    (``months``, default 6), and those below 100 a month."""
    agency, months = call.path["agency"], call.query.get("months", 6)
    scope = _scope(call, "agency_coverage", agency=agency, months=months)
    gw = call.gateway
    return agencies.coverage(gw.store, scope, gw.plugins, gw.tariffs, agency, months)


@operation(
    bp,
    "GET",
    "/v1/audit/agencies/<agency>/availability",
    summary="An agency's availability per hour",
    audience=OFFICE_OR_SUPERVISORS,
    tags=("office", "supervisors"),
    path=AGENCY,
    query={"from": MOMENT, "to": MOMENT},
    response=FIGURES,
)
def availability(call: Call) -> Any:
    """Per hour in [``from``, ``to``) (Jalali or ISO; default the last 24 hours): calls that
    reached the agency, failures by code, p50/p95 latency."""
    agency = call.path["agency"]
    now = dt.datetime.now(dt.UTC)
    raw_from, raw_to = call.query.get("from"), call.query.get("to")
    end = parse_moment(raw_to, "to", end=True) if raw_to else now
    start = parse_moment(raw_from, "from") if raw_from else end - dt.timedelta(hours=24)
    scope = _scope(call, "agency_availability", agency=agency, start=raw_from, end=raw_to)
    return agencies.availability(call.gateway.store, scope, agency, start, end)


@operation(
    bp,
    "GET",
    "/v1/audit/agencies/<agency>/scorecard",
    summary="An agency's traffic, errors and citizens' satisfaction",
    audience=SUPERVISORS,
    tags=("supervisors",),
    path=AGENCY,
    query={"days": {"type": "integer", "minimum": 0, "maximum": 366, "default": 30}},
    response=FIGURES,
)
def agency_scorecard(call: Call) -> Any:
    """An agency's traffic, errors and citizens' satisfaction over the last ``days`` (default
    30), for supervisors in scope (an agency auditor, its own agency)."""
    agency, days = call.path["agency"], call.query.get("days", 30)
    scope = call.supervisor("agency_scorecard", agency=agency, days=days)
    if scope.role == "agency" and scope.name != agency:
        raise Forbidden("an agency auditor reads its own agency's figures")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=max(days, 1))
    return {
        "agency": agency,
        **scorecards.scorecard_of_agency(call.gateway.store, scope, agency, since),
    }
