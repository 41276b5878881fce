"""What supervisors ask of the record: searches, streamed exports, office scorecards, licence
actions. Every query carries the supervisor's scope in its WHERE clause.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jdatetime
from sqlalchemy import ColumnElement, case, func, select

from pishkhan_gateway import ledger, merkle, offices
from pishkhan_gateway.errors import InvalidRequest, NotFound
from pishkhan_gateway.history import OUTCOMES
from pishkhan_gateway.identity import Pseudonymizer, ascii_digits
from pishkhan_gateway.ledger import iso
from pishkhan_gateway.sealer import latest_head, node_lookup
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LogEntry, Office, Transaction
from pishkhan_gateway.supervisors import Scope
from pishkhan_gateway.tariffs import TEHRAN

MAX_PAGE = 500
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
EXPORT_COLUMNS = (
    "log_index",
    "transaction_id",
    "time",
    "office_id",
    "operator",
    "service",
    "agency",
    "outcome",
    "code",
    "agency_amount",
    "office_fee",
    "total",
    "fee_cap",
    "agency_reference",
    "citizen",
    "latency_ms",
    "settled_outcome",
    "settled_log_index",
)
ACTIONS = {"suspend": "suspended", "revoke": "revoked", "reinstate": "active"}


def parse_moment(raw: str, field: str, *, end: bool = False) -> dt.datetime:
    """A date or datetime, Jalali (year < 1700) or ISO; a bare date means its Tehran midnight
    (``end``: the next midnight, so ``to=1405-09-03`` includes that whole day)."""
    text = ascii_digits(raw.strip()).replace("/", "-")
    try:
        if "T" in text or " " in text:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=TEHRAN)
        year, month, day = (int(p) for p in text.split("-"))
        date = (
            jdatetime.date(year, month, day).togregorian()
            if year < 1700
            else dt.date(year, month, day)
        )
    except ValueError:
        raise InvalidRequest(
            f"{field}: use YYYY-MM-DD (Jalali or Gregorian) or ISO 8601", field=field
        ) from None
    midnight = dt.datetime.combine(date, dt.time(0), tzinfo=TEHRAN)
    return (midnight + dt.timedelta(days=1) if end else midnight).astimezone(dt.UTC)


@dataclass(frozen=True)
class Filters:
    """Search filters, already parsed; ``citizen`` is a pseudonym, never the national code."""

    office: str | None = None
    agency: str | None = None
    service: str | None = None
    outcome: str | None = None
    code: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    citizen: str | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str], pseudonyms: Pseudonymizer) -> Filters:
        """From query arguments; the national code is pseudonymised here, server side
        (``citizen`` takes a pseudonym directly, so a link can repeat a search without it)."""
        outcome = args.get("outcome")
        if outcome and outcome not in OUTCOMES:
            raise InvalidRequest(f"outcome must be one of {OUTCOMES}", field="outcome")
        code = args.get("national_code")
        return cls(  # an empty field (a form left blank) filters nothing
            office=args.get("office") or None,
            agency=args.get("agency") or None,
            service=args.get("service") or None,
            outcome=outcome or None,
            code=args.get("code") or None,
            start=parse_moment(args["from"], "from") if args.get("from") else None,
            end=parse_moment(args["to"], "to", end=True) if args.get("to") else None,
            citizen=(
                pseudonyms.national_codes(ascii_digits(code.strip()))  # every key's
                if code
                else args.get("citizen") or None
            ),
        )

    def described(self) -> dict[str, Any]:
        """The filters as recorded in the supervisor-access log entry (no personal data)."""
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        for key in ("start", "end"):
            if key in out:
                out[key] = iso(out[key])
        return out

    def conditions(self, scope: Scope) -> list[ColumnElement[bool]]:
        """WHERE conditions: the scope first, then each filter given."""
        where = [scope.transactions()]
        for column, value in (
            (Transaction.office_id, self.office),
            (Transaction.agency, self.agency),
            (Transaction.service, self.service),
            (Transaction.outcome, self.outcome),
            (Transaction.code, self.code),
            (Transaction.citizen, self.citizen),
        ):
            if isinstance(value, tuple):
                where.append(column.in_(value))
            elif value is not None:
                where.append(column == value)
        if self.start is not None:
            where.append(Transaction.created_at >= self.start)
        if self.end is not None:
            where.append(Transaction.created_at < self.end)
        return where


def audit_view(row: Transaction) -> dict[str, Any]:
    """A transaction as supervisors see it: pseudonyms, never personal data."""
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
    return {
        "log_index": row.log_index,
        "transaction_id": row.id,
        "time": iso(created),
        "office_id": row.office_id,
        "operator": row.operator,
        "service": row.service,
        "agency": row.agency,
        "outcome": row.outcome,
        "code": row.code,
        "agency_amount": row.agency_amount,
        "office_fee": row.office_fee,
        "total": row.total,
        "fee_cap": row.fee_cap,
        "agency_reference": row.agency_reference,
        "citizen": row.citizen,
        "latency_ms": row.latency_ms,
        "settled_outcome": row.settled_outcome,
        "settled_log_index": row.settled_log_index,
    }


def search(
    store: Store, scope: Scope, filters: Filters, *, limit: int = 100, cursor: str | None = None
) -> dict[str, Any]:
    """A page of matching transactions, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be 1..{MAX_PAGE}", field="limit")
    where = filters.conditions(scope)
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidRequest("cursor is not one this server issued", field="cursor")
        where.append(Transaction.log_index < int(cursor))
    query = select(Transaction).where(*where).order_by(Transaction.log_index.desc())
    with store.read() as session:
        rows = list(session.scalars(query.limit(limit + 1)))
    items = [audit_view(r) for r in rows[:limit]]
    return {
        "items": items,
        "next_cursor": str(rows[limit - 1].log_index) if len(rows) > limit else None,
    }


