"""The office's operators: who may work its counter (registered at the Civil Registry; only
their numbers and dates are kept, never a national code)."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint

from pishkhan_gateway import errors
from pishkhan_gateway.pipeline.identity import verify_before_otp
from pishkhan_gateway.pipeline.request import CitizenInput
from pishkhan_gateway.registry import offices
from pishkhan_gateway.web.operations import OFFICE, Call, operation
from pishkhan_gateway.web.shapes import JALALI_DATE, NATIONAL_CODE, array, obj

bp = Blueprint("operators", __name__, url_prefix="/v1")
log = structlog.get_logger(__name__)
TAGS = ("office",)


OPERATOR_ROW = obj(
    {
        "number": {"type": "integer"},
        "registered": {"type": "string"},
        "revoked": {"type": ["string", "null"]},
    },
    extra=True,
)


@operation(
    bp,
    "GET",
    "/operators",
    summary="The office's operators",
    audience=OFFICE,
    tags=TAGS,
    response=obj({"operators": array(OPERATOR_ROW, 10_000)}, "operators"),
)
def list_operators(call: Call) -> Any:
    """The office's operators (numbers and dates; national codes are never stored)."""
    return {"operators": offices.list_operators(call.gateway.store, call.the_office().id)}


@operation(
    bp,
    "POST",
    "/operators",
    summary="Register an operator (matched at the Civil Registry)",
    audience=OFFICE,
    tags=TAGS,
    body=obj(
        {"national_code": NATIONAL_CODE, "birth_date": JALALI_DATE}, "national_code", "birth_date"
    ),
    status=201,
    response=obj({"registered": {"const": True}, "identity_level": {"const": 2}}, "registered"),
    problems=(
        errors.OfficeSuspended,
        errors.OfficeRevoked,
        errors.LicenceExpired,
        errors.InvalidNationalCode,
        errors.IdentityMismatch,
        errors.CitizenDeceased,
        errors.IdentityUnavailable,
    ),
    example={"national_code": "0012345679", "birth_date": "1370-01-01"},
)
def register_operator(call: Call) -> Any:
    """Register an operator of this office, matched at the Civil Registry (identity level 2).
    Refusals are the identity codes."""
    gw = call.gateway
    office = call.the_office()
    offices.check_licence(office)
    body = call.body
    person = verify_before_otp(
        level=2,
        citizen=CitizenInput(national_code=body["national_code"], birth_date=body["birth_date"]),
        plugins=gw.plugins,
        agencies=gw.agencies(),
        cache=gw.identity_cache,
    )
    offices.add_operator(gw.store, gw.pseudonyms, office.id, person.national_code or "")
    log.info("operator_registered", office_id=office.id)
    return {"registered": True, "identity_level": 2}


@operation(
    bp,
    "POST",
    "/operators/revoke",
    summary="Revoke an operator, effective at once",
    audience=OFFICE,
    tags=TAGS,
    body=obj({"national_code": NATIONAL_CODE}, "national_code"),
    response=obj({"revoked": {"const": True}}, "revoked"),
    problems=(errors.NotFound,),
)
def revoke_operator(call: Call) -> Any:
    """Revoke an operator of this office; effective at once."""
    gw = call.gateway
    office = call.the_office()
    offices.revoke_operator(gw.store, gw.pseudonyms, office.id, call.body["national_code"])
    log.info("operator_revoked", office_id=office.id)
    return {"revoked": True}
