"""What an agency does for the counters, computed from the transaction record (whose every row
the routine ``audit verify`` checks against the log, so these figures are as verifiable as the
log): its **coverage** — services declared, offered, used per Jalali month, and those used fewer
than 100 times a month ("connected for the record": 89 of 153 agencies in the national picture,
../shared/seeds/003) — and its **availability** — per hour, the calls that reached it, failures by
code, p50/p95 latency — so an outage is a fact anyone can check, not an excuse.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import jdatetime
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from pishkhan_gateway.errors import Forbidden, InvalidRequest, NotFound
from pishkhan_gateway.jalali import TEHRAN, format_moment
from pishkhan_gateway.records.scorecards import AGENCY_ERROR_CODES
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.outcomes import FINAL_OUTCOME
from pishkhan_gateway.store.tables import Transaction

LOW_USE = 100  # transactions a month below which a service is "connected for the record"
MAX_HOURS = 31 * 24
REACHED = (*AGENCY_ERROR_CODES, "agency_rejected")  # refusals and failures from the agency itself
# created_at is when the attempt began, log_index when it was recorded: an agency call can hold
# an attempt this long between the two, so index bounds are widened by it.
SKEW = dt.timedelta(minutes=5)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def index_range(session: Session, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    """``[lo, hi)`` of log indexes holding every transaction begun in ``[start, end)``, found
    by binary search on the unique ``log_index`` index: a time window is then an index range
    scan, not a scan of the whole table (``transactions`` has no index on ``created_at``, and
    one would cost every insert)."""
    low, high = session.execute(
        select(func.min(Transaction.log_index), func.max(Transaction.log_index))
    ).one()
    if low is None:
        return 0, 0

    def first_at_or_after(moment: dt.datetime) -> int:
        lo, hi = int(low), int(high) + 1
        while lo < hi:
            mid = (lo + hi) // 2
            created = session.scalar(
                select(Transaction.created_at)
                .where(Transaction.log_index >= mid)
                .order_by(Transaction.log_index)
                .limit(1)
            )
            if created is None or _aware(created) >= moment:
                hi = mid
            else:
                lo = mid + 1
        return lo

    return first_at_or_after(start - SKEW), first_at_or_after(end + SKEW)


def _in_scope(scope: Scope | None, agency: str) -> Any:
    """The rows an office (``scope`` None: aggregates only) or a supervisor may count."""
    if scope is None:
        return Transaction.agency == agency
    if scope.role == "agency" and scope.name != agency:
        raise Forbidden("an agency auditor reads its own agency's figures")
    return and_(Transaction.agency == agency, scope.transactions())


def _month(moment: dt.datetime) -> str:
    local = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(TEHRAN)
    return jdatetime.date.fromgregorian(date=local.date()).strftime("%Y-%m")


def coverage(
    store: Store, scope: Scope | None, plugins: Any, tariffs: Any, agency: str, months: int = 6
) -> dict[str, Any]:
    """Per service of ``agency``: declared (by its installed plugin, with its national registry
    id), offered (the tariff schedule in force prices it, so offices may sell it; a service it
    does not list has a cap of 0), and succeeded transactions per Jalali month over the last
    ``months``; services under ``LOW_USE`` in a month are flagged."""
    if agency not in plugins.agencies:
        raise NotFound(f"no agency {agency}")
    months = min(max(months, 1), 24)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=31 * months)
    declared = sorted(
        (s for s in plugins.services.values() if s.service.agency == agency),
        key=lambda s: s.service.id,
    )
    with store.read() as session:
        rows = session.execute(
            select(Transaction.service, Transaction.created_at).where(
                _in_scope(scope, agency),
                FINAL_OUTCOME == "succeeded",
                Transaction.created_at >= since,
            )
        ).all()
    used: dict[str, Counter[str]] = defaultdict(Counter)
    for service, created in rows:
        used[service][_month(created)] += 1
    now = dt.datetime.now(dt.UTC)
    schedule = tariffs.in_force(now)
    month_keys = sorted({_month(now - dt.timedelta(days=31 * i)) for i in range(months)})
    services = []
    for registered in declared:
        service = registered.service
        per_month = {m: used[service.id].get(m, 0) for m in month_keys}
        services.append(
            {
                "service": service.id,
                "registry_id": service.registry_id,
                "title_fa": service.title_fa,
                "kind": service.kind,
                "offered": schedule is not None and service.id in schedule.caps,
                "used_per_month": per_month,
                "below_100_a_month": [m for m, n in per_month.items() if n < LOW_USE],
            }
        )
    totals = {m: sum(s["used_per_month"][m] for s in services) for m in month_keys}
    return {
        "agency": agency,
        "months": month_keys,
        "declared": len(services),
        "without_registry_id": [s["service"] for s in services if not s["registry_id"]],
        "services": services,
        "used_per_month": totals,
        "agency_below_100_a_month": [m for m, n in totals.items() if n < LOW_USE],
    }


def _percentile(values: list[int], share: float) -> int | None:
    """Nearest-rank percentile (no interpolation: a latency that was measured)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n·share)
    return ordered[int(rank) - 1]