def export(store: Store, scope: Scope, filters: Filters, fmt: str) -> Iterator[bytes]:
    """Matching transactions in log order as CSV or JSON lines, streamed from a server-side
    cursor: memory stays flat however many rows there are."""
    if fmt not in ("csv", "jsonl"):
        raise InvalidRequest("format must be csv or jsonl", field="format")
    # Core rows, not ORM objects: no identity map, and a third of the cost per row.
    query = (
        select(Transaction.__table__)
        .where(*filters.conditions(scope))
        .order_by(Transaction.log_index)
        .execution_options(yield_per=2000)
    )

    def rows() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
        if fmt == "csv":
            writer.writeheader()
        with store.read() as session:
            for row in session.execute(query):
                view = audit_view(row)  # type: ignore[arg-type]
                if fmt == "csv":
                    writer.writerow(view)
                else:
                    buffer.write(json.dumps(view, ensure_ascii=False) + "\n")
                if buffer.tell() > 65536:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue().encode()

    return rows()


def scorecard(store: Store, scope: Scope, office_id: str, filters: Filters) -> dict[str, Any]:
    """The indicators the regulator's ranking uses, for one office and period (in scope)."""
    with store.read() as session:
        office = session.get(Office, office_id)
        if office is None or (scope.role == "province" and office.province != scope.name):
            raise NotFound(f"no office {office_id} in your scope")
        where = [*Filters(**{**filters.__dict__, "office": office_id}).conditions(scope)]

        def count_if(condition: ColumnElement[bool]) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        succeeded = Transaction.outcome == "succeeded"
        totals = session.execute(
            select(
                func.count(),
                count_if(succeeded),
                count_if(Transaction.outcome == "refused"),
                count_if(Transaction.outcome == "failed"),
                count_if(Transaction.outcome == "unknown"),
                count_if(Transaction.code == "tariff_exceeded"),
                count_if(Transaction.code.in_(IDENTITY_CODES)),
                count_if(Transaction.code.in_(AGENCY_ERROR_CODES)),
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
        "tariff_violations": int(totals[5]),
        "identity_failures": int(totals[6]),
        "agency_errors": int(totals[7]),
        "agency_error_rate": round(int(totals[7]) / dispatched, 4) if dispatched else 0.0,
        "office_fees": int(totals[8]),
        "agency_amounts": int(totals[9]),
        "by_service": [
            {"service": s, "transactions": int(n), "succeeded": int(ok), "office_fees": int(fees)}
            for s, n, ok, fees in by_service
        ],
    }


def licence_action(
    store: Store, scope: Scope, office_id: str, action: str, reason: str
) -> dict[str, Any]:
    """Suspend, revoke or reinstate an office (regulator or its province only), logged."""
    if action not in ACTIONS:
        raise NotFound(f"no licence action {action}")
    reason = (reason or "").strip()
    if not 3 <= len(reason) <= 2000:
        raise InvalidRequest("give the reason for the action (3-2000 characters)", field="reason")
    office = offices.get_office(store, office_id)
    if office is None:
        raise NotFound(f"no office {office_id}")
    scope.may_act_on(office)
    if office.status == "revoked" and action == "reinstate":
        raise InvalidRequest("a revoked licence cannot be reinstated; a new licence is needed")
    offices.set_status(store, office_id, ACTIONS[action], reason)
    index = ledger.record_event(
        store,
        {
            "type": "licence_action",
            "office": office_id,
            "action": action,
            "reason": reason,
            "status_before": office.status,
            "status_after": ACTIONS[action],
            "supervisor": scope.supervisor_id,
            "scope": scope.label,
        },
    )
    return {
        "office": office_id,
        "action": action,
        "status": ACTIONS[action],
        "reason": reason,
        "log_index": index,
    }


def log_access(
    store: Store, scope: Scope, action: str, details: Mapping[str, Any] | None = None
) -> int:
    """Log a supervisor's read or action (before anything is shown); the entry's index."""
    return ledger.record_event(
        store,
        {
            "type": "supervisor_access",
            "supervisor": scope.supervisor_id,
            "scope": scope.label,
            "action": action,
            "details": dict(details or {}),
        },
    )


def province_of(session: Any, office_id: str | None, cache: dict[str, str | None]) -> str | None:
    """The province of ``office_id`` (memoised in ``cache`` for one listing)."""
    if office_id is None:
        return None
    if office_id not in cache:
        cache[office_id] = session.scalar(select(Office.province).where(Office.id == office_id))
    return cache[office_id]


def inclusion(store: Store, index: int, size: int, scope: Scope | None) -> dict[str, Any]:
    """RFC 6962 audit path of entry ``index`` in the signed tree of ``size`` (in scope), with
    the entry's exact bytes (base64) so the caller can hash the leaf itself."""
    with store.read() as session:
        head = latest_head(session)
        if head is None or size > head.tree_size or index >= size:
            raise InvalidRequest(
                "need index < tree_size <= the latest signed tree size", field="tree_size"
            )
        entry = session.scalar(select(LogEntry.entry).where(LogEntry.index == index))
        if entry is None:
            raise NotFound(f"no entry {index}")
        decoded = json.loads(bytes(entry))
        if scope is not None and not scope.sees_entry(
            decoded, province_of(session, decoded.get("office"), {})
        ):
            raise NotFound(f"no entry {index} in your scope")
        path = merkle.inclusion_path(node_lookup(session), index, size)
    return {
        "index": index,
        "tree_size": size,
        "leaf_hash": merkle.leaf_hash(bytes(entry)).hex(),
        "audit_path": [p.hex() for p in path],
        "entry": base64.b64encode(bytes(entry)).decode(),
    }


def daily(
    store: Store, scope: Scope, office_id: str, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """Per Tehran day in [start, end]: transactions, fees, tariff violations, agency error rate
    of one office (in scope) — the console's charts."""
    lower = dt.datetime.combine(start, dt.time(0), tzinfo=TEHRAN)
    upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=TEHRAN)
    days = {start + dt.timedelta(days=i): _day() for i in range((end - start).days + 1)}
    with store.read() as session:
        rows = session.execute(
            select(
                Transaction.created_at,
                Transaction.outcome,
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
                day["tariff_violations"] += 1
            if code in AGENCY_ERROR_CODES:
                day["agency_errors"] += 1
                day["dispatched"] += 1
    out = []
    for date, day in days.items():
        rate = day["agency_errors"] / day["dispatched"] if day["dispatched"] else 0.0
        out.append(
            {
                "date": date.isoformat(),
                "jalali": jdatetime.date.fromgregorian(date=date).strftime("%Y/%m/%d"),
                "transactions": day["transactions"],
                "office_fees": day["office_fees"],
                "tariff_violations": day["tariff_violations"],
                "agency_error_rate": round(rate, 4),
            }
        )
    return out


def _day() -> dict[str, int]:
    return {
        "transactions": 0,
        "office_fees": 0,
        "tariff_violations": 0,
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
                    func.sum(case((Transaction.code.in_(AGENCY_ERROR_CODES), 1), else_=0)), 0
                ),
                func.coalesce(func.sum(case((Transaction.outcome == "succeeded", 1), else_=0)), 0),
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
    }
