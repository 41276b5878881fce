"""The Post Bank plugin's hooks: two services, check digits, the quote, SOAP calls, reconcile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pishkhan_gateway import (
    Agency,
    AgencyContext,
    AgencyRejected,
    AgencyUnavailable,
    Citizen,
    InvalidParams,
    Result,
    Service,
    declared_services,
    hookimpl,
    soap,
)
from pishkhan_postbank import billing
from pishkhan_postbank.terms import BINDING, CONTRACT, WSDL


def _sandbox() -> Any:
    from pishkhan_postbank.sandbox import create_sandbox

    return create_sandbox()


@hookimpl
def pishkhan_agencies() -> list[Agency]:
    return [
        Agency(
            name="postbank",
            title_fa="پست بانک",
            title_en="Post Bank",
            default_url="http://127.0.0.1:8703/",
            timeout=10.0,
            sandbox=_sandbox,
        )
    ]


@hookimpl
def pishkhan_services() -> list[Service]:
    return declared_services(CONTRACT / "services.json")


@hookimpl
def pishkhan_check_params(service: Service, params: Mapping[str, Any]) -> None:
    error = billing.bill_id_error(params["bill_id"])
    if error:
        raise InvalidParams(error, field="bill_id")
    error = billing.payment_id_error(params["bill_id"], params["payment_id"])
    if error:
        raise InvalidParams(error, field="payment_id")


@hookimpl
def pishkhan_quote(service: Service, params: Mapping[str, Any]) -> int:
    if service.id == "postbank.bill.pay":
        return billing.amount_rials(params["payment_id"])
    return 0


def _proxy(agency: AgencyContext) -> Any:
    if not agency.url:
        raise AgencyUnavailable("no URL configured for postbank (PISHKHAN_AGENCY_POSTBANK_URL)")
    return soap.client(WSDL, BINDING, agency.url, agency.timeout)


@hookimpl
def pishkhan_execute(
    service: Service,
    params: Mapping[str, Any],
    agency: AgencyContext,
    transaction_id: str,
    agency_amount: int,
    citizen: Citizen,
) -> Result:
    proxy = _proxy(agency)
    bill_id, payment_id = params["bill_id"], params["payment_id"]
    if service.id == "postbank.bill.inquiry":
        reply = soap.call("inquiry", proxy.BillInquiry, BillId=bill_id, PaymentId=payment_id)
        return Result(
            data={
                "bill_type": reply.BillType,
                "amount": int(reply.Amount),
                "paid": bool(reply.Paid),
            }
        )
    reply = soap.call(
        "payment",
        proxy.PayBill,
        BillId=bill_id,
        PaymentId=payment_id,
        Amount=agency_amount,
        TrackingId=transaction_id,
    )
    return Result(
        reference=reply.Reference,
        data={
            "bill_type": billing.bill_type(bill_id),
            "amount": agency_amount,
            "paid_at": reply.PaidAt.isoformat(),
        },
    )


@hookimpl
def pishkhan_reconcile(service: Service, transaction_id: str, agency: AgencyContext) -> Result:
    reply = soap.call("inquiry", _proxy(agency).PaymentStatus, TrackingId=transaction_id)
    if reply.Status != "paid":
        raise AgencyRejected(
            "the bank has no payment with this tracking id", agency_code="NOT_FOUND"
        )
    return Result(
        reference=reply.Reference,
        data={
            "bill_type": billing.bill_type(reply.BillId),
            "amount": int(reply.Amount),
            "paid_at": reply.PaidAt.isoformat(),
        },
    )


@hookimpl
def pishkhan_health(agency: AgencyContext) -> Mapping[str, Any]:
    return {"ok": bool(agency.url), "url": agency.url}
