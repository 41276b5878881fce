"""Daily settlement of an office: what it collected, per service, on one Tehran day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from pishkhan_gateway.jalali import TEHRAN, format_date
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import Transaction


def daily(store: Store, office_id: str, day: dt.date) -> dict[str, Any]:
    """Counts and sums (integer rials) of the office's succeeded transactions on ``day``."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=TEHRAN).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    where = (
        Transaction.office_id == office_id,
        Transaction.outcome == "succeeded",
        Transaction.created_at >= start,
        Transaction.created_at < end,
    )
    with store.read() as session:
        rows = session.execute(
            select(
                Transaction.service,
                func.count(),
                func.sum(Transaction.agency_amount),
                func.sum(Transaction.office_fee),
                func.sum(Transaction.total),
                func.min(Transaction.log_index),
                func.max(Transaction.log_index),
            )
            .where(*where)
            .group_by(Transaction.service)
            .order_by(Transaction.service)
        ).all()
    services = [
        {
            "service": s,
            "count": int(n),
            "agency_amount": int(a or 0),
            "office_fee": int(f or 0),
            "total": int(t or 0),
        }
        for s, n, a, f, t, _lo, _hi in rows
    ]
    totals = {
        key: sum(s[key] for s in services)
        for key in ("count", "agency_amount", "office_fee", "total")
    }
    return {
        "office_id": office_id,
        "date": format_date(day, "-"),
        "date_gregorian": day.isoformat(),
        "services": services,
        "totals": totals,
        "log_indexes": ([min(r[5] for r in rows), max(r[6] for r in rows)] if rows else None),
    }
