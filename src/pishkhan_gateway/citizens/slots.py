"""An office's appointment capacity and its slots.

An office declares its counters, the length of a slot, its hours per weekday (0 = Saturday,
Tehran time; no hours = closed) and closed days (Jalali dates). Each slot start has as many
places as counters: a booking holds one counter at one start, and the database's unique
``(office_id, starts_at, counter)`` makes a second booking of the same place impossible, whoever
races for it. A cancelled or expired booking lets its place go by clearing ``counter``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from pishkhan_gateway.errors import InvalidRequest, NotFound
from pishkhan_gateway.jalali import TEHRAN, format_date, parse_date
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import AppointmentCapacity

HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
MAX_DAYS_AHEAD = 30


@dataclass(frozen=True)
class Capacity:
    """What an office offers: ``counters`` places every ``slot_minutes`` within its hours."""

    office_id: str
    counters: int
    slot_minutes: int
    days: dict[str, tuple[str, str] | None]
    closures: tuple[str, ...]

    def starts(self, day: dt.date) -> list[dt.datetime]:
        """The slot starts of a Tehran day (none when closed)."""
        weekday = str((day.weekday() + 2) % 7)  # Saturday = 0
        hours = self.days.get(weekday)
        if hours is None or format_date(day, "-") in self.closures:
            return []
        opens = dt.datetime.combine(day, dt.time.fromisoformat(hours[0]), tzinfo=TEHRAN)
        closes = dt.datetime.combine(day, dt.time.fromisoformat(hours[1]), tzinfo=TEHRAN)
        out, moment = [], opens
        while moment + dt.timedelta(minutes=self.slot_minutes) <= closes:
            out.append(moment.astimezone(dt.UTC))
            moment += dt.timedelta(minutes=self.slot_minutes)
        return out

    def offers(self, starts_at: dt.datetime) -> bool:
        """Whether ``starts_at`` is one of this office's slot starts."""
        return starts_at in self.starts(starts_at.astimezone(TEHRAN).date())

    def public(self) -> dict[str, Any]:
        """As the API shows it."""
        return {
            "office": self.office_id,
            "counters": self.counters,
            "slot_minutes": self.slot_minutes,
            "days": {k: list(v) if v else None for k, v in self.days.items()},
            "closures": list(self.closures),
        }


def _days(raw: Any) -> dict[str, tuple[str, str] | None]:
    if not isinstance(raw, dict) or set(raw) - {str(d) for d in range(7)}:
        raise InvalidRequest("days: an object of weekday 0-6 (0 = Saturday)", field="days")
    out: dict[str, tuple[str, str] | None] = {str(d): None for d in range(7)}
    for day, hours in raw.items():
        if hours is None:
            continue
        if (
            not isinstance(hours, list)
            or len(hours) != 2
            or not all(isinstance(h, str) and HOURS.match(h) for h in hours)
            or hours[0] >= hours[1]
        ):
            raise InvalidRequest(f'days/{day}: ["HH:MM", "HH:MM"] or null', field="days")
        out[day] = (hours[0], hours[1])
    return out


def set_capacity(store: Store, office_id: str, body: dict[str, Any]) -> Capacity:
    """The office sets its capacity (replacing the one before)."""
    counters, minutes = body.get("counters"), body.get("slot_minutes", 15)
    if type(counters) is not int or not 1 <= counters <= 50:
        raise InvalidRequest("counters: 1-50", field="counters")
    if type(minutes) is not int or minutes not in (5, 10, 15, 20, 30, 60):
        raise InvalidRequest("slot_minutes: 5, 10, 15, 20, 30 or 60", field="slot_minutes")
    days = _days(body.get("days"))
    closures = body.get("closures") or []
    try:
        closed = sorted({format_date(parse_date(c), "-") for c in closures})
    except (TypeError, ValueError):
        raise InvalidRequest("closures: Jalali dates", field="closures") from None
    with store.write() as session:
        row = session.get(AppointmentCapacity, office_id) or AppointmentCapacity(
            office_id=office_id
        )
        row.counters, row.slot_minutes = counters, minutes
        row.days = json.dumps({k: list(v) if v else None for k, v in days.items()})
        row.closures, row.updated_at = json.dumps(closed), utcnow()
        session.add(row)
    return Capacity(office_id, counters, minutes, days, tuple(closed))


def capacity(store: Store, office_id: str) -> Capacity:
    """The office's capacity, or ``NotFound`` (it takes no appointments)."""
    with store.read() as session:
        row = session.get(AppointmentCapacity, office_id)
        if row is None:
            raise NotFound(f"office {office_id} takes no appointments")
        days = {k: tuple(v) if v else None for k, v in json.loads(row.days).items()}
        return Capacity(
            office_id, row.counters, row.slot_minutes, days, tuple(json.loads(row.closures))
        )


def parse_start(day: Any, time: Any) -> dt.datetime:
    """A slot start from a Jalali ``date`` and a Tehran ``time`` (``HH:MM``), as UTC."""
    try:
        when = parse_date(day)
    except (TypeError, ValueError):
        raise InvalidRequest("date: a Jalali date (YYYY-MM-DD)", field="date") from None
    if not isinstance(time, str) or not HOURS.match(time):
        raise InvalidRequest("time: HH:MM (Tehran)", field="time")
    local = dt.datetime.combine(when, dt.time.fromisoformat(time), tzinfo=TEHRAN)
    return local.astimezone(dt.UTC)


def free(store: Store, office_id: str, day: dt.date) -> list[dict[str, Any]]:
    """The office's coming slots on a Tehran day with the places still free."""
    from sqlalchemy import func, select

    from pishkhan_gateway.store.tables import Appointment

    offered = capacity(store, office_id)
    starts = [s for s in offered.starts(day) if s > utcnow()]
    if not starts:
        return []
    with store.read() as session:
        taken = dict(
            session.execute(
                select(Appointment.starts_at, func.count())
                .where(
                    Appointment.office_id == office_id,
                    Appointment.starts_at.in_(starts),
                    Appointment.counter.is_not(None),
                )
                .group_by(Appointment.starts_at)
            ).all()
        )
    taken = {(k if k.tzinfo else k.replace(tzinfo=dt.UTC)): v for k, v in taken.items()}
    return [
        {
            "time": s.astimezone(TEHRAN).strftime("%H:%M"),
            "free": offered.counters - taken.get(s, 0),
        }
        for s in starts
        if offered.counters - taken.get(s, 0) > 0
    ]


def offices_taking(store: Store, province: str) -> list[Any]:
    """The active offices of a province that take appointments (id, name, city, category)."""
    from sqlalchemy import select

    from pishkhan_gateway.store.tables import Office

    with store.read() as session:
        return list(
            session.execute(
                select(Office.id, Office.name, Office.city, Office.category, Office.province)
                .join(AppointmentCapacity, AppointmentCapacity.office_id == Office.id)
                .where(Office.province == province, Office.status == "active")
                .order_by(Office.city, Office.name)
            ).all()
        )
