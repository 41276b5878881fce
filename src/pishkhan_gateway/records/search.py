"""Supervisors' search and streamed export of transactions, always within their scope (the
scope is in every query's WHERE clause)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select

from pishkhan_gateway import ids
from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.jalali import TEHRAN, ascii_digits, iso, parse_date
from pishkhan_gateway.records.history import shown_total
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.outcomes import OUTCOMES, final_outcome
from pishkhan_gateway.store.tables import Transaction

MAX_PAGE = 500


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
    "final_outcome",
)


FIRST_YEAR, LAST_YEAR = 1900, 2200  # the dates a search can mean (0001 and 9999 overflow UTC)


def parse_moment(raw: str, field: str, *, end: bool = False) -> dt.datetime:
    """A date or datetime, Jalali (year < 1700) or ISO; a bare date means its Tehran midnight
    (``end``: the next midnight, so ``to=1405-09-03`` includes that whole day)."""
    text = ascii_digits(raw.strip()).replace("/", "-")
    try:
        if "T" in text or " " in text:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=TEHRAN)
        else:
            midnight = dt.datetime.combine(
                parse_date(text, gregorian_too=True), dt.time(0), tzinfo=TEHRAN
            )
            moment = midnight + dt.timedelta(days=1) if end else midnight
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise ValueError("out of range")
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            f"{field}: use YYYY-MM-DD (Jalali or Gregorian) or ISO 8601, "
            f"between {FIRST_YEAR} and {LAST_YEAR}",
            field=field,
        ) from None


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
        "total": shown_total(row),
        "fee_cap": row.fee_cap,
        "agency_reference": row.agency_reference,
        "citizen": row.citizen,
        "latency_ms": row.latency_ms,
        "settled_outcome": row.settled_outcome,
        "settled_log_index": row.settled_log_index,
        "final_outcome": final_outcome(row),
    }


def search(
    store: Store, scope: Scope, filters: Filters, *, limit: int = 100, cursor: str | None = None
) -> dict[str, Any]:
    """A page of matching transactions, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be 1..{MAX_PAGE}", field="limit")
    where = filters.conditions(scope)
    if cursor is not None:
        where.append(Transaction.log_index < ids.index(cursor, "cursor"))
    query = select(Transaction).where(*where).order_by(Transaction.log_index.desc())
    with store.read() as session:
        rows = list(session.scalars(query.limit(limit + 1)))
    items = [audit_view(r) for r in rows[:limit]]
    return {
        "items": items,
        "next_cursor": str(rows[limit - 1].log_index) if len(rows) > limit else None,
    }


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula (``=HYPERLINK(…)``,
    ``+``, ``-``, ``@``, a tab or line break) gets a leading apostrophe (OWASP's CSV injection
    advice); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


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
                    writer.writerow({k: spreadsheet_safe(v) for k, v in view.items()})
                else:
                    buffer.write(json.dumps(view, ensure_ascii=False) + "\n")
                if buffer.tell() > 65536:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue().encode()

    return rows()
