"""Refused access, recorded: who was turned away from what, in the tamper-evident log.

A refusal on ``POST /v1/transactions`` is already a transaction of its own in the log. Every
other refusal that means "not you" or "not yours" is appended as an ``access_denied`` entry:

- a missing, unknown, forged or revoked credential (``unauthorized``), an operator not registered
  to the office (``operator_not_registered``), a suspended or revoked office or expired licence;
- a supervisor outside its scope or role, an agency auditor trying to act on an office
  (``forbidden``);
- an office asking for a transaction, proof or receipt that is not its own, a supervisor asking
  for an office or entry outside its scope (``not_found``: the answer does not say whether it
  exists).

The entry names the actor as far as it is known (``office`` — which puts the entry in that
province's scope — or ``supervisor``, and the id half of the credential presented, never its
secret), the client address, the method and the route (the URL rule, never the query string,
which may carry a national code) with the ids in its path (which office, which transaction), and
the code. It is also logged (``access_denied``) and counted
(``pishkhan_access_denied_total``).

A client over its failed-authentication limit is refused with ``too_many_failures`` before its
credential is looked at; that refusal is logged and counted but not recorded, so a flood of
guesses writes at most the limit's worth of entries per address and window.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from flask import current_app, g, has_request_context, request

from pishkhan_gateway import instruments
from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.errors import GatewayError
from pishkhan_gateway.web.current import gateway

log = structlog.get_logger(__name__)
View = TypeVar("View", bound=Callable[..., Any])

DENIAL_CODES = frozenset(
    {
        "unauthorized",
        "forbidden",
        "operator_not_registered",
        "office_suspended",
        "office_revoked",
        "licence_expired",
    }
)

_CREDENTIAL_ID = re.compile(r"^Bearer\s+(p[gs]k_[0-9a-f]{16})\.", re.IGNORECASE)


def own_record_lookup(view: View) -> View:
    """Mark a view that looks up one of the caller's own (office) or in-scope (supervisor)
    records: a ``not_found`` there may be a probe for someone else's, so it is recorded."""
    view.own_record_lookup = True  # type: ignore[attr-defined]
    return view


def records_itself(view: View) -> View:
    """Mark a view whose refusals are recorded by the pipeline (as transactions) already."""
    view.records_itself = True  # type: ignore[attr-defined]
    return view


def _view_marked(mark: str) -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, mark, False))


def set_actor(*, office: str | None = None, supervisor: str | None = None) -> None:
    """Name who the current request authenticated as."""
    g.actor = {"office": office, "supervisor": supervisor}


def note(error: GatewayError, credential: str | None = None) -> None:
    """Record ``error`` if it refuses access (called by the error handlers, once per request;
    ``credential`` when it came in a form rather than the ``Authorization`` header)."""
    if not has_request_context():
        return
    code = error.code
    if code == "too_many_failures":
        _count(code, recorded=False)
        return
    if _view_marked("records_itself"):
        return  # the pipeline records its own refusals as transactions
    own_lookup = code == "not_found" and _view_marked("own_record_lookup")
    if code not in DENIAL_CODES and not (own_lookup and g.get("actor")):
        return
    actor = g.get("actor") or {"office": getattr(error, "office_id", None), "supervisor": None}
    entry = {
        "type": "access_denied",
        "code": code,
        **actor,  # "office" puts the entry in its province's scope
        "credential": _credential_id(credential),
        "client": request.remote_addr,
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule else None,
        # the ids in the path (an office, a transaction): what was asked for, never a query
        "path": _path_ids(),
    }
    try:
        index = record_event(gateway().store, entry)
    except Exception:  # the refusal stands either way; the log line below still tells
        log.exception("access_denied_not_recorded")
        index = None
    _count(code, recorded=index is not None, log_index=index, **actor)


def _path_ids() -> dict[str, str]:
    """The path's variables, without the values the rule itself fixes (an action's name)."""
    fixed = (request.url_rule.defaults or {}) if request.url_rule else {}
    return {
        k: v for k, v in (request.view_args or {}).items() if isinstance(v, str) and k not in fixed
    }


def _credential_id(given: str | None) -> str | None:
    presented = f"Bearer {given}" if given else request.headers.get("Authorization", "")
    match = _CREDENTIAL_ID.match(presented)
    return match.group(1).lower() if match else None


def _count(code: str, **fields: object) -> None:
    instruments.ACCESS_DENIED.labels(code).inc()
    log.warning("access_denied", code=code, client=request.remote_addr, **fields)
