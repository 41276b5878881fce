"""Entitlements: which offices may sell a service — the regulator's and the working groups'
decision, not an agency's.

Every active office may sell every declared service (agencies may not discriminate between
offices, and no hook lets a plugin exclude one) until a rule says otherwise. A rule names a
service and the office types (``pishkhan``, ``rural_ict`` — e.g. postal services kept to rural
ICT offices), location categories and ranks (``max_rank``: at most this place among its peers in
the newest published ranking — new services are allocated by rank, seeds/000 line 177; an
unranked office is not admitted) that may sell it; ``None`` means any. The regulator sets
national rules; a province's working group sets rules for its own offices, which apply on top of
the national one (an office must satisfy both: a province can only narrow). A counter call
outside its entitlement is ``service_not_entitled`` (403), recorded like every refusal, and the
catalog shows an office only what it may sell. Each change is a log entry in the same database
transaction as the rule (``entitlement_set`` / ``entitlement_cleared``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from pishkhan_gateway.auditlog.append import ENTRY_VERSION, append
from pishkhan_gateway.errors import Forbidden, InvalidRequest
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.registry.offices import CATEGORIES, OFFICE_TYPES, OfficeView
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import Entitlement

NATIONAL = "national"
TYPE_FA = {"pishkhan": "دفاتر پیشخوان", "rural_ict": "دفاتر ICT روستایی"}


@dataclass(frozen=True)
class Rule:
    """Who may sell ``service`` under ``scope``: ``office_types`` and ``categories`` (None:
    any)."""

    scope: str
    service: str
    office_types: tuple[str, ...] | None
    categories: tuple[str, ...] | None
    reason: str
    max_rank: int | None = None

    def admits(self, office: OfficeView, category: str, rank: Callable[[], int | None]) -> bool:
        """Whether ``office`` (in ``category`` today; ``rank`` looks its rank up) may sell
        under this rule."""
        if self.scope != NATIONAL and self.scope != f"province:{office.province}":
            return True
        if self.office_types is not None and office.type not in self.office_types:
            return False
        if self.categories is not None and category not in self.categories:
            return False
        if self.max_rank is not None:
            place = rank()
            return place is not None and place <= self.max_rank
        return True

    def public(self) -> dict[str, Any]:
        """The rule as the API shows it."""
        return {
            "scope": self.scope,
            "service": self.service,
            "office_types": list(self.office_types) if self.office_types is not None else None,
            "categories": list(self.categories) if self.categories is not None else None,
            "max_rank": self.max_rank,
            "reason": self.reason,
        }


def _listed(raw: str | None) -> tuple[str, ...] | None:
    return tuple(json.loads(raw)) if raw is not None else None


def stored_rules(store: Store) -> dict[str, list[Rule]]:
    """Every rule in the store, by service."""
    by_service: dict[str, list[Rule]] = {}
    with store.read() as session:
        for row in session.scalars(select(Entitlement).order_by(Entitlement.scope)):
            rule = Rule(
                row.scope,
                row.service,
                _listed(row.office_types),
                _listed(row.categories),
                row.reason,
                row.max_rank,
            )
            by_service.setdefault(row.service, []).append(rule)
    return by_service


def _choices(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or any(v not in allowed for v in value):
        raise InvalidRequest(f"{name}: a list of {', '.join(allowed)}, or null", field=name)
    return sorted(set(value))


def set_rule(
    store: Store, supervisor: Scope, services: set[str], body: dict[str, Any]
) -> dict[str, Any]:
    """Set (or, with office_types, categories and max_rank all null, clear) the rule for one
    service in the supervisor's scope: the regulator's is national unless it names ``scope``; a
    province sets only its own."""
    scope = str(body.get("scope") or (NATIONAL if supervisor.role == "regulator" else ""))
    if not (
        supervisor.role == "regulator"
        or (supervisor.role == "province" and scope in ("", f"province:{supervisor.name}"))
    ):
        raise Forbidden(
            "entitlements are the regulator's and the provincial working groups' (each for its "
            "own offices); an agency may not exclude an office"
        )
    scope = scope or f"province:{supervisor.name}"
    if scope != NATIONAL and not scope.startswith("province:"):
        raise InvalidRequest("scope: national or province:<name>", field="scope")
    service = body.get("service")
    if service not in services:
        raise InvalidRequest("service: an installed service id", field="service")
    types = _choices(body, "office_types", OFFICE_TYPES)
    categories = _choices(body, "categories", CATEGORIES)
    max_rank = body.get("max_rank")
    if max_rank is not None and (type(max_rank) is not int or not 1 <= max_rank <= 100_000):
        raise InvalidRequest("max_rank: a rank from 1, or null", field="max_rank")
    reason = redact_text(str(body.get("reason") or "").strip())
    if not 3 <= len(reason) <= 2000:
        raise InvalidRequest("give the reason (3-2000 characters)", field="reason")
    now = utcnow()
    cleared = types is None and categories is None and max_rank is None
    entry = {
        "v": ENTRY_VERSION,
        "type": "entitlement_cleared" if cleared else "entitlement_set",
        "time": iso(now),
        "scope": scope,
        "service": service,
        "office_types": types,
        "categories": categories,
        "max_rank": max_rank,
        "reason": reason,
        "supervisor": supervisor.supervisor_id,
    }
    with store.write() as session:
        session.execute(
            delete(Entitlement).where(Entitlement.scope == scope, Entitlement.service == service)
        )
        if not cleared:
            session.add(
                Entitlement(
                    scope=scope,
                    service=service,
                    office_types=json.dumps(types) if types is not None else None,
                    categories=json.dumps(categories) if categories is not None else None,
                    max_rank=max_rank,
                    reason=reason,
                    set_by=supervisor.supervisor_id,
                    set_at=now,
                )
            )
        index = append(session, entry, now)
    rule = Rule(scope, service, _tuple(types), _tuple(categories), reason, max_rank)
    return {**rule.public(), "cleared": cleared, "log_index": index}


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


def listing(by_service: dict[str, list[Rule]], supervisor: Scope | None) -> list[dict[str, Any]]:
    """The rules a supervisor oversees (a province: national ones and its own), every rule for
    the regulator and for an agency auditor (it reads who sells its services)."""
    rules = [r for found in by_service.values() for r in found]
    if supervisor is not None and supervisor.role in ("province", "region"):
        mine = {f"province:{p}" for p in supervisor.provinces or ()}
        rules = [r for r in rules if r.scope == NATIONAL or r.scope in mine]
    return [r.public() for r in sorted(rules, key=lambda r: (r.service, r.scope))]
