"""Licence actions: suspend, revoke, reinstate an office, by the regulator or its province, each
recorded in the log with its reason."""

from __future__ import annotations

from typing import Any

from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.errors import Forbidden, InvalidRequest, NotFound
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store import Store

ACTIONS = {"suspend": "suspended", "revoke": "revoked", "reinstate": "active"}


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
    """Suspend, revoke or reinstate an office (regulator or its province only), logged."""
    if action not in ACTIONS:
        raise NotFound(f"no licence action {action}")
    reason = redact_text((reason or "").strip())  # free text: no personal data into the log
    if not 3 <= len(reason) <= 2000:
        raise InvalidRequest("give the reason for the action (3-2000 characters)", field="reason")
    office = offices.get_office(store, office_id)
    if office is None:
        raise NotFound(f"no office {office_id}")
    scope.may_act_on(office)
    if office.status == "revoked" and action == "reinstate":
        raise InvalidRequest("a revoked licence cannot be reinstated; a new licence is needed")
    offices.set_status(store, office_id, ACTIONS[action], reason)
    index = record_event(
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
