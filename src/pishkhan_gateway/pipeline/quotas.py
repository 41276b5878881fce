"""Step 1 (with authentication and the licence): transaction quotas per office and operator.

Each office and each operator may submit so many transactions (``OFFICE_RATE_LIMIT``,
``OPERATOR_RATE_LIMIT``, on ``limits``' moving window); beyond that the pipeline refuses with
``rate_limited`` (429), recorded in the log like every refusal. The storage is
``PISHKHAN_RATE_LIMIT_STORAGE``: ``memory://`` counts per process; a shared store (``redis://…``)
counts across workers and hosts.
"""

from __future__ import annotations

import threading
import time

from cachetools import TTLCache
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pishkhan_gateway import instruments
from pishkhan_gateway.errors import GatewayError, RateLimited


class Quotas:
    """Transactions per office and per operator (shared storage when configured)."""

    def __init__(self, storage: str, office: str, operator: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage))
        self._office = parse_many(office)
        self._operator = parse_many(operator)

    def take(self, office_id: str, operator: str) -> None:
        """Count one transaction, or raise ``RateLimited`` naming the limit it broke (a refused
        attempt uses up nothing)."""
        checks = [
            *((limit, "office", office_id) for limit in self._office),
            *((limit, "operator", f"{office_id}/{operator}") for limit in self._operator),
        ]
        for limit, who, key in checks:
            if not self._limiter.test(limit, "quota", who, key):
                reset = self._limiter.get_window_stats(limit, "quota", who, key).reset_time
                raise RateLimited(
                    f"the {who} limit of {limit} is used up",
                    retry_after=max(1, int(reset - time.time()) + 1),
                )
        for limit, who, key in checks:
            self._limiter.hit(limit, "quota", who, key)


class RefusalSampler:
    """Over-quota refusals in the log as counts: the first of an office in each ``window``
    seconds is recorded in full like any refusal; the rest are answered (429, ``Retry-After``,
    ``recorded: false``) and counted, and their number goes to the log as one ``refusal_count``
    entry when the office's next window opens — so one office hammering with a valid key cannot
    flood the append-only log (it drove ~135 entries a second), and no refusal goes unaccounted.
    Per process."""

    def __init__(self, window: float) -> None:
        self._open: TTLCache[str, bool] = TTLCache(maxsize=100_000, ttl=max(window, 0.001))
        self._counted: dict[str, int] = {}
        self._lock = threading.Lock()
        self.window = window

    def keep(self, error: GatewayError | None, office_id: str | None) -> tuple[bool, int]:
        """Whether this attempt's outcome goes to the log in full (everything but a repeat
        refusal), and how many refusals of the office's last window were only counted."""
        if not isinstance(error, RateLimited) or office_id is None or self.window <= 0:
            return True, 0
        with self._lock:
            if office_id in self._open:
                self._counted[office_id] = self._counted.get(office_id, 0) + 1
                instruments.UNRECORDED_REFUSALS.labels(error.code).inc()
                return False, 0
            self._open[office_id] = True
            return True, self._counted.pop(office_id, 0)
