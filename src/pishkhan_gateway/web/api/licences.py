"""An office's licence over HTTP (DESIGN.md §8): the office reads it and asks for renewal,
transfer or relocation; its province recommends, the regulator decides; a province asks for a
revocation; the regulator (or for a suspension the province) suspends, reinstates, revokes.

Who may do what is ``regulation/authority.py`` (the declarations name its actions); every
refusal is ``forbidden`` and recorded (``denials.py``), every action a log entry.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from pishkhan_gateway import errors
from pishkhan_gateway.registry.offices import CATEGORIES
from pishkhan_gateway.regulation import licences as licence_actions
from pishkhan_gateway.regulation import licencestatus, lifecycle
from pishkhan_gateway.web import denials
from pishkhan_gateway.web.operations import OFFICE, Call, not_theirs, operation, supervisors_of
from pishkhan_gateway.web.shapes import LOG_INDEX, MOMENT, OFFICE_ID, REASON, obj, text

bp = Blueprint("licences", __name__)
KIND_OF = {"renewal": "renewal", "transfer": "transfer", "relocate": "relocation"}
OFFICE_TAGS = ("office",)
TAGS = ("supervisors",)
ANSWER = obj({"log_index": LOG_INDEX}, extra=True)


# -- the office ----------------------------------------------------------------------------------


@operation(
    bp,
    "GET",
    "/v1/licence",
    summary="The office's licence, its expiry warnings and open requests",
    audience=OFFICE,
    tags=OFFICE_TAGS,
    response=obj({"office": {"type": "string"}}, extra=True),
)
def licence(call: Call) -> Any:
    """The office's licence: expiry, days left, the 90/30/7-day warning, when a renewal may be
    asked for, open requests."""
    return licencestatus.licence_status(call.gateway.store, call.the_office().id)


@operation(
    bp,
    "POST",
    "/v1/licence/renewal",
    summary="Ask to renew the licence",
    audience=OFFICE,
    tags=OFFICE_TAGS,
    status=201,
    response=ANSWER,
    problems=(errors.RenewalNotOpen, errors.WrongState),
)
def ask_renewal(call: Call) -> Any:
    """The office asks to renew its licence (from three months before it expires)."""
    return lifecycle.ask(call.gateway.store, call.the_office().id, "renewal", {})


@operation(
    bp,
    "POST",
    "/v1/offices/<office_id>/transfer",
    name="ask_transfer",
    summary="Ask to transfer the licence to a new holder",
    audience=OFFICE,
    tags=OFFICE_TAGS,
    path={"office_id": OFFICE_ID},
    fixed={"kind": "transfer"},
    body=obj({"holder": text(2, 200)}, "holder"),
    status=201,
    response=ANSWER,
    problems=(errors.NotFound, errors.WrongState),
)
@operation(
    bp,
    "POST",
    "/v1/offices/<office_id>/relocate",
    name="ask_relocation",
    summary="Ask to move the office",
    audience=OFFICE,
    tags=OFFICE_TAGS,
    path={"office_id": OFFICE_ID},
    fixed={"kind": "relocate"},
    body=obj(
        {"city": text(2, 64), "address": text(5, 500), "category": {"enum": list(CATEGORIES)}},
        "city",
        "address",
        "category",
    ),
    status=201,
    response=ANSWER,
    problems=(errors.NotFound, errors.WrongState),
)
@denials.own_record_lookup
def ask_change(call: Call) -> Any:
    """The office asks to transfer its licence (``holder``) or move (``city``, ``address``,
    ``category``)."""
    office = call.the_office()
    not_theirs(office, call.path["office_id"])
    kind = KIND_OF[call.path["kind"]]
    return lifecycle.ask(call.gateway.store, office.id, kind, dict(call.body))


# -- the province and the regulator --------------------------------------------------------------


def _recommend(kind: str) -> Any:
    return operation(
        bp,
        "POST",
        f"/v1/offices/<office_id>/{kind}/recommend",
        name=f"recommend_{KIND_OF[kind]}",
        summary=f"Recommend (or advise against) an office's {KIND_OF[kind]} (its province)",
        audience=supervisors_of(authority="recommend"),
        tags=TAGS,
        path={"office_id": OFFICE_ID},
        fixed={"kind": kind},
        body=obj({"support": {"type": "boolean", "default": True}, "reason": REASON}, "reason"),
        response=ANSWER,
        problems=(errors.NotFound, errors.WrongState),
    )


@_recommend("renewal")
@_recommend("transfer")
@_recommend("relocate")
def recommend(call: Call) -> Any:
    """The province recommends (``support``: true, the default) or advises against an office's
    request, with a ``reason``."""
    office_id, kind = call.path["office_id"], KIND_OF[call.path["kind"]]
    scope = call.supervisor(f"{kind}_recommend", office=office_id)
    return lifecycle.recommend(
        call.gateway.store,
        scope,
        office_id,
        kind,
        call.body.get("support", True),
        call.body["reason"],
    )


def _decide(kind: str, verdict: str) -> Any:
    return operation(
        bp,
        "POST",
        f"/v1/offices/<office_id>/{kind}/{verdict}",
        name=f"{verdict}_{KIND_OF[kind]}",
        summary=f"{verdict.capitalize()} a recommended {KIND_OF[kind]} (the regulator)",
        audience=supervisors_of(authority="decide_request"),
        tags=TAGS,
        path={"office_id": OFFICE_ID},
        fixed={"kind": kind, "verdict": verdict},
        body=obj({"reason": REASON, "effective": MOMENT}, "reason"),
        response=ANSWER,
        problems=(errors.NotFound, errors.WrongState),
    )


@_decide("renewal", "approve")
@_decide("renewal", "refuse")
@_decide("transfer", "approve")
@_decide("transfer", "refuse")
@_decide("relocate", "approve")
@_decide("relocate", "refuse")
def decide(call: Call) -> Any:
    """The regulator approves or refuses a recommended request (``reason``; a relocation's
    ``effective`` date, Jalali or ISO, default today)."""
    office_id, kind, verdict = call.path["office_id"], call.path["kind"], call.path["verdict"]
    scope = call.supervisor(f"{KIND_OF[kind]}_{verdict}", office=office_id)
    return lifecycle.decide(
        call.gateway.store,
        scope,
        office_id,
        KIND_OF[kind],
        verdict == "approve",
        call.body["reason"],
        call.body.get("effective"),
    )


@operation(
    bp,
    "POST",
    "/v1/offices/<office_id>/revocation-request",
    summary="Ask the regulator to revoke a licence (the province)",
    audience=supervisors_of(authority="request_revocation"),
    tags=TAGS,
    path={"office_id": OFFICE_ID},
    body=obj({"reason": REASON}, "reason"),
    status=201,
    response=ANSWER,
    problems=(errors.NotFound, errors.WrongState),
)
def revocation_request(call: Call) -> Any:
    """The province asks the regulator to revoke the licence (``reason``)."""
    office_id = call.path["office_id"]
    scope = call.supervisor("revocation_request", office=office_id)
    return lifecycle.request_revocation(call.gateway.store, scope, office_id, call.body["reason"])


LICENCE_ACTION = obj(
    {
        "office": OFFICE_ID,
        "action": {"enum": ["suspend", "reinstate", "revoke"]},
        "status": {"type": "string"},
        "reason": {"type": "string"},
        "log_index": LOG_INDEX,
    },
    "office",
    "action",
    "status",
    "log_index",
)


def _licence_action(action: str, authority: str, summary: str) -> Any:
    return operation(
        bp,
        "POST",
        f"/v1/offices/<office_id>/{action}",
        name=f"{action}_office",
        summary=summary,
        audience=supervisors_of(authority=authority),
        tags=TAGS,
        path={"office_id": OFFICE_ID},
        fixed={"action": action},
        body=obj({"reason": REASON}, "reason"),
        response=LICENCE_ACTION,
        problems=(errors.NotFound, errors.WrongState),
        example={"reason": "overcharging, case 12 decided"},
    )


@_licence_action("suspend", "suspend", "Suspend an office (its province, or the regulator)")
@_licence_action("reinstate", "suspend", "Reinstate a suspended office")
@_licence_action("revoke", "revoke", "Revoke an office's licence (the regulator)")
def licence_action(call: Call) -> Any:
    """Suspend, reinstate or revoke an office, with a reason (the regulator, or for a
    suspension its province)."""
    office_id, action = call.path["office_id"], call.path["action"]
    scope = call.supervisor("licence_" + action, office=office_id)
    return licence_actions.licence_action(
        call.gateway.store, scope, office_id, action, call.body["reason"]
    )
