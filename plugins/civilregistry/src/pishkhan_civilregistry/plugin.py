"""The Civil Registry plugin: the identity provider (level 2+), identity verification as a
counter service, and duplicate birth certificates, over SOAP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pishkhan_civilregistry.terms import BINDING, CONTRACT, WSDL
from pishkhan_gateway import (
    Agency,
    AgencyContext,
    AgencyRejected,
    AgencyUnavailable,
    Citizen,
    CitizenRecord,
    IdentityMismatch,
    InvalidParams,
    Result,
    Service,
    declared_services,
    hookimpl,
    parse_date,
    soap,
)

DUPLICATE_FEE = 300_000  # rials: the registry's government fee for a duplicate certificate
AGENCY = "civilregistry"


def _sandbox() -> Any:
    from pishkhan_civilregistry.sandbox import create_sandbox

    return create_sandbox()


@hookimpl
def pishkhan_agencies() -> list[Agency]:
    return [
        Agency(
            name=AGENCY,
            title_fa="سازمان ثبت احوال",
            title_en="Civil Registry",
            default_url="http://127.0.0.1:8700/",
            timeout=5.0,
            sandbox=_sandbox,
        )
    ]


@hookimpl
def pishkhan_services() -> list[Service]:
    return declared_services(CONTRACT / "services.json")


def _jalali(text: str, field: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError:
        raise InvalidParams(f"{field} is not a Jalali date", field=field) from None


@hookimpl
def pishkhan_check_params(service: Service, params: Mapping[str, Any]) -> None:
    if service.id == "civilregistry.identity.verify":
        # Persian digits were accepted by the schema; the core normalises nothing in params.
        _jalali(params["birth_date"], "birth_date")


@hookimpl
def pishkhan_quote(service: Service) -> int:
    return DUPLICATE_FEE if service.id == "civilregistry.birth_certificate.duplicate" else 0


def _proxy(agency: AgencyContext) -> Any:
    if not agency.url:
        raise AgencyUnavailable("no URL configured for civilregistry")
    return soap.client(WSDL, BINDING, agency.url, agency.timeout)


def _person(agency: AgencyContext, national_code: str) -> Any:
    return soap.call("inquiry", _proxy(agency).GetPerson, NationalCode=national_code)


@hookimpl
def pishkhan_execute(
    service: Service,
    params: Mapping[str, Any],
    citizen: Citizen,
    agency: AgencyContext,
    transaction_id: str,
    agency_amount: int,
) -> Result:
    if service.id == "civilregistry.identity.verify":
        birth_date = _jalali(params["birth_date"], "birth_date")
        person = _person(agency, citizen.national_code or "")
        if not person.Found or person.BirthDate != birth_date:
            return Result(data={"matched": False})
        return Result(
            data={
                "matched": True,
                "alive": bool(person.Alive),
                "first_name": person.FirstName,
                "last_name": person.LastName,
            }
        )
    reply = soap.call(
        "request",
        _proxy(agency).RequestDuplicateBirthCertificate,
        NationalCode=citizen.national_code,
        BirthDate=citizen.birth_date,
        Reason=params["reason"],
        Fee=agency_amount,
        TrackingId=transaction_id,
    )
    return Result(
        reference=reply.RequestNo,
        data={"request_no": reply.RequestNo, "ready_on": reply.ReadyOn.isoformat()},
    )


@hookimpl
def pishkhan_reconcile(service: Service, transaction_id: str, agency: AgencyContext) -> Result:
    reply = soap.call("inquiry", _proxy(agency).RequestStatus, TrackingId=transaction_id)
    if reply.Status != "registered":
        raise AgencyRejected(
            "the registry has no request with this tracking id", agency_code="NOT_FOUND"
        )
    return Result(
        reference=reply.RequestNo,
        data={"request_no": reply.RequestNo, "ready_on": reply.ReadyOn.isoformat()},
    )


@hookimpl
def pishkhan_identity_lookup(
    national_code: str, agencies: Mapping[str, AgencyContext]
) -> CitizenRecord:
    if AGENCY not in agencies:
        raise AgencyUnavailable("the Civil Registry is not configured")
    person = _person(agencies[AGENCY], national_code)
    if not person.Found:
        raise IdentityMismatch()
    return CitizenRecord(
        national_code=national_code,
        birth_date=person.BirthDate,
        alive=bool(person.Alive),
        first_name=person.FirstName,
        last_name=person.LastName,
    )


@hookimpl
def pishkhan_health(agency: AgencyContext) -> Mapping[str, Any]:
    return {"ok": bool(agency.url), "url": agency.url}
