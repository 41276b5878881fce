"""Tariff schedules over HTTP: the regulator publishes the national schedule and a province's
working group its own; a schedule not yet in force can be withdrawn."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from pishkhan_gateway import errors
from pishkhan_gateway.errors import Forbidden
from pishkhan_gateway.pricing import tariffchanges
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.web.operations import Call, operation, supervisors_of
from pishkhan_gateway.web.shapes import MOMENT, REASON, TARIFF_SCOPE, array, contract, obj

bp = Blueprint("tariffs", __name__)
TAGS = ("supervisors",)


@operation(
    bp,
    "POST",
    "/v1/tariffs",
    summary="Publish a tariff schedule (the regulator; a province its own)",
    audience=supervisors_of("regulator", "province"),
    tags=TAGS,
    body=contract("tariff-schedule"),
    query={
        "amend": {"type": "boolean", "description": "change only the services it names"},
        "drop": {"type": "string", "maxLength": 2000, "description": "A,B: stop pricing these"},
    },
    status=201,
    response=obj(
        {
            "name": {"type": "string"},
            "effective": {"type": "string"},
            "services": {"type": "integer"},
            "amends": {"type": ["string", "null"]},
            "dropped": array({"type": "string"}, 10_000),
        },
        "name",
        "effective",
        "services",
    ),
    problems=(errors.ScheduleDropsServices,),
    example={
        "name": "1405",
        "effective": "1405-01-01",
        "caps": {"postbank.bill.pay": {"all": 40000}},
    },
)
def publish_tariffs(call: Call) -> Any:
    """The regulator publishes a tariff schedule (the JSON form of a schedule file), and a
    provincial working group its province's (``"scope": "province:<name>"``); ``?amend=true``
    changes only the services it names, ``?drop=A,B`` stops pricing those."""
    document = dict(call.body)
    scope = call.supervisor(
        "tariffs_publish", effective=document.get("effective"), scope=document.get("scope")
    )
    _may_set_tariffs(scope, document.get("scope"))
    schedule = tariffchanges.publish(
        call.gateway.tariffs,
        document,
        amend=bool(call.query.get("amend")),
        drop=[s for s in call.query.get("drop", "").split(",") if s],
        by=scope.supervisor_id,
    )
    return {
        "name": schedule.name,
        "effective": schedule.effective_jalali,
        "services": len(schedule.caps),
        "amends": schedule.document.get("amends"),
        "dropped": schedule.document.get("dropped", []),
    }


@operation(
    bp,
    "POST",
    "/v1/tariffs/withdraw",
    summary="Withdraw a schedule not yet in force (or loaded today by mistake)",
    audience=supervisors_of("regulator", "province"),
    tags=TAGS,
    body=obj({"effective": MOMENT, "reason": REASON, "scope": TARIFF_SCOPE}, "effective", "reason"),
    response=obj({}, extra=True),
    problems=(errors.NotFound, errors.WrongState),
)
def withdraw_tariffs(call: Call) -> Any:
    """The regulator (or a province, its own schedule) withdraws a schedule not yet in force,
    or loaded today by mistake."""
    tariff_scope = call.body.get("scope") or "national"
    scope = call.supervisor(
        "tariffs_withdraw", effective=call.body["effective"], scope=tariff_scope
    )
    _may_set_tariffs(scope, tariff_scope)
    return tariffchanges.withdraw(
        call.gateway.tariffs,
        call.body["effective"],
        call.body["reason"],
        by=scope.supervisor_id,
        scope=tariff_scope,
    )


def _may_set_tariffs(scope: Scope, tariff_scope: Any) -> None:
    """The regulator sets any schedule; a province's working group only its own province's."""
    if scope.role == "regulator":
        return
    if scope.role == "province" and tariff_scope == f"province:{scope.name}":
        return
    raise Forbidden(
        "only the regulator sets the national tariff, and a province's working group its province's"
    )
