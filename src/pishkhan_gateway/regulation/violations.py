"""Violation cases against an office, and agencies' reports.

A case is opened by the office's province, its region or the regulator, with evidence (the
office's transaction ids, a complaint reference, agencies' report ids), and decided with negative
points and a fine in rials. The fine follows the regulator's decision (../shared/seeds/000,
line 52):

- on a repeated violation of the same type within 12 months the *minimum* fine is twice the
  fine of the previous one — a lower fine asked is raised to it;
- the fines of one obligation (violation type) in one Jalali year are capped (1,000,000,000
  rials in 1398, indexed: ``pricing/licencefees.py``) — a fine beyond what is left is cut to it;

and the case shows the fine asked, the minimum, the cap and what was applied. A decision may
suspend the office (by whoever may suspend). The office may object within 7 days of the
decision; its region or the regulator — not whoever decided — rules on the objection: upheld,
the decision stands; overturned, its points and fine no longer count.

Negative points come from what the decisions name (line 180): money taken above the tariff
(``overcharging``), forged or altered documents (``forged_documents``), moving without consent
(``unapproved_relocation``), working outside the set hours (``hours``), and ``other``.
An agency may not open a case; it reports (``POST /v1/reports``), and a report is evidence.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from sqlalchemy import select

from pishkhan_gateway.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    ObjectionWindowClosed,
    WrongState,
)
from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.pricing import licencefees
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import authority, inputs
from pishkhan_gateway.regulation.fines import TYPES, fined_in_year, minimum_fine
from pishkhan_gateway.regulation.licencelog import note
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import AgencyReport, Office, Transaction, ViolationCase

OBJECTION_DAYS = 7


def _evidence(session: Any, office_id: str, body: dict[str, Any]) -> dict[str, Any]:
    transactions = inputs.ids(body.get("transactions"), "transactions")
    reports = inputs.ids(body.get("reports"), "reports")
    inputs.must_exist(
        session, Transaction, transactions, "transactions", "not transactions of this office",
        Transaction.office_id == office_id,
    )  # fmt: skip
    inputs.must_exist(
        session, AgencyReport, reports, "reports", "not reports about this office",
        AgencyReport.office_id == office_id,
    )  # fmt: skip
    complaint = body.get("complaint")
    evidence: dict[str, Any] = {"transactions": transactions, "reports": reports}
    if complaint is not None:
        evidence["complaint"] = inputs.text(complaint, "complaint", 1, 200)
    if not any(evidence.values()):
        raise InvalidRequest(
            "a case needs evidence: transaction ids, a complaint or an agency report",
            field="transactions",
        )
    return evidence


def describe(case: ViolationCase) -> dict[str, Any]:
    """A case as the API shows it (amounts in integer rials)."""
    return {
        "id": case.id,
        "office": case.office_id,
        "type": case.type,
        "state": case.state,
        "evidence": json.loads(case.evidence),
        "description": case.description,
        "opened_by": case.opened_by,
        "opened_at": case.opened_at.isoformat(),
        "points": case.points,
        "requested_fine": case.requested_fine,
        "minimum_fine": case.minimum_fine,
        "fine": case.fine,
        "fine_cap": case.fine_cap,
        "decided_by": case.decided_by,
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
        "decision_reason": case.decision_reason,
        "suspended": case.suspended,
        "objection": case.objection,
        "objected_at": case.objected_at.isoformat() if case.objected_at else None,
        "objection_until": (
            _aware(case.decided_at).astimezone(TEHRAN).date() + dt.timedelta(days=OBJECTION_DAYS)
        ).isoformat()
        if case.decided_at
        else None,
        "ruled_by": case.ruled_by,
        "ruled_at": case.ruled_at.isoformat() if case.ruled_at else None,
        "ruling_reason": case.ruling_reason,
    }


def open_case(store: Store, scope: Scope, office_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Open a case (``type``, evidence, ``description``); with ``decision`` in the body it is
    decided at once (``decide``'s fields)."""
    kind = body.get("type")
    description = body.get("description")
    now = utcnow()
    with store.write() as session:
        office = authority.office_for(session, scope, office_id, "violation")  # who, before what
        if kind not in TYPES:
            raise InvalidRequest(f"type must be one of {TYPES}", field="type")
        case = ViolationCase(
            id=f"case_{secrets.token_hex(8)}",
            office_id=office.id,
            type=kind,
            state="open",
            evidence=json.dumps(_evidence(session, office_id, body), sort_keys=True),
            description=inputs.text(description, "description")
            if description is not None
            else None,
            opened_by=scope.supervisor_id,
            opened_scope=scope.label,
            opened_at=now,
            suspended=False,
        )
        session.add(case)
        index = note(
            session,
            office_id=office_id,
            entry_type="violation_opened",
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            case=case.id,
            violation=kind,
            evidence=json.loads(case.evidence),
        )
        decision = body.get("decision")
        decided: dict[str, Any] = {}
        if decision is not None:
            if not isinstance(decision, dict):
                raise InvalidRequest("decision: an object", field="decision")
            decided = _decide(session, scope, office, case, decision, now)
        result = describe(case)
    return {**result, **decided, "log_index": decided.get("log_index", index)}


