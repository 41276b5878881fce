"""An office's licence history: each change is a log entry and a ``licence_events`` row naming
its index, written in one database transaction, so the history shown is what the log proves."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.orm import Session

from pishkhan_gateway.auditlog.append import ENTRY_VERSION, append
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.store.tables import LicenceEvent


def note(
    session: Session,
    *,
    office_id: str | None,
    entry_type: str,
    by: str,
    scope: str,
    now: dt.datetime,
    event: str | None = None,
    **details: Any,
) -> int:
    """Append ``{"type": entry_type, "office": office_id, …details}`` to the log inside
    ``session``'s transaction; with ``event``, also a line of the office's licence history.
    Return the entry's index."""
    entry = {
        "v": ENTRY_VERSION,
        "type": entry_type,
        "time": iso(now),
        "office": office_id,  # puts the entry in the office's province's (and region's) scope
        **details,
        "by": by,  # a supervisor's id, "office" (the office itself) or "cli" (the operator's shell)
        "scope": scope,
    }
    index = append(session, entry, now)
    if event is not None and office_id is not None:
        session.add(
            LicenceEvent(
                office_id=office_id,
                at=now,
                event=event,
                details=json.dumps(details, ensure_ascii=False, sort_keys=True),
                by=by,
                log_index=index,
            )
        )
    return index
