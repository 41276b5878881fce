"""The telecom plugin: landline debt and SIM replacement at the counter, mobile ownership
("Shahkar", identity level 3) and SMS for one-time codes, over the operator's REST/JSON API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pishkhan_gateway import (
    Agency,
    AgencyContext,
    AgencyRejected,
    AgencyUnavailable,
    Citizen,
    Result,
    Service,
    declared_services,
    hookimpl,
    rest,
)
from pishkhan_telecom.terms import CONTRACT, OPENAPI

SCHEMAS = json.loads(OPENAPI.read_text(encoding="utf-8"))["components"]["schemas"]
SIM_FEE = 200_000  # rials: the operator's charge for a new SIM card
AGENCY = "telecom"


def _sandbox() -> Any:
    from pishkhan_telecom.sandbox import create_sandbox

    return create_sandbox()


@hookimpl
def pishkhan_agencies() -> list[Agency]:
    return [
        Agency(
            name=AGENCY,
            title_fa="مخابرات و اپراتور تلفن همراه",
            title_en="Telecom",
            default_url="http://127.0.0.1:8704/",
            timeout=5.0,
            sandbox=_sandbox,
        )
    ]


@hookimpl
def pishkhan_services() -> list[Service]:
    return declared_services(CONTRACT / "services.json")


@hookimpl
def pishkhan_quote(service: Service) -> int:
    return SIM_FEE if service.id == "telecom.mobile.sim.replace" else 0


def _sim_result(reply: Mapping[str, Any]) -> Result:
    return Result(
        reference=reply["request_no"],
        data={
            "request_no": reply["request_no"],
            "mobile_tail": reply["mobile_tail"],
            "iccid_tail": reply["iccid_tail"],
        },
    )


@hookimpl
def pishkhan_execute(
    service: Service,
    params: Mapping[str, Any],
    citizen: Citizen,
    agency: AgencyContext,
    transaction_id: str,
    agency_amount: int,
) -> Result:
    if service.id == "telecom.landline.bill.inquiry":
        reply = rest.call(
            "inquiry",
            agency,
            "GET",
            f"v1/landlines/{params['number']}/debt",
            schema=SCHEMAS["LandlineDebt"],
        )
        return Result(data={"debt": reply["debt"], "period_end": reply["period_end"]})
    reply = rest.call(
        "request",
        agency,
        "POST",
        f"v1/mobiles/{citizen.mobile}/sim-replacements",
        json={
            "national_code": citizen.national_code,
            "reason": params["reason"],
            "fee": agency_amount,
            "tracking_id": transaction_id,
        },
        schema=SCHEMAS["SimReplacement"],
    )
    return _sim_result(reply)


@hookimpl
def pishkhan_reconcile(service: Service, transaction_id: str, agency: AgencyContext) -> Result:
    reply = rest.call(
        "inquiry",
        agency,
        "GET",
        f"v1/sim-replacements/{transaction_id}",
        schema=SCHEMAS["SimReplacement"],
    )
    return _sim_result(reply)


def _agency(agencies: Mapping[str, AgencyContext]) -> AgencyContext:
    if AGENCY not in agencies:
        raise AgencyUnavailable("the telecom operator is not configured")
    return agencies[AGENCY]


@hookimpl
def pishkhan_mobile_owner(
    mobile: str, national_code: str, agencies: Mapping[str, AgencyContext]
) -> bool:
    reply = rest.call(
        "inquiry",
        _agency(agencies),
        "POST",
        "v1/ownership-checks",
        json={"mobile": mobile, "national_code": national_code},
        schema=SCHEMAS["Ownership"],
    )
    return bool(reply["owned"])


@hookimpl
def pishkhan_send_sms(mobile: str, text: str, agencies: Mapping[str, AgencyContext]) -> bool:
    try:
        rest.call(
            "inquiry",
            _agency(agencies),
            "POST",
            "v1/sms",
            json={"mobile": mobile, "text": text},
            schema=SCHEMAS["SmsSent"],
        )
    except AgencyRejected as exc:
        raise AgencyUnavailable(f"the SMS was not sent: {exc.detail}") from exc
    return True


@hookimpl
def pishkhan_health(agency: AgencyContext) -> Mapping[str, Any]:
    return {"ok": bool(agency.url), "url": agency.url}
