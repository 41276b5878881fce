"""City hall permits: an inquiry and a renewal over REST/JSON, with reconcile."""

from importlib import resources
from pathlib import Path

from pishkhan_gateway import Agency, Result, declared_services, hookimpl, rest

CONTRACT = Path(str(resources.files("pishkhan_cityhall") / "contract"))
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


@hookimpl
def pishkhan_execute(service, params, agency, transaction_id):
    permit = params["permit_no"]
    if service.id == "cityhall.permit.status":
        return Result(data=rest.call("inquiry", agency, "GET", f"permits/{permit}"))
    reply = rest.call(
        "request",
        agency,
        "POST",
        f"permits/{permit}/renewals",
        json={"tracking_id": transaction_id, "fee": RENEWAL_FEE},
    )
    return Result(data={"expires": reply["expires"]}, reference=reply["renewal_no"])


@hookimpl
def pishkhan_reconcile(service, transaction_id, agency):
    reply = rest.call("inquiry", agency, "GET", f"renewals/{transaction_id}")
    return Result(data={"expires": reply["expires"]}, reference=reply["renewal_no"])
