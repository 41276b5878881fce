"""The entitlement step: may this office sell this service? The rules are the regulator's and the
working groups' (``regulation/entitlementrules.py``); this is their per-worker cache and the check
the counter runs (``service_not_entitled``, 403, recorded like every refusal), and what the
catalog asks to show an office only what it may sell."""

from __future__ import annotations

import threading
import time

from pishkhan_gateway.errors import ServiceNotEntitled
from pishkhan_gateway.registry.offices import OfficeView, today
from pishkhan_gateway.regulation import evaluation
from pishkhan_gateway.regulation.entitlementrules import NATIONAL, Rule, stored_rules
from pishkhan_gateway.store import Store


class Entitlements:
    """The rules in the store, cached per worker for ``cache_seconds``."""

    def __init__(self, store: Store, cache_seconds: float = 5.0) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cached: dict[str, list[Rule]] | None = None
        self._cached_at = 0.0
        self._lock = threading.Lock()
        self._ranks: dict[str, tuple[int | None, float]] = {}

    def rules(self) -> dict[str, list[Rule]]:
        """Every rule, by service."""
        now = time.monotonic()
        with self._lock:
            if self._cached is not None and now - self._cached_at < self.cache_seconds:
                return self._cached
        by_service = stored_rules(self.store)
        with self._lock:
            self._cached, self._cached_at = by_service, now
        return by_service

    def forget(self) -> None:
        """Drop this worker's cache (after a change)."""
        self._cached = None
        self._ranks.clear()

    def refusal(self, office: OfficeView, service_id: str) -> Rule | None:
        """The first rule that keeps ``office`` from selling ``service_id``, or None."""
        category = office.category_on(today())
        for rule in self.rules().get(service_id, ()):
            if not rule.admits(office, category, lambda: self.rank(office.id)):
                return rule
        return None

    def rank(self, office_id: str) -> int | None:
        """The office's place in the newest published ranking (cached like the rules)."""
        now = time.monotonic()
        cached = self._ranks.get(office_id)
        if cached is not None and now - cached[1] < self.cache_seconds:
            return cached[0]
        found = evaluation.rank_of(self.store, office_id)
        place = int(found["rank"]) if found else None
        self._ranks[office_id] = (place, now)
        return place

    def check(self, office: OfficeView, service_id: str) -> None:
        """``service_not_entitled`` unless ``office`` may sell ``service_id``."""
        rule = self.refusal(office, service_id)
        if rule is None:
            return
        who = "the regulator" if rule.scope == NATIONAL else f"the {rule.scope} working group"
        allowed = []
        if rule.office_types is not None:
            allowed.append(f"office types {', '.join(rule.office_types) or '(none)'}")
        if rule.categories is not None:
            allowed.append(f"location categories {', '.join(rule.categories) or '(none)'}")
        if rule.max_rank is not None:
            allowed.append(f"offices ranked {rule.max_rank} or better among their peers")
        raise ServiceNotEntitled(
            f"{who} entitles only {' and '.join(allowed)} to sell {service_id}; this office is "
            f"{office.type}, {office.category_on(today())}, ranked {self.rank(office.id) or '—'}",
            entitlement_scope=rule.scope,
        )
