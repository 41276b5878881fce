"""The insurance plugin: Social Security record and self-employed premiums, health insurance
registration, over SOAP. The premium is quoted by the agency (an inquiry before the payment)."""

from __future__ import annotations

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
    soap,
)
from pishkhan_insurance.terms import BINDING, CONTRACT, WSDL

HEALTH_FEES = {"individual": 1_800_000, "family": 4_200_000}  # rials a year


def _sandbox() -> Any:
    from pishkhan_insurance.sandbox import create_sandbox

    return create_sandbox()


@hookimpl
def pishkhan_agencies() -> list[Agency]:
    return [
        Agency(
            name="insurance",
            title_fa="سازمان تأمین اجتماعی و بیمه سلامت",
            title_en="Social Security and Health Insurance",
            default_url="http://127.0.0.1:8702/",
            timeout=8.0,
            sandbox=_sandbox,
        )
    ]


@hookimpl
def pishkhan_services() -> list[Service]:
    return declared_services(CONTRACT / "services.json")


def _proxy(agency: AgencyContext) -> Any:
    if not agency.url:
        raise AgencyUnavailable("no URL configured for insurance")
    return soap.client(WSDL, BINDING, agency.url, agency.timeout)


@hookimpl
def pishkhan_quote(service: Service, params: Mapping[str, Any], agency: AgencyContext) -> int:
    if service.id == "insurance.socialsecurity.premium.pay":
        reply = soap.call(
            "inquiry",
            _proxy(agency).PremiumQuote,
            Bracket=params["bracket"],
            Months=params["months"],
        )
        return int(reply.Amount)
    if service.id == "insurance.health.register":
        return HEALTH_FEES[params["plan"]]
    return 0


def _premium(reply: Any, months: int, amount: int) -> Result:
    return Result(
        reference=reply.Reference,
        data={"months": months, "amount": amount, "covered_until": reply.CoveredUntil},
    )


def _health(reply: Any, plan: str) -> Result:
    return Result(
        reference=reply.MembershipNo,
        data={
            "membership_no": reply.MembershipNo,
            "valid_until": reply.ValidUntil.isoformat(),
            "plan": plan,
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
    proxy = _proxy(agency)
    if service.id == "insurance.socialsecurity.history":
        reply = soap.call("inquiry", proxy.GetInsuranceHistory, NationalCode=citizen.national_code)
        if not reply.Found:
            raise AgencyRejected("no insurance record for this person", agency_code="NO_RECORD")
        employers = [
            {
                "name": e.Name,
                "from": e.From.isoformat(),
                **({"to": e.To.isoformat()} if e.To else {}),
                "months": int(e.Months),
            }
            for e in reply.Employer
        ]
        return Result(data={"total_months": int(reply.TotalMonths), "employers": employers})
    if service.id == "insurance.socialsecurity.premium.pay":
        reply = soap.call(
            "payment",
            proxy.PayPremium,
            NationalCode=citizen.national_code,
            Bracket=params["bracket"],
            Months=params["months"],
            Amount=agency_amount,
            TrackingId=transaction_id,
        )
        return _premium(reply, params["months"], agency_amount)
    reply = soap.call(
        "request",
        proxy.RegisterHealth,
        NationalCode=citizen.national_code,
        BirthDate=citizen.birth_date,
        Plan=params["plan"],
        Amount=agency_amount,
        TrackingId=transaction_id,
    )
    return _health(reply, params["plan"])


@hookimpl
def pishkhan_reconcile(service: Service, transaction_id: str, agency: AgencyContext) -> Result:
    reply = soap.call("inquiry", _proxy(agency).TransactionStatus, TrackingId=transaction_id)
    if reply.Status != "done":
        raise AgencyRejected(
            "the agency has no transaction with this tracking id", agency_code="NOT_FOUND"
        )
    if reply.Operation == "PayPremium":
        return _premium(reply, int(reply.Months), int(reply.Amount))
    return _health(reply, reply.Plan)


@hookimpl
def pishkhan_health(agency: AgencyContext) -> Mapping[str, Any]:
    return {"ok": bool(agency.url), "url": agency.url}
