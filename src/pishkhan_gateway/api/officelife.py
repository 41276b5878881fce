"""The office's life over HTTP (DESIGN.md §8): the office's licence and its requests, the
province's recommendations, the regulator's decisions, violation cases and objections, agencies'
reports, working hours, and the office's record.

Who may do what is ``oversight/authority.py``; every refusal is ``forbidden`` and recorded
(``denials.py``), every action a log entry. Supervisors' reads and actions are also in the
access log like every other supervisor request (``audit._supervisor``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from pishkhan_gateway.api import denials
from pishkhan_gateway.api.audit import _supervisor
from pishkhan_gateway.api.problem import json_response, object_body
from pishkhan_gateway.errors import InvalidRequest, NotFound
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.oversight import (
    hours,
    licencestatus,
    lifecycle,
    officerecord,
    reports,
    violations,
)
from pishkhan_gateway.registry import offices

bp = Blueprint("officelife", __name__)
KIND_OF = {"renewal": "renewal", "transfer": "transfer", "relocate": "relocation"}


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def _body() -> dict[str, Any]:
    return object_body()


def _office() -> offices.OfficeView:
    """The office behind the credential (its licence state does not matter here: an office
    whose licence expired must still be able to ask for its renewal)."""
    office = offices.authenticate(_gateway().store, request.headers.get("Authorization"))
    denials.set_actor(office=office.id)
    return office


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name}: true or false", field=name)
    return value


# -- the office ----------------------------------------------------------------------------------


@bp.get("/v1/licence")
def licence() -> Response:
    """The office's licence: expiry, days left, the 90/30/7-day warning, when a renewal may be
    asked for, open requests."""
    office = _office()
    return json_response(licencestatus.licence_status(_gateway().store, office.id))


@bp.post("/v1/licence/renewal")
def ask_renewal() -> Response:
    """The office asks to renew its licence (from three months before it expires)."""
    office = _office()
    return json_response(lifecycle.ask(_gateway().store, office.id, "renewal", {}), 201)


@bp.post("/v1/offices/<office_id>/<any(transfer, relocate):kind>")
@denials.own_record_lookup
def ask_change(office_id: str, kind: str) -> Response:
    """The office asks to transfer its licence (``holder``) or move (``city``, ``address``,
    ``category``)."""
    office = _office()
    if office.id != office_id:
        raise NotFound(f"no office {office_id}")
    result = lifecycle.ask(_gateway().store, office.id, KIND_OF[kind], _body())
    return json_response(result, 201)


@bp.post("/v1/offices/<office_id>/violations/<case_id>/objection")
@denials.own_record_lookup
def object_to(office_id: str, case_id: str) -> Response:
    """The office objects to a decided case (``text``), within seven days of the decision."""
    office = _office()
    if office.id != office_id:
        raise NotFound(f"no office {office_id}")
    body = _body()
    return json_response(
        violations.object_to(_gateway().store, office.id, case_id, str(body.get("text", "")))
    )


# -- the province and the regulator --------------------------------------------------------------


@bp.post("/v1/offices/<office_id>/<any(renewal, transfer, relocate):kind>/recommend")
def recommend(office_id: str, kind: str) -> Response:
    """The province recommends (``support``: true, the default) or advises against an office's
    request, with a ``reason``."""
    body = _body()
    scope = _supervisor(f"{KIND_OF[kind]}_recommend", office=office_id)
    support = _flag(body, "support", True)
    return json_response(
        lifecycle.recommend(
            _gateway().store, scope, office_id, KIND_OF[kind], support, str(body.get("reason", ""))
        )
    )


@bp.post(
    "/v1/offices/<office_id>/<any(renewal, transfer, relocate):kind>/<any(approve, refuse):verdict>"
)
def decide(office_id: str, kind: str, verdict: str) -> Response:
    """The regulator approves or refuses a recommended request (``reason``; a relocation's
    ``effective`` date, Jalali or ISO, default today)."""
    body = _body()
    scope = _supervisor(f"{KIND_OF[kind]}_{verdict}", office=office_id)
    effective = body.get("effective")
    return json_response(
        lifecycle.decide(
            _gateway().store,
            scope,
            office_id,
            KIND_OF[kind],
            verdict == "approve",
            str(body.get("reason", "")),
            str(effective) if effective is not None else None,
        )
    )


@bp.post("/v1/offices/<office_id>/revocation-request")
def revocation_request(office_id: str) -> Response:
    """The province asks the regulator to revoke the licence (``reason``)."""
    body = _body()
    scope = _supervisor("revocation_request", office=office_id)
    return json_response(
        lifecycle.request_revocation(
            _gateway().store, scope, office_id, str(body.get("reason", ""))
        ),
        201,
    )


@bp.post("/v1/offices/<office_id>/violations")
def open_case(office_id: str) -> Response:
    """Open a violation case (province, region or regulator): ``type``, evidence
    (``transactions``, ``complaint``, ``reports``), ``description``; with ``decision``
    (``points``, ``fine``, ``reason``, ``suspend``) decided at once."""
    body = _body()
    scope = _supervisor("violation_open", office=office_id, type=str(body.get("type"))[:32])
    return json_response(violations.open_case(_gateway().store, scope, office_id, body), 201)


@bp.post("/v1/offices/<office_id>/violations/<case_id>/decide")
def decide_case(office_id: str, case_id: str) -> Response:
    """Decide an open case: ``points``, ``fine`` (rials), ``reason``, optional ``suspend``."""
    body = _body()
    scope = _supervisor("violation_decide", office=office_id, case=case_id)
    return json_response(violations.decide(_gateway().store, scope, office_id, case_id, body))


@bp.post("/v1/offices/<office_id>/violations/<case_id>/objection/rule")
def rule(office_id: str, case_id: str) -> Response:
    """Rule on the office's objection (region or regulator): ``uphold`` true or false,
    ``reason``."""
    body = _body()
    scope = _supervisor("objection_rule", office=office_id, case=case_id)
    if "uphold" not in body:
        raise InvalidRequest("uphold: true (the decision stands) or false", field="uphold")
    return json_response(
        violations.rule(
            _gateway().store,
            scope,
            office_id,
            case_id,
            _flag(body, "uphold", True),
            str(body.get("reason", "")),
        )
    )


@bp.post("/v1/reports")
def report() -> Response:
    """An agency reports an office: ``office``, ``subject`` (a violation type), ``text``,
    ``transactions`` (its own, at that office)."""
    body = _body()
    scope = _supervisor("report", office=str(body.get("office"))[:64])
    return json_response(reports.report(_gateway().store, scope, body), 201)


@bp.get("/v1/provinces/<province>/working-hours")
def working_hours(province: str) -> Response:
    """A province's working hours (public to any supervisor and office)."""
    _caller()
    return json_response(
        {"province": province, **hours.described(hours.hours_of(_gateway().store, province))}
    )


