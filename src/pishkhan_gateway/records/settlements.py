"""Daily settlement of an office: what it collected, per service, on one Tehran day.

A transaction counts as what it finally is, on the day it was first attempted: a payment left
``unknown`` and settled ``succeeded`` by reconcile is money that moved (and is marked
``settled_later``); one settled ``not_applied`` is not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select

from pishkhan_gateway.jalali import TEHRAN, format_date
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.outcomes import FINAL_OUTCOME
from pishkhan_gateway.store.tables import Transaction

SUMS = ("count", "settled_later", "agency_amount", "office_fee", "total")


def daily(store: Store, office_id: str, day: dt.date) -> dict[str, Any]:
    """Counts and sums (integer rials) of the office's transactions that succeeded, as first
    attempted on ``day`` (Tehran)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=TEHRAN).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    where = (
        Transaction.office_id == office_id,
        FINAL_OUTCOME == "succeeded",
        Transaction.created_at >= start,
        Transaction.created_at < end,
    )
    later = func.sum(case((Transaction.outcome != "succeeded", 1), else_=0))
    total = Transaction.agency_amount + Transaction.office_fee
    with store.read() as session:
        rows = session.execute(
            select(
                Transaction.service,
                func.count(),
                later,
                func.sum(Transaction.agency_amount),
                func.sum(Transaction.office_fee),
                func.sum(total),
                func.min(Transaction.log_index),
                func.max(Transaction.log_index),
            )
            .where(*where)
            .group_by(Transaction.service)
            .order_by(Transaction.service)
        ).all()
    services = [
        {"service": s, **{key: int(value or 0) for key, value in zip(SUMS, sums, strict=True)}}
        for s, *sums, _lo, _hi in rows
    ]
    totals = {key: sum(s[key] for s in services) for key in SUMS}
    return {
        "office_id": office_id,
        "date": format_date(day, "-"),
        "date_gregorian": day.isoformat(),
        "services": services,
        "totals": totals,
        "log_indexes": ([min(r[6] for r in rows), max(r[7] for r in rows)] if rows else None),
    }
