"""The citizen's voice: a 1–5 rating and an optional complaint per receipt, from the page its QR
code opens — no sign-in and no personal data asked: the receipt's signature (the prefix the QR
code carries) is the ticket, and one receipt gives one rating (the primary key says so).

A complaint opens a violation case (``overcharging`` or ``other``) for the office's province,
with the transaction as evidence and the citizen's words (personal-data-shaped digits masked) as
its description; the province examines it like any case. The rating, the complaint's digest and
the case id are one log entry (``feedback``), written in the same database transaction as the
rows. Satisfaction per office, service and agency is computed from these rows; the agency that
owns the service is handed each rating through ``pishkhan_service_rated``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from pishkhan_gateway.auditlog.append import ENTRY_VERSION, append
from pishkhan_gateway.citizens import receipts
from pishkhan_gateway.errors import FeedbackAlreadyGiven, InvalidRequest, NotFound
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.regulation.licencelog import note
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import Feedback, Office, Transaction, ViolationCase

COMPLAINT_TYPES = ("overcharging", "other")  # what a citizen can name; the province re-types
NONE = {"ratings": 0, "average": None, "dissatisfied": 0, "complaints": 0}


def _rating(value: Any) -> int:
    try:
        rating = int(str(value).strip())
    except ValueError:
        rating = 0
    if not 1 <= rating <= 5 or isinstance(value, bool | float):
        raise InvalidRequest("rating: a whole number from 1 to 5", field="rating")
    return rating


def _complaint(body: dict[str, Any]) -> tuple[str | None, str | None]:
    text = str(body.get("complaint") or "").strip()
    if not text:
        return None, None
    if len(text) > 1000:
        raise InvalidRequest("complaint: at most 1000 characters", field="complaint")
    kind = body.get("complaint_type") or "other"
    if kind not in COMPLAINT_TYPES:
        raise InvalidRequest(f"complaint_type: one of {COMPLAINT_TYPES}", field="complaint_type")
    return redact_text(text), str(kind)


def give(store: Store, transaction_id: str, ticket: str, body: dict[str, Any]) -> dict[str, Any]:
    """Record a rating (and complaint) for the receipt whose signature starts with ``ticket``."""
    receipt = receipts.check_by_prefix(store, transaction_id, ticket)
    if receipt is None:
        raise NotFound("no genuine receipt with this id and signature")
    rating = _rating(body.get("rating"))
    complaint, kind = _complaint(body)
    now = utcnow()
    try:
        with store.write() as session:
            row = session.get(Transaction, transaction_id)
            office = session.get(Office, row.office_id) if row and row.office_id else None
            if row is None or office is None:
                raise NotFound("no genuine receipt with this id and signature")
            case_id = _open_case(session, office, transaction_id, complaint, kind, now)
            index = append(
                session,
                {
                    "v": ENTRY_VERSION,
                    "type": "feedback",
                    "time": iso(now),
                    "transaction_id": transaction_id,
                    "office": office.id,
                    "service": row.service,
                    "agency": row.agency,
                    "rating": rating,
                    "complaint_sha256": _digest(complaint),
                    "case": case_id,
                },
                now,
            )
            session.add(
                Feedback(
                    transaction_id=transaction_id,
                    office_id=office.id,
                    service=row.service or "",
                    agency=row.agency,
                    rating=rating,
                    complaint=complaint,
                    complaint_type=kind,
                    case_id=case_id,
                    given_at=now,
                    log_index=index,
                )
            )
            session.flush()  # one per receipt: a second insert fails here, before the commit
    except IntegrityError:
        raise FeedbackAlreadyGiven() from None
    return {
        "transaction_id": transaction_id,
        "service": row.service,
        "agency": row.agency,
        "rating": rating,
        "complaint": complaint is not None,
        "case": case_id,
        "log_index": index,
    }


def _digest(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text is not None else None


def _open_case(
    session: Any,
    office: Office,
    transaction_id: str,
    complaint: str | None,
    kind: str | None,
    now: dt.datetime,
) -> str | None:
    """A complaint is a case for the office's province (evidence: the transaction)."""
    if complaint is None or kind is None:
        return None
    evidence = {"transactions": [transaction_id], "reports": [], "complaint": "citizen"}
    case = ViolationCase(
        id=f"case_{secrets.token_hex(8)}",
        office_id=office.id,
        type=kind,
        state="open",
        evidence=json.dumps(evidence, sort_keys=True),
        description=complaint,
        opened_by="citizen",
        opened_scope=f"province:{office.province}",
        opened_at=now,
        suspended=False,
    )
    session.add(case)
    note(
        session,
        office_id=office.id,
        entry_type="violation_opened",
        by="citizen",
        scope=f"province:{office.province}",
        now=now,
        case=case.id,
        violation=kind,
        evidence=evidence,
    )
    return case.id


def satisfaction(
    store: Store, column: str, since: dt.datetime | None = None, **equal: str
) -> dict[str, dict[str, Any]]:
    """Ratings grouped by ``column`` (``office_id``, ``service`` or ``agency``), among those
    whose other columns equal ``equal``: count, average (two decimals), how many were 1–2
    (dissatisfied), complaints."""
    key = getattr(Feedback, column)
    query = select(
        key,
        func.count(),
        func.sum(Feedback.rating),
        func.sum(case((Feedback.rating <= 2, 1), else_=0)),
        func.count(Feedback.case_id),
    ).group_by(key)
    for name, value in equal.items():
        query = query.where(getattr(Feedback, name) == value)
    if since is not None:
        query = query.where(Feedback.given_at >= since)
    with store.read() as session:
        rows = session.execute(query).all()
    return {
        name: {
            "ratings": int(n),
            "average": round(int(total) / int(n), 2) if n else None,
            "dissatisfied": int(low or 0),
            "complaints": int(complaints),
        }
        for name, n, total, low, complaints in rows
    }


def given(store: Store, transaction_id: str) -> bool:
    """Whether this receipt has been rated."""
    with store.read() as session:
        return session.get(Feedback, transaction_id) is not None