@bp.put("/v1/provinces/<province>/working-hours")
def set_working_hours(province: str) -> Response:
    """Set a province's working hours (its working group, or the regulator):
    ``{"days": {"0": ["08:00", "16:00"], …, "6": null}}`` (0 = Saturday)."""
    body = _body()
    scope = _supervisor("working_hours_set", province=province[:64])
    return json_response(hours.set_hours(_gateway().store, scope, province, body.get("days")))


@bp.get("/v1/offices/<office_id>/record")
@denials.own_record_lookup
def record(office_id: str) -> Response:
    """The office's record: licence and its history, requests, violation cases, points and
    fines, agencies' reports — for a supervisor in scope, or the office itself."""
    office, scope = _caller(office_id)
    if office is not None and office.id != office_id:
        raise NotFound(f"no office {office_id}")
    return json_response(officerecord.record(_gateway().store, scope, office_id))


def _caller(office_id: str | None = None) -> tuple[offices.OfficeView | None, Any]:
    """An office (``Bearer pgk_…``) or a supervisor, whichever the credential is."""
    header = request.headers.get("Authorization", "")
    if header.split(" ", 1)[-1].strip().lower().startswith(offices.CREDENTIAL_PREFIX + "_"):
        return _office(), None
    return None, _supervisor("office_record" if office_id else "working_hours", office=office_id)
