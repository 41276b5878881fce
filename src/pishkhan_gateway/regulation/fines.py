"""The fine rules of violation cases (../shared/seeds/000, line 52), and what counts against
an office: the minimum fine of a repeated violation of the same type within 12 months is twice
the previous fine; the fines of one obligation (violation type) in one Jalali year are capped
(``pricing/licencefees.py``); an overturned case counts for nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jdatetime
from sqlalchemy import func, select

from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import ViolationCase

TYPES = ("overcharging", "forged_documents", "unapproved_relocation", "hours", "other")
COUNTING = ("decided", "objected", "upheld")  # states whose points and fine count
REPEAT_WINDOW = dt.timedelta(days=365)


def minimum_fine(
    session: Any, office_id: str, kind: str, now: dt.datetime
) -> tuple[int, str | None]:
    """Twice the fine of the office's last counted violation of ``kind`` within 12 months (and
    that case's id), or 0 for a first one."""
    last = session.execute(
        select(ViolationCase.id, ViolationCase.fine)
        .where(
            ViolationCase.office_id == office_id,
            ViolationCase.type == kind,
            ViolationCase.state.in_(COUNTING),
            ViolationCase.decided_at >= now - REPEAT_WINDOW,
        )
        .order_by(ViolationCase.decided_at.desc())
        .limit(1)
    ).first()
    if last is None:
        return 0, None
    return 2 * int(last.fine or 0), last.id


def jalali_year(moment: dt.datetime) -> int:
    """The Jalali year of ``moment`` in Tehran."""
    return jdatetime.date.fromgregorian(date=moment.astimezone(TEHRAN).date()).year


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of Jalali ``year`` in Tehran, as UTC instants."""
    start = jdatetime.date(year, 1, 1).togregorian()
    end = jdatetime.date(year + 1, 1, 1).togregorian()
    return (
        dt.datetime.combine(start, dt.time(0), tzinfo=TEHRAN).astimezone(dt.UTC),
        dt.datetime.combine(end, dt.time(0), tzinfo=TEHRAN).astimezone(dt.UTC),
    )


def fined_in_year(session: Any, office_id: str, kind: str, now: dt.datetime) -> int:
    """The office's counted fines for violations of ``kind`` decided in ``now``'s Jalali year."""
    start, end = year_bounds(jalali_year(now))
    total = session.scalar(
        select(func.coalesce(func.sum(ViolationCase.fine), 0)).where(
            ViolationCase.office_id == office_id,
            ViolationCase.type == kind,
            ViolationCase.state.in_(COUNTING),
            ViolationCase.decided_at >= start,
            ViolationCase.decided_at < end,
        )
    )
    return int(total or 0)


def standing(store: Store, office_id: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """What counts against an office: negative points over the last 12 months, fines this Jalali
    year, decided cases by type (overturned ones left out)."""
    now = now or utcnow()
    start, end = year_bounds(jalali_year(now))
    with store.read() as session:
        counted = (
            ViolationCase.office_id == office_id,
            ViolationCase.state.in_(COUNTING),
        )
        points = session.scalar(
            select(func.coalesce(func.sum(ViolationCase.points), 0)).where(
                *counted, ViolationCase.decided_at >= now - REPEAT_WINDOW
            )
        )
        fines = session.scalar(
            select(func.coalesce(func.sum(ViolationCase.fine), 0)).where(
                *counted, ViolationCase.decided_at >= start, ViolationCase.decided_at < end
            )
        )
        by_type = dict(
            session.execute(
                select(ViolationCase.type, func.count())
                .where(*counted)
                .group_by(ViolationCase.type)
            ).all()
        )
    return {
        "points_12_months": int(points or 0),
        "fines_this_year": int(fines or 0),
        "jalali_year": jalali_year(now),
        "decided_by_type": {kind: int(by_type.get(kind, 0)) for kind in TYPES},
    }
