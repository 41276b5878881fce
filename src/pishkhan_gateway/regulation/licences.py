"""Licence actions: suspend and reinstate an office (its province or the regulator), revoke a
licence (the regulator), each recorded in the log with its reason; and the regulator's revoking
of supervisor credentials."""

from __future__ import annotations

from typing import Any

from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.errors import Forbidden, InvalidRequest, NotFound
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import authority, licencelog
from pishkhan_gateway.store import Store, utcnow

ACTIONS = {"suspend": "suspended", "revoke": "revoked", "reinstate": "active"}
EVENTS = {"suspend": "suspended", "revoke": "revoked", "reinstate": "reinstated"}


def revoke_supervisor_key(
    store: Store, scope: Scope, credential: str, reason: str
) -> dict[str, Any]:
    """The regulator revokes a supervisor credential (a province's or an agency auditor's, or
    its own), with a reason, recorded in the log before it takes effect."""
    if scope.role != "regulator":
        raise Forbidden("only the regulator may revoke supervisor credentials")
    reason = redact_text((reason or "").strip())  # free text: no personal data into the log
    if not 3 <= len(reason) <= 2000:
        raise InvalidRequest("give the reason for the action (3-2000 characters)", field="reason")
    credential_id = credential.strip().split(".")[0]
    supervisor_id = supervisors.revoke_key(store, credential_id)
    index = record_event(
        store,
        {
            "type": "credential_revoked",
            "credential": credential_id,
            "supervisor_of_credential": supervisor_id,
            "reason": reason,
            "supervisor": scope.supervisor_id,
            "scope": scope.label,
        },
    )
    return {
        "credential": credential_id,
        "supervisor": supervisor_id,
        "revoked": True,
        "log_index": index,
    }


def licence_action(
    store: Store, scope: Scope, office_id: str, action: str, reason: str
) -> dict[str, Any]:
    """Suspend or reinstate an office (its province or the regulator) or revoke its licence (the
    regulator only: a province asks, ``lifecycle.request_revocation``), logged with the reason
    and a line of the office's licence history, in one transaction."""
    if action not in ACTIONS:
        raise NotFound(f"no licence action {action}")
    needed = "revoke" if action == "revoke" else "suspend"
    now = utcnow()
    with store.write() as session:
        office = authority.office_for(session, scope, office_id, needed)  # who, before what
        reason = redact_text((reason or "").strip())  # free text: no personal data into the log
        if not 3 <= len(reason) <= 2000:
            raise InvalidRequest(
                "give the reason for the action (3-2000 characters)", field="reason"
            )
        if office.status == "revoked" and action == "reinstate":
            raise InvalidRequest("a revoked licence cannot be reinstated; a new licence is needed")
        before = office.status
        office.status, office.status_reason = ACTIONS[action], reason
        index = licencelog.note(
            session,
            office_id=office_id,
            entry_type="licence_action",
            by=scope.supervisor_id,
            scope=scope.label,
            now=now,
            event=EVENTS[action],
            action=action,
            reason=reason,
            status_before=before,
            status_after=ACTIONS[action],
        )
    return {
        "office": office_id,
        "action": action,
        "status": ACTIONS[action],
        "reason": reason,
        "log_index": index,
    }
