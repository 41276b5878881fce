"""Agencies' reports about offices: the only thing an agency may do about an office
(../shared/seeds/004, items 3 and 8). A report is evidence a supervisor may open a case on."""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy import select

from pishkhan_gateway.errors import InvalidRequest, NotFound
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import authority, inputs
from pishkhan_gateway.regulation.fines import TYPES
from pishkhan_gateway.regulation.licencelog import note
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import AgencyReport, Office, Transaction


def report(store: Store, scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
    """An agency reports an office (``office``, ``subject`` — a violation type — ``text`` and its
    own transactions at that office as evidence). The only thing an agency may do about one."""
    authority.authorise(scope, "report")
    office_id = str(body.get("office") or "")[:64]
    subject = body.get("subject")
    if subject not in TYPES:
        raise InvalidRequest(f"subject must be one of {TYPES}", field="subject")
    text = inputs.text(body.get("text"), "text")
    transactions = inputs.ids(body.get("transactions"), "transactions")
    now = utcnow()
    with store.write() as session:
        if session.get(Office, office_id) is None:
            raise NotFound(f"no office {office_id}")
        inputs.must_exist(
            session, Transaction, transactions, "transactions",
            "not your transactions at this office",
            Transaction.office_id == office_id, Transaction.agency == scope.name,
        )  # fmt: skip
        row = AgencyReport(
            id=f"rep_{secrets.token_hex(8)}",
            agency=scope.name or "",
            office_id=office_id,
            subject=subject,
            text=text,
            transactions=json.dumps(transactions),
            reported_by=scope.supervisor_id,
            at=now,
        )
        session.add(row)
        row.log_index = note(
            session,
            office_id=office_id,
            entry_type="agency_report",
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            report=row.id,
            agency=scope.name,
            subject=subject,
            transactions=transactions,
        )
        result = describe_report(row)
    return result


def describe_report(row: AgencyReport) -> dict[str, Any]:
    """A report as the API shows it."""
    return {
        "id": row.id,
        "agency": row.agency,
        "office": row.office_id,
        "subject": row.subject,
        "text": row.text,
        "transactions": json.loads(row.transactions),
        "reported_by": row.reported_by,
        "at": row.at.isoformat(),
        "log_index": row.log_index,
    }


def reports_of(store: Store, office_id: str) -> list[dict[str, Any]]:
    """Every agency report about an office, newest first."""
    with store.read() as session:
        rows = session.scalars(
            select(AgencyReport)
            .where(AgencyReport.office_id == office_id)
            .order_by(AgencyReport.at.desc())
        ).all()
    return [describe_report(row) for row in rows]
