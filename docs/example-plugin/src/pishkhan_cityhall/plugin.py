"""City hall permits: an inquiry and a renewal over REST/JSON, with reconcile."""

import json
from importlib import resources
from pathlib import Path

from pishkhan_gateway import (
    Agency,
    AgencyRejected,
    AgencyUnavailable,
    Result,
    declared_services,
    hookimpl,
    rest,
)

CONTRACT = Path(str(resources.files("pishkhan_cityhall") / "contract"))
OPENAPI = json.loads((CONTRACT / "openapi.json").read_text(encoding="utf-8"))
RENEWAL_FEE = 500_000  # rials, charged by the city hall


def _sandbox():
    from pishkhan_cityhall.sandbox import create_sandbox

    return create_sandbox()


@hookimpl
def pishkhan_agencies():
    return [
        Agency(
            name="cityhall",
            title_fa="شهرداری",
            title_en="City hall",
            default_url="http://127.0.0.1:8799/",
            timeout=5.0,
            sandbox=_sandbox,
        )
    ]


@hookimpl
def pishkhan_services():
    return declared_services(CONTRACT / "services.json")


@hookimpl
def pishkhan_quote(service):
    return RENEWAL_FEE if service.id == "cityhall.permit.renew" else 0


def _call(kind, agency, method, path, operation, **body):
    """One call, its success statuses and reply schema read from the agency's OpenAPI."""
    return rest.call(kind, agency, method, path, openapi=OPENAPI, operation=operation, **body)


@hookimpl
def pishkhan_execute(service, params, agency, transaction_id):
    permit = params["permit_no"]
    if service.id == "cityhall.permit.status":
        status = _call("inquiry", agency, "GET", f"permits/{permit}", "/permits/{permit_no}")
        return Result(data=status)
    reply = _call(
        "request",
        agency,
        "POST",
        f"permits/{permit}/renewals",
        "/permits/{permit_no}/renewals",
        json={"tracking_id": transaction_id, "fee": RENEWAL_FEE},
    )
    return Result(data={"expires": reply["expires"]}, reference=reply["renewal_no"])


@hookimpl
def pishkhan_reconcile(service, transaction_id, agency):
    try:
        reply = _call(
            "inquiry", agency, "GET", f"renewals/{transaction_id}", "/renewals/{tracking_id}"
        )
    except AgencyRejected as refused:
        if refused.agency_code == "NOT_FOUND":  # the city hall's word: it never saw this renewal
            raise
        # any other refusal (a proxy's 404, an auth error) proves nothing: ask again later
        raise AgencyUnavailable(f"cannot tell yet: {refused.reason}") from None
    return Result(data={"expires": reply["expires"]}, reference=reply["renewal_no"])
