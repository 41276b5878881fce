"""Violation cases over HTTP (DESIGN.md §8): a supervisor opens and decides a case, the office
objects within seven days, the region or regulator rules; agencies report offices; provinces
set working hours; the office's record.

Who may do what is ``regulation/authority.py``; every refusal is ``forbidden`` and recorded
(``denials.py``), every action a log entry, every supervisor's read in the access log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from pishkhan_gateway import errors
from pishkhan_gateway.regulation import hours, officerecord, reports, violations
from pishkhan_gateway.regulation.fines import TYPES
from pishkhan_gateway.web import denials
from pishkhan_gateway.web.operations import (
    OFFICE,
    OFFICE_OR_OVERSEERS,
    OFFICE_OR_SUPERVISORS,
    Call,
    not_theirs,
    operation,
    supervisors_of,
)
from pishkhan_gateway.web.shapes import (
    LOG_INDEX,
    OFFICE_ID,
    PROVINCE,
    REASON,
    RIALS,
    TIME,
    TRANSACTION_ID,
    array,
    nullable,
    obj,
    text,
)

bp = Blueprint("cases", __name__)
OFFICE_TAGS = ("office",)
TAGS = ("supervisors",)
CASE_ID = {"type": "string", "minLength": 1, "maxLength": 64}
ANSWER = obj({"log_index": LOG_INDEX}, extra=True)
EVIDENCE_IDS = array(TRANSACTION_ID, 100, uniqueItems=False)
DECISION = obj(
    {
        "points": {"type": "integer", "minimum": 0, "maximum": 1000},
        "fine": RIALS,
        "reason": REASON,
        "suspend": {"type": "boolean"},
    },
    "points",
    "reason",
)
SPAN = nullable(array(TIME, 2, minItems=2))


@operation(
    bp,
    "POST",
    "/v1/offices/<office_id>/violations/<case_id>/objection",
    summary="Object to a decided violation case (within seven days)",
    audience=OFFICE,
    tags=OFFICE_TAGS,
    path={"office_id": OFFICE_ID, "case_id": CASE_ID},
    body=obj({"text": text(3, 2000)}, "text"),
    response=ANSWER,
    problems=(errors.NotFound, errors.WrongState, errors.ObjectionWindowClosed),
)
@denials.own_record_lookup
def object_to(call: Call) -> Any:
    """The office objects to a decided case (``text``), within seven days of the decision."""
    office = call.the_office()
    not_theirs(office, call.path["office_id"])
    return violations.object_to(
        call.gateway.store, office.id, call.path["case_id"], call.body["text"]
    )


@operation(
    bp,
    "POST",
    "/v1/offices/<office_id>/violations",
    summary="Open a violation case (and decide it at once, with decision)",
    audience=supervisors_of(authority="violation"),
    tags=TAGS,
    path={"office_id": OFFICE_ID},
    body=obj(
        {
            "type": {"enum": list(TYPES)},
            "description": text(3, 2000),
            "transactions": EVIDENCE_IDS,
            "reports": array(CASE_ID, 100),
            "complaint": text(1, 200),
            "decision": DECISION,
        },
        "type",
    ),
    status=201,
    response=ANSWER,
    problems=(errors.NotFound,),
    example={
        "type": "overcharging",
        "description": "charged 80,000 rials over the cap on a bill payment",
        "complaint": "citizen complaint 1404-0012",
    },
)
def open_case(call: Call) -> Any:
    """Open a violation case (province, region or regulator): ``type``, evidence
    (``transactions``, ``complaint``, ``reports``), ``description``; with ``decision``
    (``points``, ``fine``, ``reason``, ``suspend``) decided at once."""
    office_id = call.path["office_id"]
    scope = call.supervisor("violation_open", office=office_id, type=call.body["type"])
    return violations.open_case(call.gateway.store, scope, office_id, dict(call.body))


@operation(
    bp,
    "POST",
    "/v1/offices/<office_id>/violations/<case_id>/decide",
    summary="Decide an open case: points, fine, reason",
    audience=supervisors_of(authority="violation"),
    tags=TAGS,
    path={"office_id": OFFICE_ID, "case_id": CASE_ID},
    body=DECISION,
    response=ANSWER,
    problems=(errors.NotFound, errors.WrongState),
)
def decide_case(call: Call) -> Any:
    """Decide an open case: ``points``, ``fine`` (rials), ``reason``, optional ``suspend``."""
    office_id, case_id = call.path["office_id"], call.path["case_id"]
    scope = call.supervisor("violation_decide", office=office_id, case=case_id)
    return violations.decide(call.gateway.store, scope, office_id, case_id, dict(call.body))


@operation(
    bp,
    "POST",
    "/v1/offices/<office_id>/violations/<case_id>/objection/rule",
    summary="Rule on an office's objection (region or regulator)",
    audience=supervisors_of(authority="rule_objection"),
    tags=TAGS,
    path={"office_id": OFFICE_ID, "case_id": CASE_ID},
    body=obj({"uphold": {"type": "boolean"}, "reason": REASON}, "uphold", "reason"),
    response=ANSWER,
    problems=(errors.NotFound, errors.WrongState),
)
def rule(call: Call) -> Any:
    """Rule on the office's objection: ``uphold`` true (the decision stands) or false."""
    office_id, case_id = call.path["office_id"], call.path["case_id"]
    scope = call.supervisor("objection_rule", office=office_id, case=case_id)
    return violations.rule(
        call.gateway.store, scope, office_id, case_id, call.body["uphold"], call.body["reason"]
    )