def decide(
    store: Store, scope: Scope, office_id: str, case_id: str, decision: dict[str, Any]
) -> dict[str, Any]:
    """Decide an open case: ``points``, ``fine`` (rials), ``reason``, optional ``suspend``."""
    now = utcnow()
    with store.write() as session:
        office = authority.office_for(session, scope, office_id, "violation")
        case = _case(session, office_id, case_id)
        decided = _decide(session, scope, office, case, decision, now)
        result = describe(case)
    return {**result, **decided}


def _case(session: Any, office_id: str, case_id: str) -> ViolationCase:
    case = session.get(ViolationCase, case_id, with_for_update=True)
    if case is None or case.office_id != office_id:
        raise NotFound(f"no case {case_id} for office {office_id}")
    return case


def _decide(
    session: Any,
    scope: Scope,
    office: Office,
    case: ViolationCase,
    decision: dict[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    if case.state != "open":
        raise WrongState(f"this case is {case.state}, not open")
    points = inputs.amount(decision.get("points"), "points", 1000)
    asked = inputs.amount(decision.get("fine", 0), "fine")
    reason = inputs.text(decision.get("reason"), "reason")
    suspend = decision.get("suspend", False)
    if not isinstance(suspend, bool):
        raise InvalidRequest("suspend: true or false", field="suspend")
    if suspend:
        authority.authorise(scope, "suspend", office.province)
    schedule = licencefees.in_force(session, now)
    if schedule is None:
        raise WrongState(
            "no licence fee schedule (with the yearly fine cap) is in force: load one first "
            "(pishkhan-gateway licences fees load FILE)"
        )
    minimum, previous = minimum_fine(session, office.id, case.type, now)
    fined_this_year = fined_in_year(session, office.id, case.type, now)
    left = max(schedule.fine_cap - fined_this_year, 0)
    fine, adjustments = max(asked, minimum), []
    if asked < minimum:
        adjustments.append("raised_to_minimum")
    if fine > left:
        fine = left
        adjustments.append("capped")
    case.state = "decided"
    case.points, case.requested_fine, case.minimum_fine = points, asked, minimum
    case.fine, case.fine_cap = fine, schedule.fine_cap
    case.decided_by, case.decided_at, case.decision_reason = scope.supervisor_id, now, reason
    case.suspended = suspend
    status_before = office.status
    if suspend and office.status == "active":
        office.status, office.status_reason = "suspended", f"violation case {case.id}: {reason}"
    index = note(
        session,
        office_id=office.id,
        entry_type="violation_decided",
        by=scope.supervisor_id,
        scope=scope.label,
        now=now,
        event="suspended" if suspend and status_before == "active" else None,
        case=case.id,
        violation=case.type,
        points=points,
        requested_fine=asked,
        minimum_fine=minimum,
        fine=fine,
        fine_cap=schedule.fine_cap,
        fined_this_year_before=fined_this_year,
        repeats=previous,
        adjustments=adjustments,
        suspend=suspend,
        reason=reason,
    )
    return {
        "fined_this_year_before": fined_this_year,
        "adjustments": adjustments,
        "repeats": previous,
        "log_index": index,
    }


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def object_to(store: Store, office_id: str, case_id: str, text: str) -> dict[str, Any]:
    """The office objects to a decided case, within 7 days of the decision (Tehran days)."""
    text = inputs.text(text, "objection")
    now = utcnow()
    with store.write() as session:
        case = _case(session, office_id, case_id)
        if case.state != "decided":
            raise WrongState(f"this case is {case.state}; only a decided case can be objected to")
        until = _aware(case.decided_at).astimezone(TEHRAN).date() + dt.timedelta(
            days=OBJECTION_DAYS
        )
        if now.astimezone(TEHRAN).date() > until:
            raise ObjectionWindowClosed(
                f"the objection window closed on {until.isoformat()}", until=until.isoformat()
            )
        case.state, case.objection, case.objected_at = "objected", text, now
        index = note(
            session,
            office_id=office_id,
            entry_type="violation_objected",
            by="office",
            scope=f"office:{office_id}",
            now=now,
            case=case.id,
            objection=text,
        )
        result = describe(case)
    return {**result, "log_index": index}


def rule(
    store: Store, scope: Scope, office_id: str, case_id: str, uphold: bool, reason: str
) -> dict[str, Any]:
    """Rule on an objection: ``uphold`` the decision, or overturn it (its points and fine stop
    counting). Whoever decided the case does not rule on the objection to it."""
    now = utcnow()
    with store.write() as session:
        authority.office_for(session, scope, office_id, "rule_objection")  # who, before what
        reason = inputs.text(reason, "reason")
        case = _case(session, office_id, case_id)
        if case.state != "objected":
            raise WrongState(f"this case is {case.state}; there is no objection to rule on")
        if case.decided_by == scope.supervisor_id:
            raise Forbidden("an objection is ruled on by someone other than who decided the case")
        case.state = "upheld" if uphold else "overturned"
        case.ruled_by, case.ruled_at, case.ruling_reason = scope.supervisor_id, now, reason
        index = note(
            session,
            office_id=office_id,
            entry_type="objection_ruled",
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            case=case.id,
            upheld=uphold,
            reason=reason,
        )
        result = describe(case)
    return {**result, "log_index": index}


def cases_of(store: Store, office_id: str) -> list[dict[str, Any]]:
    """Every case of an office, newest first."""
    with store.read() as session:
        rows = session.scalars(
            select(ViolationCase)
            .where(ViolationCase.office_id == office_id)
            .order_by(ViolationCase.opened_at.desc())
        ).all()
    return [describe(row) for row in rows]
