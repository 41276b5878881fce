"""An office's licence as it stands: expiry, the 90/30/7-day warnings, when a renewal may be
asked (three months before expiry: ../shared/seeds/001, line 92), and its requests."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from pishkhan_gateway.errors import NotFound
from pishkhan_gateway.jalali import format_date
from pishkhan_gateway.registry.offices import today
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import Office, OfficeRequest

OPEN = ("requested", "recommended")
RENEWAL_OPENS_MONTHS = 3
WARNING_DAYS = (90, 30, 7)


# the log entry types of each step, per kind
def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day if it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has a 28th


def renewal_opens_on(expires_on: dt.date) -> dt.date:
    """The first day a renewal may be asked for: three months before expiry."""
    return months_before(expires_on, RENEWAL_OPENS_MONTHS)


def warning(expires_on: dt.date, on: dt.date | None = None) -> int | str | None:
    """``"expired"``, or the smallest of 90, 30, 7 days the expiry is within, or None."""
    days = (expires_on - (on or today())).days
    if days < 0:
        return "expired"
    within = [limit for limit in WARNING_DAYS if days <= limit]
    return min(within) if within else None


def licence_status(store: Store, office_id: str) -> dict[str, Any]:
    """What an office sees of its licence: expiry, days left, the warning, when a renewal may be
    asked, and its open requests."""
    with store.read() as session:
        office = session.get(Office, office_id)
        if office is None:
            raise NotFound(f"no office {office_id}")
        pending = session.scalars(
            select(OfficeRequest)
            .where(OfficeRequest.office_id == office_id, OfficeRequest.state.in_(OPEN))
            .order_by(OfficeRequest.requested_at)
        ).all()
    now = today()
    return {
        "office": office.id,
        "licence_no": office.licence_no,
        "holder": office.holder,
        "status": office.status,
        "issued_on": office.issued_on.isoformat(),
        "expires_on": office.expires_on.isoformat(),
        "expires_on_jalali": format_date(office.expires_on, "-"),
        "days_left": (office.expires_on - now).days,
        "warning": warning(office.expires_on, now),
        "renewal_opens_on": renewal_opens_on(office.expires_on).isoformat(),
        "renewal_opens_on_jalali": format_date(renewal_opens_on(office.expires_on), "-"),
        "category": office.category,
        "city": office.city,
        "address": office.address,
        "moves_on": office.moves_on.isoformat() if office.moves_on else None,
        "open_requests": [describe(row) for row in pending],
    }


def describe(row: OfficeRequest) -> dict[str, Any]:
    """A request as the API shows it."""
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "details": json.loads(row.details),
        "requested_at": row.requested_at.isoformat(),
        "recommendation": json.loads(row.recommendation) if row.recommendation else None,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "decision_reason": row.decision_reason,
        "fee": row.fee,
    }


def requests_of(store: Store, office_id: str) -> list[dict[str, Any]]:
    """Every request of an office, newest first."""
    with store.read() as session:
        rows = session.scalars(
            select(OfficeRequest)
            .where(OfficeRequest.office_id == office_id)
            .order_by(OfficeRequest.requested_at.desc())
        ).all()
    return [describe(row) for row in rows]
