"""Working hours per province, as its working group sets them (../shared/seeds/001, line 101:
offices serve in the hours the provincial working group announces).

Hours are data: per weekday (0 = Saturday … 6 = Friday), opening and closing time in Tehran; a day
without hours is closed. A transaction outside them is not refused — a counter may stay open late
with permission — but flagged on the office's scorecard (``outside_hours``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import delete, select

from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import authority
from pishkhan_gateway.regulation.licencelog import note
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import WorkingHours

WEEKDAYS_FA = ("شنبه", "یکشنبه", "دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

Hours = dict[int, tuple[str, str]]  # Persian weekday -> (opens, closes)


def persian_weekday(day: dt.date) -> int:
    """0 for Saturday … 6 for Friday."""
    return (day.weekday() + 2) % 7


def _parse(days: Any) -> Hours:
    if not isinstance(days, dict):
        raise InvalidRequest(
            'send {"days": {"0": ["08:00", "16:00"], …}} (0 = Saturday; null = closed)',
            field="days",
        )
    hours: Hours = {}
    for key, span in days.items():
        if not (isinstance(key, str) and key.isdecimal() and 0 <= int(key) <= 6):
            raise InvalidRequest("weekdays are 0 (Saturday) to 6 (Friday)", field=f"days/{key}")
        if span is None:
            continue
        if (
            not isinstance(span, list)
            or len(span) != 2
            or not all(isinstance(t, str) and _TIME.match(t) for t in span)
            or span[0] >= span[1]
        ):
            raise InvalidRequest(
                "each day is [opens, closes] as HH:MM, opening first", field=f"days/{key}"
            )
        hours[int(key)] = (span[0], span[1])
    return hours


def set_hours(store: Store, scope: Scope, province: str, days: Any) -> dict[str, Any]:
    """Replace a province's working hours (its working group, or the regulator)."""
    authority.authorise(scope, "working_hours", province)
    hours = _parse(days)
    now = utcnow()
    with store.write() as session:
        session.execute(delete(WorkingHours).where(WorkingHours.province == province))
        for weekday, (opens, closes) in sorted(hours.items()):
            session.add(
                WorkingHours(
                    province=province,
                    weekday=weekday,
                    opens=opens,
                    closes=closes,
                    set_by=scope.supervisor_id,
                    set_at=now,
                )
            )
        index = note(
            session,
            office_id=None,  # a province-wide entry: the province it names scopes it
            entry_type="working_hours_set",
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            province=province,
            days={str(k): list(v) for k, v in sorted(hours.items())},
        )
    return {"province": province, **described(hours), "log_index": index}


def hours_of(store: Store, province: str) -> Hours:
    """A province's hours (empty when none were set)."""
    with store.read() as session:
        return hours_in(session, province)


def hours_in(session: Any, province: str) -> Hours:
    """A province's hours, read in ``session``."""
    rows = session.execute(
        select(WorkingHours.weekday, WorkingHours.opens, WorkingHours.closes).where(
            WorkingHours.province == province
        )
    ).all()
    return {int(day): (opens, closes) for day, opens, closes in rows}


def described(hours: Hours) -> dict[str, Any]:
    """The API's form: ``days`` by weekday number, with Persian names."""
    return {
        "set": bool(hours),
        "days": {
            str(day): {
                "name_fa": WEEKDAYS_FA[day],
                "hours": list(hours[day]) if day in hours else None,
            }
            for day in range(7)
        },
    }


def outside(hours: Hours, moment: dt.datetime) -> bool:
    """Whether ``moment`` falls outside the hours (never, when none were set)."""
    if not hours:
        return False
    local = (
        moment.astimezone(TEHRAN)
        if moment.tzinfo
        else moment.replace(tzinfo=dt.UTC).astimezone(TEHRAN)
    )
    span = hours.get(persian_weekday(local.date()))
    if span is None:
        return True
    clock = local.strftime("%H:%M")
    return not span[0] <= clock < span[1]
