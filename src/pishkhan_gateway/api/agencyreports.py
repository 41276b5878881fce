"""An agency's coverage and availability over HTTP, for supervisors (in scope; an agency
auditor its own agency) and for offices (aggregates only: no transaction, no office, no citizen)
— an outage is a fact every counter can check. Computed by ``oversight/agencies.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, request

from pishkhan_gateway import ids, oversight
from pishkhan_gateway.api import denials
from pishkhan_gateway.api.audit import _supervisor
from pishkhan_gateway.api.problem import json_response
from pishkhan_gateway.errors import Forbidden
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.oversight import agencies
from pishkhan_gateway.oversight.search import parse_moment
from pishkhan_gateway.registry import offices

bp = Blueprint("agencyreports", __name__)


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def _scope(action: str, **details: Any) -> Any:
    """None for an office (``Bearer pgk_…``), else the supervisor's scope (access logged)."""
    header = request.headers.get("Authorization", "")
    if header.split(" ", 1)[-1].strip().lower().startswith(offices.CREDENTIAL_PREFIX + "_"):
        office = offices.authenticate(_gateway().store, header)
        denials.set_actor(office=office.id)
        return None
    return _supervisor(action, **details)


@bp.get("/v1/audit/agencies/<agency>/coverage")
def coverage(agency: str) -> Response:
    """Services declared (with national registry ids), offered (priced), used per Jalali month
    (``months``, default 6), and those below 100 a month."""
    months = ids.index(request.args.get("months", "6"), "months", maximum=24)
    scope = _scope("agency_coverage", agency=agency[:64], months=months)
    gw = _gateway()
    return json_response(agencies.coverage(gw.store, scope, gw.plugins, gw.tariffs, agency, months))


@bp.get("/v1/audit/agencies/<agency>/availability")
def availability(agency: str) -> Response:
    """Per hour in [``from``, ``to``) (Jalali or ISO; default the last 24 hours): calls that
    reached the agency, failures by code, p50/p95 latency."""
    now = dt.datetime.now(dt.UTC)
    raw_from, raw_to = request.args.get("from"), request.args.get("to")
    end = parse_moment(raw_to, "to", end=True) if raw_to else now
    start = parse_moment(raw_from, "from") if raw_from else end - dt.timedelta(hours=24)
    scope = _scope("agency_availability", agency=agency[:64], start=raw_from, end=raw_to)
    return json_response(agencies.availability(_gateway().store, scope, agency, start, end))


@bp.get("/v1/audit/agencies/<agency>/scorecard")
def agency_scorecard(agency: str) -> Response:
    """An agency's traffic, errors and citizens' satisfaction over the last ``days`` (default
    30), for supervisors in scope."""
    days = ids.index(request.args.get("days", "30"), "days", maximum=366)
    scope = _supervisor("agency_scorecard", agency=agency[:64], days=days)
    if scope.role == "agency" and scope.name != agency:
        raise Forbidden("an agency auditor reads its own agency's figures")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=max(days, 1))
    return json_response(
        {"agency": agency, **oversight.scorecard_of_agency(_gateway().store, scope, agency, since)}
    )
