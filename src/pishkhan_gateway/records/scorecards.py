"""Office scorecards and their daily series (the console's charts), and agency scorecards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from pishkhan_gateway.citizens import feedback
from pishkhan_gateway.citizens.crowding import walk_ins
from pishkhan_gateway.errors import NotFound
from pishkhan_gateway.jalali import TEHRAN, format_date
from pishkhan_gateway.records.search import Filters
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import fines, hours
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.outcomes import FINAL_OUTCOME
from pishkhan_gateway.store.tables import Office, Transaction

IDENTITY_CODES = (
    "invalid_national_code",
    "identity_mismatch",
    "citizen_deceased",
    "mobile_not_owned",
    "otp_required",
    "otp_invalid",
    "identity_unavailable",
)


AGENCY_ERROR_CODES = ("agency_unavailable", "agency_timeout", "agency_error")


def scorecard(store: Store, scope: Scope, office_id: str, filters: Filters) -> dict[str, Any]:
    """The indicators the regulator's ranking uses, for one office and period (in scope)."""
    with store.read() as session:
        office = session.get(Office, office_id)
        if office is None or (scope.role != "agency" and not scope.oversees(office.province)):
            raise NotFound(f"no office {office_id} in your scope")
        where = [*Filters(**{**filters.__dict__, "office": office_id}).conditions(scope)]

        def count_if(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        succeeded = FINAL_OUTCOME == "succeeded"  # reconciled payments are money that moved
        agency_error = Transaction.code.in_(AGENCY_ERROR_CODES) & ~succeeded
        totals = session.execute(
            select(
                func.count(),
                count_if(succeeded),
                count_if(FINAL_OUTCOME == "refused"),
                count_if(FINAL_OUTCOME.in_(("failed", "not_applied"))),
                count_if(FINAL_OUTCOME == "unknown"),
                count_if(Transaction.code == "tariff_exceeded"),
                count_if(Transaction.code.in_(IDENTITY_CODES)),
                count_if(agency_error),
                count_if(succeeded & (Transaction.outcome != "succeeded")),
                func.coalesce(func.sum(case((succeeded, Transaction.office_fee), else_=0)), 0),
                func.coalesce(func.sum(case((succeeded, Transaction.agency_amount), else_=0)), 0),
            ).where(*where)
        ).one()
        by_service = session.execute(
            select(
                Transaction.service,
                func.count(),
                count_if(succeeded),
                func.coalesce(func.sum(case((succeeded, Transaction.office_fee), else_=0)), 0),
            )
            .where(*where)
            .group_by(Transaction.service)
            .order_by(Transaction.service)
        ).all()
        province_hours = hours.hours_in(session, office.province)
        outside = None  # no hours set for the province: nothing to flag
        if province_hours:
            times = session.scalars(select(Transaction.created_at).where(*where))
            outside = sum(1 for moment in times if hours.outside(province_hours, moment))
    total = int(totals[0])
    dispatched = int(totals[1]) + int(totals[3]) + int(totals[4]) + int(totals[7])
    return {
        "office": {
            "id": office.id,
            "name": office.name,
            "licence_no": office.licence_no,
            "province": office.province,
            "category": office.category,
            "status": office.status,
            "expires_on": office.expires_on.isoformat(),
        },
        "period": {k: v for k, v in filters.described().items() if k in ("start", "end")},
        "scope": scope.label,
        "transactions": total,
        "outcomes": {
            "succeeded": int(totals[1]),
            "refused": int(totals[2]),
            "failed": int(totals[3]),
            "unknown": int(totals[4]),
        },
        "settled_later": int(totals[8]),
        # Attempts refused at the counter for a fee above the cap: an indicator (a typo blocked
        # counts here), not a violation; the violations are the decided cases below.
        "over_cap_refusals": int(totals[5]),
        "violations": fines.standing(store, office_id),
        "outside_hours": outside,
        "identity_failures": int(totals[6]),
        "agency_errors": int(totals[7]),
        "agency_error_rate": round(int(totals[7]) / dispatched, 4) if dispatched else 0.0,
        "office_fees": int(totals[9]),
        "agency_amounts": int(totals[10]),
        "by_service": [
            {"service": s, "transactions": int(n), "succeeded": int(ok), "office_fees": int(fees)}
            for s, n, ok, fees in by_service
        ],
        # under a province's appointment-only order: walk-ins since it (appointments/crowding)
        "appointment_only": walk_ins(store, office_id),
        # citizens' ratings from receipts' pages (all time): the office, and per service
        "satisfaction": {
            **feedback.satisfaction(store, "office_id", office_id=office_id).get(
                office_id, feedback.NONE
            ),
            "by_service": feedback.satisfaction(store, "service", office_id=office_id),
        },
    }


def daily(
    store: Store, scope: Scope, office_id: str, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """Per Tehran day in [start, end]: transactions, fees, over-cap refusals, agency error rate
    of one office (in scope) — the console's charts."""
    lower = dt.datetime.combine(start, dt.time(0), tzinfo=TEHRAN)
    upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=TEHRAN)
    days = {start + dt.timedelta(days=i): _day() for i in range((end - start).days + 1)}
    with store.read() as session:
        rows = session.execute(
            select(
                Transaction.created_at,
                FINAL_OUTCOME,
                Transaction.code,
                Transaction.office_fee,
            ).where(
                Transaction.office_id == office_id,
                scope.transactions(),
                Transaction.created_at >= lower,
                Transaction.created_at < upper,
            )
        )
        for created, outcome, code, fee in rows:
            moment = created if created.tzinfo else created.replace(tzinfo=dt.UTC)
            day = days.get(moment.astimezone(TEHRAN).date())
            if day is None:
                continue
            day["transactions"] += 1
            if outcome == "succeeded":
                day["office_fees"] += fee or 0
                day["dispatched"] += 1
            if code == "tariff_exceeded":
                day["over_cap_refusals"] += 1
            if code in AGENCY_ERROR_CODES and outcome != "succeeded":
                day["agency_errors"] += 1
                day["dispatched"] += 1
    out = []
    for date, day in days.items():
        rate = day["agency_errors"] / day["dispatched"] if day["dispatched"] else 0.0
        out.append(
            {
                "date": date.isoformat(),
                "jalali": format_date(date),
                "transactions": day["transactions"],
                "office_fees": day["office_fees"],
                "over_cap_refusals": day["over_cap_refusals"],
                "agency_error_rate": round(rate, 4),
            }
        )
    return out


def _day() -> dict[str, int]:
    return {
        "transactions": 0,
        "office_fees": 0,
        "over_cap_refusals": 0,
        "agency_errors": 0,
        "dispatched": 0,
    }


def scorecard_of_agency(
    store: Store, scope: Scope, agency: str, since: dt.datetime
) -> dict[str, Any]:
    """An agency's traffic since ``since`` (in scope): transactions, agency errors, error rate
    over the calls that reached it."""
    with store.read() as session:
        total, errors, succeeded = session.execute(
            select(
                func.count(),
                func.coalesce(
                    func.sum(
                        case(
                            (
                                Transaction.code.in_(AGENCY_ERROR_CODES)
                                & (FINAL_OUTCOME != "succeeded"),
                                1,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
                func.coalesce(func.sum(case((FINAL_OUTCOME == "succeeded", 1), else_=0)), 0),
            ).where(
                Transaction.agency == agency,
                Transaction.created_at >= since,
                scope.transactions(),
            )
        ).one()
    reached = int(errors) + int(succeeded)
    return {
        "transactions": int(total),
        "agency_errors": int(errors),
        "error_rate": round(int(errors) / reached, 4) if reached else 0.0,
        "satisfaction": {
            **feedback.satisfaction(store, "agency", since, agency=agency).get(
                agency, feedback.NONE
            ),
            "by_service": feedback.satisfaction(store, "service", since, agency=agency),
        },
    }
