"""Appointments over HTTP (``appointments/``): the office sets its capacity and works its
queue; citizens find free slots, book (a code by SMS confirms), look up and cancel by the
reference; supervisors read crowding and order an office to serve by appointment only.

Public requests that change something are limited per client address
(``PISHKHAN_APPOINTMENT_LIMIT``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint

from pishkhan_gateway import errors, jalali
from pishkhan_gateway.citizens import bookings, crowding, slots
from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.jalali import parse_date
from pishkhan_gateway.registry.offices import today
from pishkhan_gateway.web.operations import (
    OFFICE,
    PUBLIC,
    SUPERVISORS,
    Call,
    operation,
    supervisors_of,
)
from pishkhan_gateway.web.publiclimits import take_one
from pishkhan_gateway.web.shapes import (
    JALALI_DATE,
    MOBILE,
    OFFICE_ID,
    REASON,
    SERVICE_ID,
    TIME,
    TRANSACTION_ID,
    array,
    nullable,
    obj,
)

bp = Blueprint("appointments", __name__)
CITIZENS = ("citizens",)
REFERENCE = {"type": "string", "minLength": 1, "maxLength": 40}
PATH = {"reference": REFERENCE}
BOOKING = obj({"reference": {"type": "string"}, "status": {"type": "string"}}, extra=True)
CAPACITY = obj(
    {
        "office": {"type": "string"},
        "counters": {"type": "integer"},
        "slot_minutes": {"type": "integer"},
        "days": {"type": "object"},
        "closures": array(JALALI_DATE, 366),
    },
    "office",
    "counters",
    extra=True,
)
LIMITED = (errors.RateLimited,)


def limited() -> None:
    """The citizens' appointment calls' rate limit (per client), shared with their pages."""
    take_one("APPOINTMENT_LIMIT", "appointments", "appointment requests")


def _day(raw: str | None) -> dt.date:
    if not raw:
        return today()
    try:
        return parse_date(raw)
    except (TypeError, ValueError):
        raise InvalidRequest("date: a Jalali date (YYYY-MM-DD)", field="date") from None


CROWDED_DAY = obj(
    {
        "office": {"type": "string"},
        "name": {"type": "string"},
        "province": {"type": "string"},
        "date": {"type": "string", "description": "Jalali, YYYY-MM-DD"},
        **{k: {"type": "integer"} for k in ("places", "booked", "served", "no_show")},
        "transactions": {"type": "integer"},
        "over_capacity": {"type": "boolean"},
    },
    "office",
    "date",
    "places",
    "over_capacity",
)


@operation(
    bp,
    "PUT",
    "/v1/appointments/capacity",
    summary="Set the office's capacity: counters, slot length, hours, closures",
    audience=OFFICE,
    tags=("office",),
    body=obj(
        {
            "counters": {"type": "integer", "minimum": 1, "maximum": 50},
            "slot_minutes": {"enum": [5, 10, 15, 20, 30, 60]},
            "days": {
                "type": "object",
                "propertyNames": {"enum": [str(d) for d in range(7)]},
                "additionalProperties": nullable(array(TIME, 2, minItems=2)),
            },
            "closures": array(JALALI_DATE, 366),
        },
        "counters",
        "days",
    ),
    response=CAPACITY,
    example={"counters": 2, "slot_minutes": 15, "days": {"0": ["08:00", "13:00"]}},
)
def set_capacity(call: Call) -> Any:
    """The office sets its capacity (replacing the one before)."""
    office = call.the_office()
    return slots.set_capacity(call.gateway.store, office.id, dict(call.body)).public()


@operation(
    bp,
    "GET",
    "/v1/appointments/capacity",
    summary="An office's appointment capacity",
    audience=PUBLIC,
    tags=CITIZENS,
    query={"office": OFFICE_ID},
    required_query=("office",),
    response=CAPACITY,
    problems=(errors.NotFound,),
)
def get_capacity(call: Call) -> Any:
    """An office's capacity (``NotFound`` when it takes no appointments)."""
    return slots.capacity(call.gateway.store, call.query["office"]).public()


@operation(
    bp,
    "GET",
    "/v1/appointments/slots",
    summary="An office's coming slots with free places",
    audience=PUBLIC,
    tags=CITIZENS,
    query={"office": OFFICE_ID, "date": JALALI_DATE},
    required_query=("office",),
    response=obj(
        {
            "office": {"type": "string"},
            "slots": array(
                obj({"time": {"type": "string"}, "free": {"type": "integer"}}, "time", "free"),
                1000,
            ),
        },
        "slots",
    ),
    problems=(errors.NotFound,),
)
def free_slots(call: Call) -> Any:
    """The office's slots on a day (default today) with the places still free."""
    office_id = call.query["office"]
    day = _day(call.query.get("date"))
    return {"office": office_id, "slots": slots.free(call.gateway.store, office_id, day)}


@operation(
    bp,
    "POST",
    "/v1/appointments",
    summary="Book a slot (a code is sent to the mobile to confirm it)",
    audience=PUBLIC,
    tags=CITIZENS,
    body=obj(
        {
            "office": OFFICE_ID,
            "service": SERVICE_ID,
            "date": JALALI_DATE,
            "time": TIME,
            "mobile": MOBILE,
        },
        "office",
        "service",
        "date",
        "time",
        "mobile",
    ),
    status=201,
    response=BOOKING,
    problems=(
        errors.NotFound,
        errors.SlotFull,
        errors.SlotUnavailable,
        errors.AppointmentLimit,
        *LIMITED,
    ),
    example={
        "office": "THR-0001",
        "service": "postbank.bill.pay",
        "date": "1404-07-01",
        "time": "09:30",
        "mobile": "09121234567",
    },
)
def book(call: Call) -> Any:
    """Hold a counter at the slot and send the confirmation code to the mobile."""
    limited()
    return bookings.request(call.gateway, dict(call.body))


