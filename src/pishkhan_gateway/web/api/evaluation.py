"""The evaluation and ranking over HTTP (``regulation/evaluation.py``, ``regulation/ranking.py``):
the regulator opens one, offices declare, regions review and rule on objections, the regulator
publishes; offices read their own province's ranking and their place in it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from pishkhan_gateway import errors
from pishkhan_gateway.errors import Forbidden, InvalidRequest, NotFound
from pishkhan_gateway.registry.offices import CATEGORIES
from pishkhan_gateway.regulation import evaluation
from pishkhan_gateway.regulation.ranking import ASSOCIATION_MAX, DECLARED
from pishkhan_gateway.web.operations import (
    OFFICE,
    OFFICE_OR_SUPERVISORS,
    Call,
    operation,
    supervisors_of,
)
from pishkhan_gateway.web.shapes import (
    JALALI_DATE,
    LOG_INDEX,
    OFFICE_ID,
    PROVINCE,
    REASON,
    array,
    nullable,
    obj,
    text,
)

bp = Blueprint("evaluation", __name__)
TAGS = ("supervisors",)
EVALUATION_ID = {"type": "string", "minLength": 1, "maxLength": 40}
PATH = {"evaluation_id": EVALUATION_ID}
INDICATORS: dict[str, Any] = {
    name: ({"type": "boolean"} if name == "accessibility" else {"type": "integer"})
    | ({} if name == "accessibility" else {"minimum": low, "maximum": high})
    for name, (low, high, _points) in DECLARED.items()
}
ASSOCIATION = {"type": "integer", "minimum": 0, "maximum": ASSOCIATION_MAX}
EVALUATION = obj(
    {
        "id": {"type": ["string", "integer"]},
        "name": {"type": "string"},
        "windows": {"type": "object"},
        "window_now": {"type": "string"},
        "published": {"type": "boolean"},
    },
    "id",
    "window_now",
    extra=True,
)
ANSWER = obj({"evaluation": {"type": ["string", "integer"]}, "log_index": LOG_INDEX}, extra=True)


def _installed(call: Call) -> int:
    return len(call.gateway.plugins.catalog())


@operation(
    bp,
    "POST",
    "/v1/evaluations",
    summary="Open an evaluation (the regulator)",
    audience=supervisors_of("regulator"),
    tags=TAGS,
    body=obj(
        {
            "name": text(3, 200),
            "period_from": JALALI_DATE,
            "period_to": JALALI_DATE,
            "opens": JALALI_DATE,
            "windows": obj(
                {w: {"type": "integer", "minimum": 1, "maximum": 60} for w in evaluation.WINDOWS}
            ),
        },
        "name",
        "period_from",
        "period_to",
    ),
    status=201,
    response=EVALUATION,
    example={"name": "ارزیابی ۱۴۰۴", "period_from": "1404-01-01", "period_to": "1404-12-29"},
)
def open_evaluation(call: Call) -> Any:
    """The regulator opens an evaluation: ``name``, the activity measured
    (``period_from``–``period_to``), ``opens`` (default today) and ``windows`` (days)."""
    scope = call.supervisor("evaluation_open", name=call.body["name"][:200])
    return evaluation.open_evaluation(call.gateway.store, scope, dict(call.body))


@operation(
    bp,
    "GET",
    "/v1/evaluations",
    summary="Every evaluation with its windows",
    audience=OFFICE_OR_SUPERVISORS,
    tags=("office", "supervisors"),
    response=obj({"evaluations": array(EVALUATION, 10_000)}, "evaluations"),
)
def list_evaluations(call: Call) -> Any:
    """Every evaluation with its windows (offices and supervisors)."""
    if call.caller is not None:
        call.supervisor("evaluations_read")
    return {"evaluations": evaluation.listing(call.gateway.store)}


def _open_for_declaration(call: Call, wanted: str | None) -> str:
    """The evaluation an office declares to: the one named, else the one whose declaration (or
    correction) window is open."""
    if wanted:
        return wanted
    for found in evaluation.listing(call.gateway.store):
        if found["window_now"] in ("declaration", "correction"):
            return str(found["id"])
    raise NotFound("no evaluation is open for declarations")


@operation(
    bp,
    "PUT",
    "/v1/evaluation/declaration",
    summary="Declare the office's indicators",
    audience=OFFICE,
    tags=("office",),
    body=obj(
        {**INDICATORS, "evaluation": EVALUATION_ID}, *(n for n in INDICATORS if n != "evaluation")
    ),
    response=ANSWER,
    problems=(errors.NotFound, errors.EvaluationWindowClosed),
    example={
        "floor_space_m2": 80,
        "staff": 4,
        "accessibility": True,
        "experience_years": 6,
        "equipment": 12,
    },
)
def declare(call: Call) -> Any:
    """The office declares its indicators (``evaluation`` names one; default the open one)."""
    office = call.the_office()
    body = dict(call.body)
    chosen = _open_for_declaration(call, body.pop("evaluation", None))
    return evaluation.declare(call.gateway.store, office.id, chosen, body)


@operation(
    bp,
    "GET",
    "/v1/evaluation",
    summary="The office's place in the newest published ranking",
    audience=OFFICE,
    tags=("office",),
    response=obj({"office": OFFICE_ID, "rank": nullable({"type": "object"})}, "office", "rank"),
)
def my_evaluation(call: Call) -> Any:
    """The office's place in the newest published ranking (null before the first)."""
    office = call.the_office()
    return {"office": office.id, "rank": evaluation.rank_of(call.gateway.store, office.id)}


