"""What supervisors see of appointments: per office and Tehran day, the places offered, the
bookings, how many were served or did not come, the counter transactions of that day, and
whether the office was over its declared capacity (transactions and unserved bookings beyond the
places it offered) — crowding as a figure, not a complaint. And a province's order that an office
serve by appointment only for a while (the regulator restricted 30–40 offices after public
reports until they ran appointments, seeds/000): the citizen's pages and the office's queue say
so, and the office's walk-ins in that period are counted on its scorecard.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from pishkhan_gateway.citizens import slots
from pishkhan_gateway.errors import InvalidRequest, NotFound
from pishkhan_gateway.jalali import TEHRAN, format_date, midnight_utc
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.outcomes import FINAL_OUTCOME
from pishkhan_gateway.store.tables import Appointment, AppointmentCapacity, Office, Transaction

BOOKED = ("booked", "arrived", "served", "no_show")
MAX_DAYS = 31


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def crowding(store: Store, scope: Scope, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Per office taking appointments (in scope) and Tehran day in [first, last]."""
    if last < first or (last - first).days >= MAX_DAYS:
        raise InvalidRequest(f"from..to: at most {MAX_DAYS} days", field="to")
    start = midnight_utc(first)  # UTC: SQLite compares stored text
    end = midnight_utc(last + dt.timedelta(days=1))
    with store.read() as session:
        offices = [
            o
            for o in session.execute(
                select(Office.id, Office.name, Office.province).join(
                    AppointmentCapacity, AppointmentCapacity.office_id == Office.id
                )
            ).all()
            if scope.role != "agency" and scope.oversees(o.province)
        ]
        ids = [o.id for o in offices]
        counts: dict[tuple[str, dt.date], dict[str, int]] = defaultdict(
            lambda: {"booked": 0, "served": 0, "no_show": 0, "transactions": 0}
        )
        for office, starts, state in session.execute(
            select(Appointment.office_id, Appointment.starts_at, Appointment.state).where(
                Appointment.office_id.in_(ids),
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
                Appointment.state.in_(BOOKED),
            )
        ):
            day = counts[(office, _aware(starts).astimezone(TEHRAN).date())]
            day["booked"] += 1
            day["served"] += state == "served"
            day["no_show"] += state == "no_show"
        for office, created in session.execute(
            select(Transaction.office_id, Transaction.created_at).where(
                Transaction.office_id.in_(ids),
                Transaction.created_at >= start,
                Transaction.created_at < end,
                FINAL_OUTCOME == "succeeded",
            )
        ):
            counts[(office, _aware(created).astimezone(TEHRAN).date())]["transactions"] += 1
    out = []
    for office in offices:
        offered = slots.capacity(store, office.id)
        day = first
        while day <= last:
            places = offered.counters * len(offered.starts(day))
            seen = counts.get((office.id, day), {"booked": 0, "served": 0, "no_show": 0,
                                                 "transactions": 0})  # fmt: skip
            load = seen["transactions"] + seen["booked"] - seen["served"] - seen["no_show"]
            out.append({"office": office.id, "name": office.name, "province": office.province,
                        "date": format_date(day, "-"), "places": places, **seen,
                        "over_capacity": load > places})  # fmt: skip
            day += dt.timedelta(days=1)
    return out


def order(store: Store, scope: Scope, office_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A province (or the regulator) orders an office to serve by appointment only until a
    Jalali ``until`` (inclusive), with a ``reason``; ``until`` null lifts the order."""
    from pishkhan_gateway.jalali import parse_date
    from pishkhan_gateway.logs import redact_text
    from pishkhan_gateway.regulation import authority
    from pishkhan_gateway.regulation.licencelog import note
    from pishkhan_gateway.store import utcnow
    from pishkhan_gateway.store.tables import AppointmentOrder

    reason = redact_text(str(body.get("reason") or "").strip())
    if not 3 <= len(reason) <= 2000:
        raise InvalidRequest("reason: 3-2000 characters", field="reason")
    until = None
    if body.get("until") is not None:
        try:
            until = parse_date(body["until"])
        except (TypeError, ValueError):
            raise InvalidRequest("until: a Jalali date, or null", field="until") from None
    now = utcnow()
    with store.write() as session:
        authority.office_for(session, scope, office_id, "appointment_only")
        row = session.get(AppointmentOrder, office_id)
        if until is None:
            if row is None:
                raise NotFound("this office is under no appointment-only order")
            session.delete(row)
        else:
            row = row or AppointmentOrder(office_id=office_id)
            row.since, row.until, row.reason, row.by = now, until, reason, scope.supervisor_id
            session.add(row)
        index = note(
            session,
            office_id=office_id,
            entry_type="appointment_only_ordered" if until else "appointment_only_lifted",
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            event="appointment_only_ordered" if until else "appointment_only_lifted",
            until=format_date(until, "-") if until else None,
            reason=reason,
        )
    shown = format_date(until, "-") if until else None
    return {"office": office_id, "appointment_only_until": shown, "log_index": index}


def appointment_only(store: Store, office_id: str, on: dt.date | None = None) -> dt.date | None:
    """The last day of the office's appointment-only order in force on ``on`` (today), or None."""
    from pishkhan_gateway.registry.offices import today
    from pishkhan_gateway.store.tables import AppointmentOrder

    with store.read() as session:
        row = session.get(AppointmentOrder, office_id)
        if row is None or row.until < (on or today()):
            return None
        return row.until


def walk_ins(store: Store, office_id: str) -> dict[str, Any] | None:
    """Under an appointment-only order: the office's counter transactions since the order that
    no served appointment accounts for (``served`` names its transaction)."""
    from pishkhan_gateway.store.tables import AppointmentOrder

    with store.read() as session:
        row = session.get(AppointmentOrder, office_id)
        if row is None:
            return None
        end = midnight_utc(row.until + dt.timedelta(days=1))
        served = select(Appointment.transaction_id).where(
            Appointment.office_id == office_id, Appointment.transaction_id.is_not(None)
        )
        count = session.scalar(
            select(func.count()).where(
                Transaction.office_id == office_id,
                Transaction.created_at >= row.since,
                Transaction.created_at < end,
                FINAL_OUTCOME == "succeeded",
                Transaction.id.not_in(served),
            )
        )
        return {"until": format_date(row.until, "-"), "walk_ins": int(count or 0)}
