"""The licence's life: renewal, transfer to a new holder, relocation — the office asks, its
province recommends, the regulator approves or refuses — and the province's request that the
regulator revoke.

The rules (../shared/seeds/000 lines 38–40, 001 lines 90–93):
- a licence lasts five years and is renewed for five more from its old expiry; the request goes
  in from three months before expiry (a late one is accepted and marked late); the renewal fee is
  one tenth of the licence fee in force for the office's category (``licencefees.py``);
- a transfer or change of address needs approval; on a transfer the old holder's credentials
  and operators stop working (the new holder is issued its own);
- a relocation takes effect on the day the regulator sets: from that day the office is in its
  new city and on its new category's tariff column. The office keeps its id and its history.

Every step is a log entry (``renewal_requested`` …) and a line of the office's licence history.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from sqlalchemy import select, update

from pishkhan_gateway import licencefees
from pishkhan_gateway.errors import InvalidRequest, NotFound, RenewalNotOpen, WrongState
from pishkhan_gateway.jalali import format_date, parse_date
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.oversight import authority
from pishkhan_gateway.oversight.licencelog import note
from pishkhan_gateway.registry.offices import LICENCE_YEARS, _years_later, today
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import Office, OfficeCredential, OfficeRequest, Operator
from pishkhan_gateway.tariffs import CATEGORIES

KINDS = ("renewal", "transfer", "relocation")
OPEN = ("requested", "recommended")
RENEWAL_OPENS_MONTHS = 3
WARNING_DAYS = (90, 30, 7)
# the log entry types of each step, per kind
ENTRY = {
    "renewal": ("renewal_requested", "renewal_recommended", "licence_renewed", "renewal_refused"),
    "transfer": (
        "transfer_requested",
        "transfer_recommended",
        "licence_transferred",
        "transfer_refused",
    ),
    "relocation": (
        "relocation_requested",
        "relocation_recommended",
        "office_relocated",
        "relocation_refused",
    ),
}


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


def _text(value: Any, field: str, low: int = 3, high: int = 2000) -> str:
    text = redact_text(str(value or "").strip())  # free text: no personal data into the log
    if not low <= len(text) <= high:
        raise InvalidRequest(f"{field}: {low}-{high} characters", field=field)
    return text


def _details(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    if kind == "renewal":
        return {}
    if kind == "transfer":
        return {"holder": _text(body.get("holder"), "holder", 2, 200)}
    category = body.get("category")
    if category not in CATEGORIES:
        raise InvalidRequest(f"category must be one of {CATEGORIES}", field="category")
    return {
        "city": _text(body.get("city"), "city", 2, 64),
        "address": _text(body.get("address"), "address", 5, 500),
        "category": category,
    }


def ask(store: Store, office_id: str, kind: str, body: dict[str, Any], by: str = "office") -> dict:
    """The office asks for a renewal, transfer or relocation (``body`` says what: a transfer's
    new ``holder``; a relocation's ``city``, ``address`` and ``category``)."""
    if kind not in KINDS:
        raise NotFound(f"no request kind {kind}")
    details = _details(kind, body)
    now = utcnow()
    with store.write() as session:
        office = session.get(Office, office_id)
        if office is None:
            raise NotFound(f"no office {office_id}")
        if office.status == "revoked":
            raise WrongState("a revoked licence cannot be renewed, transferred or moved")
        if kind == "renewal":
            opens = renewal_opens_on(office.expires_on)
            if today() < opens:
                raise RenewalNotOpen(
                    f"a renewal may be asked from {format_date(opens, '-')} "
                    f"({opens.isoformat()}), three months before the licence expires",
                    opens_on=opens.isoformat(),
                    opens_on_jalali=format_date(opens, "-"),
                )
            details = {
                "expires_on": office.expires_on.isoformat(),
                "late": office.expires_on < today(),
            }
        open_one = session.scalar(
            select(OfficeRequest.id).where(
                OfficeRequest.office_id == office_id,
                OfficeRequest.kind == kind,
                OfficeRequest.state.in_(OPEN),
            )
        )
        if open_one is not None:
            raise WrongState(f"this office already has an open {kind} request: {open_one}")
        row = OfficeRequest(
            id=f"req_{secrets.token_hex(8)}",
            office_id=office_id,
            kind=kind,
            state="requested",
            details=json.dumps(details, ensure_ascii=False, sort_keys=True),
            requested_at=now,
        )
        session.add(row)
        index = note(
            session,
            office_id=office_id,
            entry_type=ENTRY[kind][0],
            by=by,
            scope=f"office:{office_id}" if by == "office" else by,
            now=now,
            event=ENTRY[kind][0],
            request=row.id,
            **details,
        )
        result = describe(row)
    return {**result, "log_index": index}


def _open_request(session: Any, office_id: str, kind: str, state: str) -> OfficeRequest:
    row = session.scalar(
        select(OfficeRequest)
        .where(
            OfficeRequest.office_id == office_id,
            OfficeRequest.kind == kind,
            OfficeRequest.state.in_(OPEN),
        )
        .with_for_update()
    )
    if row is None:
        raise WrongState(f"this office has no open {kind} request")
    if row.state != state:
        step = "recommended by the province" if state == "recommended" else "asked"
        raise WrongState(f"the {kind} request is {row.state}; this step needs it {step}")
    return row


def recommend(
    store: Store, scope: Scope, office_id: str, kind: str, support: bool, reason: str
) -> dict[str, Any]:
    """The province recommends (``support``) or advises against an office's request, with a
    reason; the regulator decides either way."""
    now = utcnow()
    with store.write() as session:
        authority.office_for(session, scope, office_id, "recommend")  # who, before what
        reason = _text(reason, "reason")
        row = _open_request(session, office_id, kind, "requested")
        row.state = "recommended"
        row.recommended_by, row.recommended_at = scope.supervisor_id, now
        row.recommendation = json.dumps({"support": support, "reason": reason}, ensure_ascii=False)
        index = note(
            session,
            office_id=office_id,
            entry_type=ENTRY[kind][1],
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            event=ENTRY[kind][1],
            request=row.id,
            support=support,
            reason=reason,
        )
        result = describe(row)
    return {**result, "log_index": index}


def decide(
    store: Store,
    scope: Scope,
    office_id: str,
    kind: str,
    approve: bool,
    reason: str,
    effective: str | None = None,
) -> dict[str, Any]:
    """The regulator approves or refuses a recommended request. Approval applies it: a renewal
    extends the licence five years from its old expiry and records the renewal fee in force; a
    transfer names the new holder and ends the old holder's credentials and operators; a
    relocation moves the office on ``effective`` (a date; default today)."""
    now = utcnow()
    with store.write() as session:
        office = authority.office_for(session, scope, office_id, "decide_request")
        reason = _text(reason, "reason")
        row = _open_request(session, office_id, kind, "recommended")
        row.decided_by, row.decided_at, row.decision_reason = scope.supervisor_id, now, reason
        applied: dict[str, Any] = {}
        if not approve:
            row.state = "refused"
        else:
            row.state = "approved"
            applied = _apply(session, office, kind, json.loads(row.details), effective, now)
            row.fee = applied.get("renewal_fee")
        index = note(
            session,
            office_id=office_id,
            entry_type=ENTRY[kind][2 if approve else 3],
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            event=ENTRY[kind][2 if approve else 3],
            request=row.id,
            reason=reason,
            **applied,
        )
        result = describe(row)
    return {**result, **applied, "log_index": index}


def _apply(
    session: Any,
    office: Office,
    kind: str,
    details: dict[str, Any],
    effective: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    if kind == "renewal":
        schedule = licencefees.in_force(session, now)
        if schedule is None:
            raise WrongState(
                "no licence fee schedule is in force: load one first "
                "(pishkhan-gateway licences fees load FILE)"
            )
        category = _category_now(office)
        old = office.expires_on
        office.expires_on = _years_later(old, LICENCE_YEARS)
        return {
            "expires_on_before": old.isoformat(),
            "expires_on": office.expires_on.isoformat(),
            "renewal_fee": schedule.renewal_fee(category),
            "licence_fee": schedule.licence_fee(category),
            "category": category,
            "fee_schedule": schedule.name,
        }
    if kind == "transfer":
        before = office.holder
        office.holder = details["holder"]
        ended = session.execute(
            update(OfficeCredential)
            .where(OfficeCredential.office_id == office.id, OfficeCredential.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        operators = session.execute(
            update(Operator)
            .where(Operator.office_id == office.id, Operator.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        return {
            "holder_before": redact_text(before or ""),
            "holder": details["holder"],
            "credentials_revoked": ended,
            "operators_revoked": operators,
        }
    day = _effective_day(effective)
    _settle_move(office)
    if day <= today():
        before = {"city": office.city, "category": office.category}
        office.city, office.address, office.category = (
            details["city"],
            details["address"],
            details["category"],
        )
        office.moves_on = office.next_city = office.next_category = office.next_address = None
    else:
        before = {"city": office.city, "category": office.category}
        office.moves_on = day
        office.next_city, office.next_address, office.next_category = (
            details["city"],
            details["address"],
            details["category"],
        )
    return {
        "effective": day.isoformat(),
        "effective_jalali": format_date(day, "-"),
        "city_before": before["city"],
        "category_before": before["category"],
        **details,
    }


def _effective_day(effective: str | None) -> dt.date:
    if effective in (None, ""):
        return today()
    try:
        return parse_date(effective, gregorian_too=True)
    except ValueError as exc:
        raise InvalidRequest(f"effective: {exc}", field="effective") from None


def _category_now(office: Office) -> str:
    if office.moves_on is not None and office.next_category and today() >= office.moves_on:
        return office.next_category
    return office.category


def _settle_move(office: Office) -> None:
    """Fold a relocation whose day has come into the office's own fields."""
    if office.moves_on is not None and today() >= office.moves_on:
        office.city = office.next_city or office.city
        office.address = office.next_address or office.address
        office.category = office.next_category or office.category
        office.moves_on = office.next_city = office.next_category = office.next_address = None


def request_revocation(store: Store, scope: Scope, office_id: str, reason: str) -> dict[str, Any]:
    """The province asks the regulator to revoke a licence (only the regulator revokes)."""
    now = utcnow()
    with store.write() as session:
        office = authority.office_for(session, scope, office_id, "request_revocation")
        reason = _text(reason, "reason")
        if office.status == "revoked":
            raise WrongState("this licence is already revoked")
        index = note(
            session,
            office_id=office_id,
            entry_type="revocation_requested",
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            event="revocation_requested",
            reason=reason,
        )
    return {"office": office_id, "requested": True, "reason": reason, "log_index": index}


def requests_of(store: Store, office_id: str) -> list[dict[str, Any]]:
    """Every request of an office, newest first."""
    with store.read() as session:
        rows = session.scalars(
            select(OfficeRequest)
            .where(OfficeRequest.office_id == office_id)
            .order_by(OfficeRequest.requested_at.desc())
        ).all()
    return [describe(row) for row in rows]


def direct(
    store: Store,
    office_id: str,
    kind: str,
    body: dict[str, Any],
    reason: str,
    effective: str | None = None,
) -> dict[str, Any]:
    """The regulator's own shell (``pishkhan-gateway offices renew|transfer|relocate``): the
    change applied at once, as the regulator's decision, without the office's request (a
    licence renewed on paper, a transfer already approved elsewhere). Logged like the rest, with
    ``direct: true`` and ``by: "cli"``."""
    if kind not in KINDS:
        raise NotFound(f"no request kind {kind}")
    reason = _text(reason, "reason")
    details = _details(kind, body)
    now = utcnow()
    with store.write() as session:
        office = session.get(Office, office_id, with_for_update=True)
        if office is None:
            raise NotFound(f"no office {office_id}")
        if office.status == "revoked":
            raise WrongState("a revoked licence cannot be renewed, transferred or moved")
        row = OfficeRequest(
            id=f"req_{secrets.token_hex(8)}",
            office_id=office_id,
            kind=kind,
            state="approved",
            details=json.dumps(details, ensure_ascii=False, sort_keys=True),
            requested_at=now,
            decided_by="cli",
            decided_at=now,
            decision_reason=reason,
        )
        applied = _apply(session, office, kind, details, effective, now)
        row.fee = applied.get("renewal_fee")
        session.add(row)
        index = note(
            session,
            office_id=office_id,
            entry_type=ENTRY[kind][2],
            by="cli",
            scope="regulator",
            now=now,
            event=ENTRY[kind][2],
            request=row.id,
            direct=True,
            reason=reason,
            **applied,
        )
        result = describe(row)
    return {**result, **applied, "log_index": index}
