"""Who may decide what about an office, as the regulator's decisions give it — one table, which
every action checks and the README's oversight section shows (a test keeps them equal).

- The regulator issues, renews and revokes licences, approves transfers and relocations
  (../shared/seeds/000, lines 40 and 60; 001, lines 90–93).
- The provincial working group suspends and reinstates, recommends renewals, transfers and
  relocations, asks the regulator to revoke, rules on violations and sets working hours
  (001, lines 82–92 and 101; 004, items 3 and 8).
- A region (one of the regulator's nine) reviews and rules on violations in its provinces and
  on objections (000, lines 176–182).
- An agency may only report an office (004, items 3 and 8: no agency may cut an office off).

Outside its scope (another province's or region's office) a supervisor is refused as well.
Every refusal is ``forbidden`` (403) and recorded as an ``access_denied`` entry (``denials.py``).
"""

from __future__ import annotations

from typing import Any

from pishkhan_gateway.errors import Forbidden, NotFound
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store.tables import Office

ROLES = ("regulator", "region", "province", "agency")

# action -> (the roles that may take it, what it is)
AUTHORITY: dict[str, tuple[tuple[str, ...], str]] = {
    "suspend": (("regulator", "province"), "suspend an office, or reinstate it"),
    "revoke": (("regulator",), "revoke a licence"),
    "request_revocation": (("province",), "ask the regulator to revoke a licence"),
    "recommend": (("province",), "recommend a renewal, transfer or relocation"),
    "decide_request": (("regulator",), "approve or refuse a renewal, transfer or relocation"),
    "violation": (("regulator", "region", "province"), "open and decide a violation case"),
    "rule_objection": (("regulator", "region"), "rule on an office's objection"),
    "evaluate": (("regulator", "region"), "review an evaluation and rule on its objections"),
    "working_hours": (("regulator", "province"), "set a province's working hours"),
    "appointment_only": (("regulator", "province"), "order an office to serve by appointment only"),
    "report": (("agency",), "report an office (evidence for a case)"),
}

_WHY = {
    ("revoke", "province"): "a province may not revoke a licence; it may ask the regulator to "
    "(POST /v1/offices/{id}/revocation-request)",
    (
        "revoke",
        "agency",
    ): "an agency may not cut an office off; it may report it (POST /v1/reports)",
    ("suspend", "agency"): "an agency may not suspend an office; it may report it "
    "(POST /v1/reports)",
    ("decide_request", "province"): "only the regulator approves renewals, transfers and "
    "relocations; the province recommends",
}


def may(scope: Scope, action: str, province: str | None = None) -> bool:
    """Whether ``scope`` may take ``action`` (about an office in ``province``)."""
    roles, _ = AUTHORITY[action]
    if scope.role not in roles:
        return False
    if scope.role in ("regulator", "agency") or province is None:
        return True
    return scope.oversees(province)


def authorise(scope: Scope, action: str, province: str | None = None) -> None:
    """``Forbidden`` unless ``scope`` may take ``action`` about an office in ``province``."""
    roles, what = AUTHORITY[action]
    if scope.role not in roles:
        why = _WHY.get((action, scope.role))
        if why is None:
            who = " or ".join(roles)
            why = f"only the {who} may {what}"
        raise Forbidden(why)
    if not may(scope, action, province):
        raise Forbidden(f"this office is outside your scope ({scope.label})")


def office_for(session: Any, scope: Scope, office_id: str, action: str) -> Office:
    """The office ``scope`` is about to take ``action`` on, locked for the change; ``NotFound``
    or ``Forbidden`` (the role, or the office outside its scope)."""
    office = session.get(Office, office_id, with_for_update=True)
    if office is None:
        authorise(scope, action)  # the role's refusal first: it does not depend on the office
        raise NotFound(f"no office {office_id}")
    authorise(scope, action, office.province)
    return office


def table() -> list[tuple[str, list[bool]]]:
    """(what, [may regulator, region, province, agency]) per action: the README's table."""
    return [(what, [role in roles for role in ROLES]) for roles, what in AUTHORITY.values()]