def availability(
    store: Store, scope: Scope | None, agency: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """Per Tehran hour in [start, end): calls that reached the agency, failures by code, p50 and
    p95 latency (ms) of those calls; hours without calls are listed with zeros."""
    if end <= start:
        raise InvalidRequest("to must be after from", field="to")
    if end - start > dt.timedelta(hours=MAX_HOURS):
        raise InvalidRequest(f"at most {MAX_HOURS // 24} days at a time", field="to")
    reached = or_(Transaction.code.is_(None), Transaction.code.in_(REACHED))
    with store.read() as session:
        lo, hi = index_range(session, start, end)
        rows = session.execute(
            select(Transaction.created_at, Transaction.code, Transaction.latency_ms).where(
                Transaction.log_index >= lo,
                Transaction.log_index < hi,
                _in_scope(scope, agency),
                Transaction.created_at >= start,
                Transaction.created_at < end,
                reached,
            )
        ).all()
    first = start.astimezone(TEHRAN).replace(minute=0, second=0, microsecond=0)
    hours: dict[dt.datetime, dict[str, Any]] = {}
    moment = first
    while moment < end:
        hours[moment] = {"calls": 0, "failures": Counter(), "latencies": []}
        moment += dt.timedelta(hours=1)
    for created, code, latency in rows:
        local = (created if created.tzinfo else created.replace(tzinfo=dt.UTC)).astimezone(TEHRAN)
        bucket = hours.get(local.replace(minute=0, second=0, microsecond=0))
        if bucket is None:
            continue
        bucket["calls"] += 1
        bucket["latencies"].append(int(latency or 0))
        if code in AGENCY_ERROR_CODES:
            bucket["failures"][code] += 1
    out = []
    for hour, bucket in hours.items():
        failed = sum(bucket["failures"].values())
        out.append(
            {
                "hour": hour.astimezone(dt.UTC).isoformat(),
                "jalali": format_moment(hour)[:-3],
                "calls": bucket["calls"],
                "failures": dict(sorted(bucket["failures"].items())),
                "failure_rate": round(failed / bucket["calls"], 4) if bucket["calls"] else 0.0,
                "p50_ms": _percentile(bucket["latencies"], 0.5),
                "p95_ms": _percentile(bucket["latencies"], 0.95),
            }
        )
    calls = sum(h["calls"] for h in out)
    failures = sum(sum(h["failures"].values()) for h in out)
    return {
        "agency": agency,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "calls": calls,
        "failures": failures,
        "failure_rate": round(failures / calls, 4) if calls else 0.0,
        "hours_with_failures": sum(1 for h in out if h["failures"]),
        "hours": out,
    }


def recent(store: Store, window: dt.timedelta) -> dict[str, dict[str, Any]]:
    """Per agency, over the last ``window``: calls that reached it, failures by code, p50/p95
    latency (ms) — the metrics' view of the availability ledger, counted and ranked by the
    database (``LIMIT 1 OFFSET k`` for a percentile) rather than in Python."""
    end = dt.datetime.now(dt.UTC)
    start = end - window
    reached = or_(Transaction.code.is_(None), Transaction.code.in_(REACHED))
    figures: dict[str, dict[str, Any]] = {}
    with store.read() as session:
        lo, hi = index_range(session, start, end)
        where = (
            Transaction.log_index >= lo,
            Transaction.log_index < hi,
            Transaction.created_at >= start,
            Transaction.agency.is_not(None),
            reached,
        )
        counted = session.execute(
            select(Transaction.agency, Transaction.code, func.count())
            .where(*where)
            .group_by(Transaction.agency, Transaction.code)
        ).all()
        for agency, code, n in counted:
            entry = figures.setdefault(agency, {"calls": 0, "failures": {}})
            entry["calls"] += n
            if code in AGENCY_ERROR_CODES:
                entry["failures"][code] = n
        for agency, entry in figures.items():
            for name, share in (("p50_ms", 0.5), ("p95_ms", 0.95)):
                rank = max(1, -(-entry["calls"] * share // 1))
                entry[name] = session.scalar(
                    select(Transaction.latency_ms)
                    .where(*where, Transaction.agency == agency)
                    .order_by(Transaction.latency_ms)
                    .limit(1)
                    .offset(int(rank) - 1)
                )
    return figures