@operation(
    bp,
    "POST",
    "/v1/appointments/<reference>/confirm",
    summary="Confirm a booking with the code from the SMS",
    audience=PUBLIC,
    tags=CITIZENS,
    path=PATH,
    body=obj(
        {"code": {"type": "string", "pattern": "^[0-9۰-۹]{4,8}$", "examples": ["482913"]}}, "code"
    ),
    response=BOOKING,
    problems=(errors.NotFound, errors.WrongState, errors.OtpInvalid, *LIMITED),
)
def confirm(call: Call) -> Any:
    """The code from the SMS makes the hold a booking."""
    limited()
    return bookings.confirm(call.gateway, call.path["reference"], call.body["code"])


@operation(
    bp,
    "POST",
    "/v1/appointments/<reference>/cancel",
    summary="Cancel a booking (the reference is the ticket)",
    audience=PUBLIC,
    tags=CITIZENS,
    path=PATH,
    response=BOOKING,
    problems=(errors.NotFound, errors.WrongState, *LIMITED),
)
def cancel(call: Call) -> Any:
    """The reference cancels a coming booking (or a hold) and frees its counter."""
    limited()
    return bookings.cancel(call.gateway, call.path["reference"])


@operation(
    bp,
    "GET",
    "/v1/appointments/<reference>",
    summary="A booking by its reference (no mobile)",
    audience=PUBLIC,
    tags=CITIZENS,
    path=PATH,
    response=BOOKING,
    problems=(errors.NotFound,),
)
def show(call: Call) -> Any:
    """A booking by its reference (what its QR code opens)."""
    return bookings.show(call.gateway, call.path["reference"])


@operation(
    bp,
    "GET",
    "/v1/appointments",
    summary="The office's queue of the day",
    audience=OFFICE,
    tags=("office",),
    query={"date": JALALI_DATE},
    response=obj(
        {
            "office": OFFICE_ID,
            "appointment_only_until": nullable(JALALI_DATE),
            "appointments": array(BOOKING, 10_000),
        },
        "office",
        "appointments",
    ),
)
def office_queue(call: Call) -> Any:
    """The office's appointments of a day (default today), and any appointment-only order."""
    office = call.the_office()
    day = _day(call.query.get("date"))
    until = crowding.appointment_only(call.gateway.store, office.id)
    return {
        "office": office.id,
        "appointment_only_until": jalali.format_date(until, "-") if until else None,
        "appointments": bookings.queue(call.gateway, office.id, day),
    }


def _mark(action: str) -> Any:
    return operation(
        bp,
        "POST",
        f"/v1/appointments/<reference>/{action}",
        name=f"mark_{action.replace('-', '_')}",
        summary=f"Mark the office's appointment {action}",
        audience=OFFICE,
        tags=("office",),
        path=PATH,
        fixed={"action": action},
        body=obj({"transaction_id": TRANSACTION_ID}) if action == "served" else None,
        response=BOOKING,
        problems=(errors.NotFound, errors.WrongState),
    )


@_mark("arrived")
@_mark("served")
@_mark("no-show")
def mark(call: Call) -> Any:
    """The office marks its appointment arrived, served (optionally naming the transaction)
    or no-show."""
    office = call.the_office()
    return bookings.mark(
        call.gateway,
        office.id,
        call.path["reference"],
        call.path["action"],
        call.body.get("transaction_id"),
    )


@operation(
    bp,
    "GET",
    "/v1/audit/appointments",
    summary="Appointments per office and day, in scope",
    audience=SUPERVISORS,
    tags=("supervisors",),
    query={"from": JALALI_DATE, "to": JALALI_DATE},
    response=obj({"days": {"type": "array", "items": CROWDED_DAY}}, "days"),
)
def audit_appointments(call: Call) -> Any:
    """Per office (in scope) and day: places, booked, served, no-show, transactions, over
    capacity."""
    raw_from, raw_to = call.query.get("from"), call.query.get("to")
    scope = call.supervisor("appointments_read", start=raw_from, end=raw_to)
    first = _day(raw_from)
    last = _day(raw_to) if raw_to else first
    return {"days": crowding.crowding(call.gateway.store, scope, first, last)}


@operation(
    bp,
    "PUT",
    "/v1/offices/<office_id>/appointment-only",
    summary="Order an office to serve by appointment only (its province, or the regulator)",
    audience=supervisors_of(authority="appointment_only"),
    tags=("supervisors",),
    path={"office_id": OFFICE_ID},
    body=obj({"until": nullable(JALALI_DATE), "reason": REASON}, "reason"),
    response=obj({"office": {"type": "string"}}, extra=True),
    problems=(errors.NotFound,),
)
def appointment_only(call: Call) -> Any:
    """Until a Jalali ``until`` (inclusive), with a ``reason``; ``until`` null lifts it."""
    office_id = call.path["office_id"]
    scope = call.supervisor("appointment_only", office=office_id)
    return crowding.order(call.gateway.store, scope, office_id, dict(call.body))
