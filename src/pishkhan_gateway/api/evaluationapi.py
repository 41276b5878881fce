"""The evaluation and ranking over HTTP (``oversight/evaluation.py``, ``oversight/ranking.py``).

POST /v1/evaluations                                   regulator: open one (period, windows)
GET  /v1/evaluations                                   anyone signed in: the evaluations
PUT  /v1/evaluation/declaration                        office: its indicators
GET  /v1/evaluation                                    office: its entry and place
POST /v1/evaluations/{id}/offices/{office}/review      region or regulator
POST /v1/evaluations/{id}/objection                    office, in the objection window
POST /v1/evaluations/{id}/offices/{office}/objection/rule   region or regulator
GET  /v1/evaluations/{id}/ranking?province=&category=  supervisors in scope; an office, its
                                                       own province
POST /v1/evaluations/{id}/publish                      regulator, after the objection window
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from pishkhan_gateway.api.audit import _supervisor
from pishkhan_gateway.api.officelife import _body, _office
from pishkhan_gateway.api.problem import json_response
from pishkhan_gateway.errors import Forbidden, InvalidRequest, NotFound
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.oversight import evaluation
from pishkhan_gateway.registry import offices

bp = Blueprint("evaluation", __name__)


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def _is_office() -> bool:
    header = request.headers.get("Authorization", "")
    return header.split(" ", 1)[-1].strip().lower().startswith(offices.CREDENTIAL_PREFIX + "_")


def _installed() -> int:
    return len(_gateway().plugins.catalog())


def _open_for_declaration(office_id: str, wanted: str | None) -> str:
    """The evaluation an office declares to: the one named, else the one whose declaration (or
    correction) window is open."""
    if wanted:
        return wanted
    for found in evaluation.listing(_gateway().store):
        if found["window_now"] in ("declaration", "correction"):
            return str(found["id"])
    raise NotFound("no evaluation is open for declarations")


@bp.post("/v1/evaluations")
def open_evaluation() -> Response:
    """The regulator opens an evaluation."""
    body = _body()
    scope = _supervisor("evaluation_open", name=str(body.get("name"))[:200])
    return json_response(evaluation.open_evaluation(_gateway().store, scope, body), 201)


@bp.get("/v1/evaluations")
def list_evaluations() -> Response:
    """Every evaluation with its windows (offices and supervisors)."""
    if _is_office():
        _office()
    else:
        _supervisor("evaluations_read")
    return json_response({"evaluations": evaluation.listing(_gateway().store)})


@bp.put("/v1/evaluation/declaration")
def declare() -> Response:
    """The office declares its indicators (``evaluation`` names one; default the open one)."""
    office = _office()
    body = _body()
    wanted = body.pop("evaluation", None)
    chosen = _open_for_declaration(office.id, str(wanted) if wanted else None)
    return json_response(evaluation.declare(_gateway().store, office.id, chosen, body))


@bp.get("/v1/evaluation")
def my_evaluation() -> Response:
    """The office's place in the newest published ranking."""
    office = _office()
    return json_response(
        {"office": office.id, "rank": evaluation.rank_of(_gateway().store, office.id)}
    )


@bp.post("/v1/evaluations/<evaluation_id>/offices/<office_id>/review")
def review(evaluation_id: str, office_id: str) -> Response:
    """The region reviews one office's declaration."""
    body = _body()
    scope = _supervisor("evaluation_review", evaluation=evaluation_id[:40], office=office_id[:64])
    return json_response(evaluation.review(_gateway().store, scope, evaluation_id, office_id, body))


@bp.post("/v1/evaluations/<evaluation_id>/objection")
def object_to(evaluation_id: str) -> Response:
    """The office objects to its result."""
    office = _office()
    text = _body().get("text")
    return json_response(evaluation.object_to(_gateway().store, office.id, evaluation_id, text))


@bp.post("/v1/evaluations/<evaluation_id>/offices/<office_id>/objection/rule")
def rule(evaluation_id: str, office_id: str) -> Response:
    """The region rules on an office's objection."""
    body = _body()
    scope = _supervisor(
        "evaluation_objection_rule", evaluation=evaluation_id[:40], office=office_id[:64]
    )
    return json_response(evaluation.rule(_gateway().store, scope, evaluation_id, office_id, body))


@bp.get("/v1/evaluations/<evaluation_id>/ranking")
def ranking(evaluation_id: str) -> Response:
    """The ranking of one province (and category)."""
    province = request.args.get("province", "")[:80]
    category = request.args.get("category") or None
    if _is_office():
        office = _office()
        if province and province != office.province:
            raise Forbidden("an office reads its own province's ranking")
        province = office.province
    else:
        scope = _supervisor("evaluation_ranking", evaluation=evaluation_id[:40], province=province)
        if not province:
            raise InvalidRequest("name the province", field="province")
        if scope.role == "agency" or not scope.oversees(province):
            raise Forbidden(f"{province} is outside your scope ({scope.label})")
    return json_response(
        evaluation.results(_gateway().store, evaluation_id, province, category, _installed())
    )


@bp.post("/v1/evaluations/<evaluation_id>/publish")
def publish(evaluation_id: str) -> Response:
    """The regulator publishes the final ranking."""
    scope = _supervisor("evaluation_publish", evaluation=evaluation_id[:40])
    return json_response(evaluation.publish(_gateway().store, scope, evaluation_id, _installed()))
