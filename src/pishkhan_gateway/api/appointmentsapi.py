"""Appointments over HTTP (``appointments/``).

    PUT  /v1/appointments/capacity                 office: counters, slot length, hours, closures
    GET  /v1/appointments/capacity?office=         public
    GET  /v1/appointments/slots?office=&date=      public: coming slots with free places
    POST /v1/appointments                          public: office, service, date, time, mobile →
                                                   a held place and a code by SMS
    POST /v1/appointments/{ref}/confirm            public: {"code"}
    POST /v1/appointments/{ref}/cancel             public: the reference is the ticket
    GET  /v1/appointments/{ref}                    public: the booking (no mobile)
    GET  /v1/appointments?date=                    office: its queue of the day
    POST /v1/appointments/{ref}/arrived|served|no-show   office (served: transaction_id?)

Public requests are limited per client address (``PISHKHAN_APPOINTMENT_LIMIT``).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pishkhan_gateway import jalali
from pishkhan_gateway.api.audit import _supervisor
from pishkhan_gateway.api.officelife import _body, _office
from pishkhan_gateway.api.problem import json_response
from pishkhan_gateway.appointments import bookings, crowding, slots
from pishkhan_gateway.errors import InvalidRequest, RateLimited
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.jalali import parse_date
from pishkhan_gateway.registry.offices import today

bp = Blueprint("appointments", __name__)


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def _limited() -> None:
    """Count one public request against the client address's limit."""
    app = current_app
    cached = app.extensions.get("pishkhan_appointment_limiter")
    if cached is None:
        storage = storage_from_string(app.config["RATE_LIMIT_STORAGE"])
        cached = (MovingWindowRateLimiter(storage), parse_many(app.config["APPOINTMENT_LIMIT"]))
        app.extensions["pishkhan_appointment_limiter"] = cached
    limiter, limits = cached
    client = request.remote_addr or "unknown"
    for limit in limits:
        if not limiter.test(limit, "appointments", client):
            reset = limiter.get_window_stats(limit, "appointments", client).reset_time
            raise RateLimited(
                f"at most {limit} appointment requests from one address",
                retry_after=max(1, int(reset - time.time()) + 1),
            )
    for limit in limits:
        limiter.hit(limit, "appointments", client)


def _day(raw: Any) -> Any:
    if not raw:
        return today()
    try:
        return parse_date(raw)
    except (TypeError, ValueError):
        raise InvalidRequest("date: a Jalali date (YYYY-MM-DD)", field="date") from None


@bp.put("/v1/appointments/capacity")
def set_capacity() -> Response:
    office = _office()
    return json_response(slots.set_capacity(_gateway().store, office.id, _body()).public())


@bp.get("/v1/appointments/capacity")
def get_capacity() -> Response:
    office_id = request.args.get("office", "")[:64]
    return json_response(slots.capacity(_gateway().store, office_id).public())


@bp.get("/v1/appointments/slots")
def free_slots() -> Response:
    office_id = request.args.get("office", "")[:64]
    day = _day(request.args.get("date"))
    return json_response(
        {"office": office_id, "slots": slots.free(_gateway().store, office_id, day)}
    )


@bp.post("/v1/appointments")
def book() -> Response:
    _limited()
    return json_response(bookings.request(_gateway(), _body()), 201)


@bp.post("/v1/appointments/<reference>/confirm")
def confirm(reference: str) -> Response:
    _limited()
    return json_response(bookings.confirm(_gateway(), reference[:40], _body().get("code")))


@bp.post("/v1/appointments/<reference>/cancel")
def cancel(reference: str) -> Response:
    _limited()
    return json_response(bookings.cancel(_gateway(), reference[:40]))


@bp.get("/v1/appointments/<reference>")
def show(reference: str) -> Response:
    return json_response(bookings.show(_gateway(), reference[:40]))


@bp.get("/v1/appointments")
def office_queue() -> Response:
    office = _office()
    day = _day(request.args.get("date"))
    until = crowding.appointment_only(_gateway().store, office.id)
    return json_response(
        {
            "office": office.id,
            "appointment_only_until": jalali.format_date(until, "-") if until else None,
            "appointments": bookings.queue(_gateway(), office.id, day),
        }
    )


@bp.post("/v1/appointments/<reference>/<any(arrived, served, 'no-show'):action>")
def mark(reference: str, action: str) -> Response:
    office = _office()
    body = _body()
    return json_response(
        bookings.mark(_gateway(), office.id, reference[:40], action, body.get("transaction_id"))
    )


@bp.get("/v1/audit/appointments")
def audit_appointments() -> Response:
    """Per office (in scope) and day: places, booked, served, no-show, transactions, over
    capacity."""
    raw_from, raw_to = request.args.get("from"), request.args.get("to")
    scope = _supervisor("appointments_read", start=raw_from, end=raw_to)
    first = _day(raw_from)
    last = _day(raw_to) if raw_to else first
    return json_response({"days": crowding.crowding(_gateway().store, scope, first, last)})


@bp.put("/v1/offices/<office_id>/appointment-only")
def appointment_only(office_id: str) -> Response:
    """A province (or the regulator) orders an office to serve by appointment only."""
    body = _body()
    scope = _supervisor("appointment_only", office=office_id[:64])
    return json_response(crowding.order(_gateway().store, scope, office_id[:64], body))
