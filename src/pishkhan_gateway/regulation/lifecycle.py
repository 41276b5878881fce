"""The licence's life: renewal, transfer to a new holder, relocation — the office asks, its
province recommends, the regulator approves or refuses — and the province's request that the
regulator revoke.

The rules (../shared/seeds/000 lines 38–40, 001 lines 90–93):
- a licence lasts five years and is renewed for five more from its old expiry; the request goes
  in from three months before expiry (a late one is accepted and marked late); the renewal fee is
  one tenth of the licence fee in force for the office's category (``pricing/licencefees.py``);
- a transfer or change of address needs approval; on a transfer the old holder's credentials
  and operators stop working (the new holder is issued its own);
- a relocation takes effect on the day the regulator sets: from that day the office is in its
  new city and on its new category's tariff column. The office keeps its id and its history.

Every step is a log entry (``renewal_requested`` …) and a line of the office's licence history.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy import select

from pishkhan_gateway.errors import InvalidRequest, NotFound, RenewalNotOpen, WrongState
from pishkhan_gateway.jalali import format_date
from pishkhan_gateway.registry.offices import CATEGORIES, today
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import authority, inputs, licencechanges
from pishkhan_gateway.regulation.licencelog import note
from pishkhan_gateway.regulation.licencestatus import OPEN, describe, renewal_opens_on
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import Office, OfficeRequest

KINDS = ("renewal", "transfer", "relocation")
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


def _details(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    if kind == "renewal":
        return {}
    if kind == "transfer":
        return {"holder": inputs.text(body.get("holder"), "holder", 2, 200)}
    category = body.get("category")
    if category not in CATEGORIES:
        raise InvalidRequest(f"category must be one of {CATEGORIES}", field="category")
    return {
        "city": inputs.text(body.get("city"), "city", 2, 64),
        "address": inputs.text(body.get("address"), "address", 5, 500),
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
        reason = inputs.text(reason, "reason")
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
        reason = inputs.text(reason, "reason")
        row = _open_request(session, office_id, kind, "recommended")
        row.decided_by, row.decided_at, row.decision_reason = scope.supervisor_id, now, reason
        applied: dict[str, Any] = {}
        if not approve:
            row.state = "refused"
        else:
            row.state = "approved"
            applied = licencechanges.apply(
                session, office, kind, json.loads(row.details), effective, now
            )
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


def request_revocation(store: Store, scope: Scope, office_id: str, reason: str) -> dict[str, Any]:
    """The province asks the regulator to revoke a licence (only the regulator revokes)."""
    now = utcnow()
    with store.write() as session:
        office = authority.office_for(session, scope, office_id, "request_revocation")
        reason = inputs.text(reason, "reason")
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
    reason = inputs.text(reason, "reason")
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
        applied = licencechanges.apply(session, office, kind, details, effective, now)
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
