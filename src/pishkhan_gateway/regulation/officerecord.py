"""An office's record: its licence and the licence's history, its requests, violation cases with
points and fines, agencies' reports and its province's working hours — what
``GET /v1/offices/{id}/record`` and the console's office page show. Each history line and case
names the log entry that proves it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from pishkhan_gateway.errors import Forbidden, NotFound
from pishkhan_gateway.jalali import format_moment
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import fines, hours, licencestatus, reports, violations
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LicenceEvent, Office


def record(store: Store, scope: Scope | None, office_id: str) -> dict[str, Any]:
    """The record of ``office_id`` for a supervisor in scope, or (``scope`` None) the office."""
    with store.read() as session:
        office = session.get(Office, office_id)
        if scope is not None:
            if scope.role == "agency":
                raise Forbidden("an agency may not read an office's record; it may report it")
            if office is None or not scope.oversees(office.province):
                raise NotFound(f"no office {office_id} in your scope")
        if office is None:
            raise NotFound(f"no office {office_id}")
        province = office.province
        events = session.scalars(
            select(LicenceEvent)
            .where(LicenceEvent.office_id == office_id)
            .order_by(LicenceEvent.at.desc(), LicenceEvent.id.desc())
        ).all()
        history = [
            {
                "at": _aware(row.at).isoformat(),
                "at_jalali": format_moment(_aware(row.at)),
                "event": row.event,
                "details": json.loads(row.details),
                "by": row.by,
                "log_index": row.log_index,
            }
            for row in events
        ]
    return {
        "office": {**licencestatus.licence_status(store, office_id), "name": office.name},
        "province": province,
        "history": history,
        "requests": licencestatus.requests_of(store, office_id),
        "cases": violations.cases_of(store, office_id),
        "standing": fines.standing(store, office_id),
        "reports": reports.reports_of(store, office_id),
        "working_hours": hours.described(hours.hours_of(store, province)),
    }


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