@operation(
    bp,
    "POST",
    "/v1/evaluations/<evaluation_id>/offices/<office_id>/review",
    name="review_declaration",
    summary="Review one office's declaration (region or regulator)",
    audience=supervisors_of(authority="evaluate"),
    tags=TAGS,
    path={**PATH, "office_id": OFFICE_ID},
    body=obj(
        {
            "indicators": obj(INDICATORS),
            "association_score": ASSOCIATION,
            "refer": {"type": "boolean"},
            "note": text(0, 2000),
        }
    ),
    response=ANSWER,
    problems=(errors.NotFound, errors.EvaluationWindowClosed),
)
def review(call: Call) -> Any:
    """The region reviews one office's declaration: corrected ``indicators``, the provincial
    association's score, and ``refer`` to send it back for correction."""
    evaluation_id, office_id = call.path["evaluation_id"], call.path["office_id"]
    scope = call.supervisor("evaluation_review", evaluation=evaluation_id, office=office_id)
    return evaluation.review(call.gateway.store, scope, evaluation_id, office_id, dict(call.body))


@operation(
    bp,
    "POST",
    "/v1/evaluations/<evaluation_id>/objection",
    name="object_to_evaluation",
    summary="Object to the office's result (in the objection window)",
    audience=OFFICE,
    tags=("office",),
    path=PATH,
    body=obj({"text": text(3, 2000)}, "text"),
    response=ANSWER,
    problems=(errors.NotFound, errors.EvaluationWindowClosed, errors.WrongState),
)
def object_to(call: Call) -> Any:
    """The office objects to its result."""
    office = call.the_office()
    return evaluation.object_to(
        call.gateway.store, office.id, call.path["evaluation_id"], call.body["text"]
    )


@operation(
    bp,
    "POST",
    "/v1/evaluations/<evaluation_id>/offices/<office_id>/objection/rule",
    name="rule_on_evaluation_objection",
    summary="Rule on an office's objection (region or regulator)",
    audience=supervisors_of(authority="evaluate"),
    tags=TAGS,
    path={**PATH, "office_id": OFFICE_ID},
    body=obj(
        {
            "uphold": {"type": "boolean"},
            "reason": REASON,
            "indicators": obj(INDICATORS),
            "association_score": ASSOCIATION,
        },
        "reason",
    ),
    response=ANSWER,
    problems=(errors.NotFound, errors.WrongState),
)
def rule(call: Call) -> Any:
    """The region rules on an office's objection: ``uphold``, or corrected ``indicators`` /
    ``association_score``, with a ``reason``."""
    evaluation_id, office_id = call.path["evaluation_id"], call.path["office_id"]
    scope = call.supervisor("evaluation_objection_rule", evaluation=evaluation_id, office=office_id)
    return evaluation.rule(call.gateway.store, scope, evaluation_id, office_id, dict(call.body))


@operation(
    bp,
    "GET",
    "/v1/evaluations/<evaluation_id>/ranking",
    summary="The ranking of one province (and category)",
    audience=OFFICE_OR_SUPERVISORS,
    tags=("office", "supervisors"),
    path=PATH,
    query={"province": PROVINCE, "category": {"enum": list(CATEGORIES)}},
    response=obj({"province": {"type": "string"}}, extra=True),
    problems=(errors.NotFound,),
)
def ranking(call: Call) -> Any:
    """The ranking of one province (and category): supervisors in scope name the province;
    an office reads its own province's."""
    evaluation_id = call.path["evaluation_id"]
    province = call.query.get("province", "")
    if call.office is not None:
        if province and province != call.office.province:
            raise Forbidden("an office reads its own province's ranking")
        province = call.office.province
    else:
        scope = call.supervisor("evaluation_ranking", evaluation=evaluation_id, province=province)
        if not province:
            raise InvalidRequest("name the province", field="province")
        if scope.role == "agency" or not scope.oversees(province):
            raise Forbidden(f"{province} is outside your scope ({scope.label})")
    return evaluation.results(
        call.gateway.store, evaluation_id, province, call.query.get("category"), _installed(call)
    )


@operation(
    bp,
    "POST",
    "/v1/evaluations/<evaluation_id>/publish",
    name="publish_ranking",
    summary="Publish the final ranking (the regulator)",
    audience=supervisors_of("regulator"),
    tags=TAGS,
    path=PATH,
    response=ANSWER,
    problems=(errors.NotFound, errors.EvaluationWindowClosed, errors.WrongState),
)
def publish(call: Call) -> Any:
    """The regulator publishes the final ranking, after the objection window."""
    evaluation_id = call.path["evaluation_id"]
    scope = call.supervisor("evaluation_publish", evaluation=evaluation_id)
    return evaluation.publish(call.gateway.store, scope, evaluation_id, _installed(call))