@operation(
    bp,
    "POST",
    "/v1/reports",
    summary="An agency reports an office",
    audience=supervisors_of(authority="report"),
    tags=TAGS,
    body=obj(
        {
            "office": OFFICE_ID,
            "subject": {"enum": list(TYPES)},
            "text": text(3, 2000),
            "transactions": EVIDENCE_IDS,
        },
        "office",
        "subject",
        "text",
    ),
    status=201,
    response=ANSWER,
    problems=(errors.NotFound,),
)
def report(call: Call) -> Any:
    """An agency reports an office: ``office``, ``subject`` (a violation type), ``text``,
    ``transactions`` (its own, at that office)."""
    scope = call.supervisor("report", office=call.body["office"])
    return reports.report(call.gateway.store, scope, dict(call.body))


HOURS = obj(
    {"province": {"type": "string"}, "set": {"type": "boolean"}, "days": {"type": "object"}},
    "province",
    "days",
    extra=True,
)


@operation(
    bp,
    "GET",
    "/v1/provinces/<province>/working-hours",
    summary="A province's working hours",
    audience=OFFICE_OR_SUPERVISORS,
    tags=("office", "supervisors"),
    path={"province": PROVINCE},
    response=HOURS,
)
def working_hours(call: Call) -> Any:
    """A province's working hours (to any supervisor and office)."""
    province = call.path["province"]
    if call.caller is not None:
        call.supervisor("working_hours", office=None)
    return {"province": province, **hours.described(hours.hours_of(call.gateway.store, province))}


@operation(
    bp,
    "PUT",
    "/v1/provinces/<province>/working-hours",
    summary="Set a province's working hours (its working group, or the regulator)",
    audience=supervisors_of(authority="working_hours"),
    tags=TAGS,
    path={"province": PROVINCE},
    body=obj(
        {
            "days": {
                "type": "object",
                "propertyNames": {"enum": [str(d) for d in range(7)]},
                "additionalProperties": SPAN,
                "description": "by weekday, 0 = Saturday: [opens, closes], or null (closed)",
            }
        },
        "days",
    ),
    response=HOURS,
    example={"days": {"0": ["08:00", "16:00"], "6": None}},
)
def set_working_hours(call: Call) -> Any:
    """Set a province's working hours: ``{"days": {"0": ["08:00", "16:00"], …, "6": null}}``
    (0 = Saturday)."""
    province = call.path["province"]
    scope = call.supervisor("working_hours_set", province=province)
    return hours.set_hours(call.gateway.store, scope, province, dict(call.body["days"]))


@operation(
    bp,
    "GET",
    "/v1/offices/<office_id>/record",
    summary="The office's record (its overseers in scope, or the office itself)",
    audience=OFFICE_OR_OVERSEERS,
    tags=("office", "supervisors"),
    path={"office_id": OFFICE_ID},
    response=obj({"office": {"type": "object"}}, "office", extra=True),
    problems=(errors.NotFound,),
)
@denials.own_record_lookup
def record(call: Call) -> Any:
    """The office's record: licence and its history, requests, violation cases, points and
    fines, agencies' reports — for a supervisor in scope, or the office itself."""
    office_id = call.path["office_id"]
    scope = None
    if call.office is not None:
        not_theirs(call.office, office_id)
    else:
        scope = call.supervisor("office_record", office=office_id)
    return officerecord.record(call.gateway.store, scope, office_id)
