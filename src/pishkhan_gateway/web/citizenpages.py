"""The citizen's appointment pages at ``/appointments``: Persian, right to left, phone-sized,
plain forms (no script, no account). Choose a service (and learn what to bring), a province, an
office (its fee for the service and its next free slots), a day and a slot; give a mobile; type
the code the SMS brings; keep the reference and its QR code; cancel with it. The same functions
as the API (``appointments/``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from pishkhan_gateway import jalali
from pishkhan_gateway.citizens import bookings, crowding, receipts, slots
from pishkhan_gateway.errors import GatewayError
from pishkhan_gateway.pricing.catalog import CATEGORY_FA
from pishkhan_gateway.registry import offices, regions
from pishkhan_gateway.store import utcnow
from pishkhan_gateway.web.api.appointments import limited
from pishkhan_gateway.web.current import gateway

bp = Blueprint("appointment_pages", __name__)
BRING = {
    0: "مدرک شناسایی لازم نیست.",
    1: "کد ملی خود را همراه داشته باشید.",
    2: "کارت ملی (کد ملی و تاریخ تولد) همراه داشته باشید.",
    3: "کارت ملی و تلفن همراهی که به نام خودتان است؛ کد تأیید به آن پیامک می‌شود.",
}


def _page(template: str, status: int = 200, **context: Any) -> Response:
    body = render_template(
        template,
        fa=jalali.persian_digits,
        rials=jalali.rials,
        province_fa=regions.province_fa,
        CATEGORY_FA=CATEGORY_FA,
        BRING=BRING,
        **context,
    )
    return Response(body, status=status, mimetype="text/html")


def _services() -> list[Any]:
    return [s.service for s in gateway().plugins.catalog()]


@bp.get("/appointments")
def start() -> Response:
    """Service and province; then the offices of the province that take appointments."""
    gw = gateway()
    service_id, province = request.args.get("service", ""), request.args.get("province", "")
    registered = gw.plugins.service(service_id)
    found = []
    if registered is not None and province:
        now = utcnow()
        for office in slots.offices_taking(gw.store, province):
            rule = gw.tariffs.rule(service_id, office.category, office.province, now)
            upcoming = []
            for days in range(8):
                day = offices.today() + dt.timedelta(days=days)
                upcoming += [(day, s) for s in slots.free(gw.store, office.id, day)]
                if len(upcoming) >= 3:
                    break
            only = crowding.appointment_only(gw.store, office.id)
            found.append({"office": office, "fee_cap": rule.cap, "priced_by": rule.priced_by,
                          "next": upcoming[:3], "only_until": only})  # fmt: skip
    provinces = sorted(p for ps in regions.regions().values() for p in ps)
    return _page(
        "appointments/start.html",
        services=_services(),
        provinces=provinces,
        chosen=registered.service if registered else None,
        province=province,
        found=found,
        date_fa=lambda d: jalali.format_date(d, "/"),
        date_arg=lambda d: jalali.format_date(d, "-"),
    )


@bp.get("/appointments/offices/<office_id>")
def office_slots(office_id: str) -> Response:
    """An office's free slots of one day (``date``, Jalali; default today) for a service."""
    gw = gateway()
    registered = gw.plugins.service(request.args.get("service", ""))
    office = offices.get_office(gw.store, office_id[:64])
    try:
        day = (
            jalali.parse_date(request.args.get("date"))
            if request.args.get("date")
            else offices.today()
        )
        free = slots.free(gw.store, office_id[:64], day) if office and registered else []
    except (GatewayError, ValueError):
        free, day = [], offices.today()
    days = [offices.today() + dt.timedelta(days=i) for i in range(8)]
    return _page(
        "appointments/office.html",
        office=office,
        service=registered.service if registered else None,
        day=day,
        days=days,
        free=free,
        date_fa=lambda d: jalali.format_date(d, "/"),
        date_arg=lambda d: jalali.format_date(d, "-"),
    )


@bp.post("/appointments/book")
def book() -> Response:
    """Hold the slot and send the code; then the page that asks for it."""
    try:
        limited()
        held = bookings.request(gateway(), request.form.to_dict())
    except GatewayError as error:
        return _page("appointments/problem.html", status=error.status, error=error)
    return _page("appointments/confirm.html", booking=held)


@bp.post("/appointments/<reference>/confirm")
def confirm(reference: str) -> Response:
    try:
        limited()
        bookings.confirm(gateway(), reference[:40], request.form.get("code", ""))
    except GatewayError as error:
        return _page("appointments/problem.html", status=error.status, error=error)
    return redirect(url_for("appointment_pages.booking", reference=reference[:40]), 303)


@bp.get("/appointments/<reference>")
def booking(reference: str) -> Response:
    """The booking to show at the counter: reference, QR code, what to bring; cancel."""
    gw = gateway()
    try:
        shown = bookings.show(gw, reference[:40])
    except GatewayError as error:
        return _page("appointments/problem.html", status=error.status, error=error)
    registered = gw.plugins.service(shown["service"])
    url = url_for("appointment_pages.booking", reference=shown["reference"], _external=True)
    return _page(
        "appointments/booking.html",
        b=shown,
        level=registered.service.identity_level if registered else 0,
        qr=receipts.qr_svg(url),
    )


@bp.post("/appointments/<reference>/cancel")
def cancel(reference: str) -> Response:
    try:
        limited()
        bookings.cancel(gateway(), reference[:40])
    except GatewayError as error:
        return _page("appointments/problem.html", status=error.status, error=error)
    return redirect(url_for("appointment_pages.booking", reference=reference[:40]), 303)
