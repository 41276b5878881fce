"""Step 6: calling the agency: a circuit breaker per agency, bounded retries for inquiries only.

Resilience lives here, not in each plugin. One deadline, ``AgencyContext.timeout``, bounds each
call with its retries (``agencyhttp.within``: sessions from ``soap``/``rest`` end a late exchange
however the network behaves); retries (jittered exponential backoff, at most ``INQUIRY_RETRIES``)
happen only for ``inquiry`` services and only inside that same timeout budget. Payments and
requests are never retried: an unclear end is recorded as ``unknown`` and reconciled later.
What a plugin's bug becomes is decided by the door (``plugins/door.py``), not here.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pybreaker
import structlog
import tenacity

from pishkhan_gateway import instruments
from pishkhan_gateway.errors import (
    AgencyRejected,
    AgencyTimeout,
    AgencyUnavailable,
    InvalidParams,
)
from pishkhan_gateway.pipeline.breakers import SharedStorage
from pishkhan_gateway.plugins.door import Plugins, RegisteredService
from pishkhan_gateway.sdk import agencyhttp
from pishkhan_gateway.sdk.values import AgencyContext, Citizen, Result

log = structlog.get_logger(__name__)
T = TypeVar("T")


class CircuitOpen(AgencyUnavailable):
    """The agency's breaker is open: fail fast without calling it."""


class Dispatcher:
    """One breaker per agency, its state shared by every worker on the host (``breakers``)."""

    def __init__(
        self,
        plugins: Plugins,
        *,
        failures: int,
        reset_seconds: float,
        inquiry_retries: int,
        state_dir: str,
    ) -> None:
        self.plugins = plugins
        self.state_dir = state_dir
        self.failures = failures
        self.reset_seconds = reset_seconds
        self.inquiry_retries = inquiry_retries
        self._breakers: dict[str, pybreaker.CircuitBreaker] = {}
        self._lock = threading.Lock()

    def breaker(self, agency: str) -> pybreaker.CircuitBreaker:
        """The agency's breaker; only transport-level failures count against it."""
        with self._lock:
            breaker = self._breakers.get(agency)
            if breaker is None:
                breaker = pybreaker.CircuitBreaker(
                    fail_max=self.failures,
                    reset_timeout=self.reset_seconds,
                    name=agency,
                    exclude=[AgencyRejected, InvalidParams],
                    throw_new_error_on_trip=False,
                    state_storage=SharedStorage(self.state_dir, agency),
                )
                self._breakers[agency] = breaker
            return breaker

    def breaker_states(self) -> Mapping[str, str]:
        """Each agency's breaker state (closed, open, half-open)."""
        with self._lock:
            return {name: b.current_state for name, b in self._breakers.items()}

    def _guarded(self, agency: AgencyContext, kind: str, call: Callable[[], T]) -> T:
        try:
            return self.breaker(agency.name).call(call)
        except pybreaker.CircuitBreakerError:
            raise CircuitOpen(
                f"{agency.name} is failing; calls are paused", retry_after=int(self.reset_seconds)
            ) from None

    def quote(
        self, *, service: RegisteredService, params: Mapping[str, Any], agency: AgencyContext
    ) -> int:
        """The agency amount. Not counted by the breaker: most quotes are local (a bill's amount
        is in its payment id), and their success says nothing about the agency's health."""
        with agencyhttp.within(agency.timeout):
            return self.plugins.quote(service=service, params=params, agency=agency)

    def execute(
        self,
        service: RegisteredService,
        params: Mapping[str, Any],
        citizen: Citizen,
        agency: AgencyContext,
        transaction_id: str,
        agency_amount: int,
    ) -> Result:
        """Execute the service once (payments, requests) or with bounded retries (inquiries)."""
        kind = service.service.kind

        def call() -> Result:
            return self.plugins.execute(
                service=service,
                params=params,
                citizen=citizen,
                agency=agency,
                transaction_id=transaction_id,
                agency_amount=agency_amount,
            )

        started, result = time.perf_counter(), "error"
        try:
            with agencyhttp.within(agency.timeout):  # retries included: one budget per call
                answer = self._execute(agency, kind, call)
            result = "ok"
            return answer
        except AgencyRejected:
            result = "rejected"
            raise
        finally:
            instruments.AGENCY_SECONDS.labels(agency.name, kind, result).observe(
                time.perf_counter() - started
            )
            state = self.breaker(agency.name).current_state
            instruments.BREAKER.labels(agency.name).set(instruments.BREAKER_STATES.get(state, 2))

    def _execute(self, agency: AgencyContext, kind: str, call: Callable[[], Result]) -> Result:
        if kind != "inquiry" or self.inquiry_retries <= 0:
            return self._guarded(agency, kind, call)
        # The first try costs no retry machinery (nearly every call succeeds at once); only a
        # failed inquiry builds tenacity's, after the first back-off, for what is left of the
        # attempts and of the agency's time budget.
        started = time.monotonic()
        try:
            return self._guarded(agency, kind, call)
        except (AgencyUnavailable, AgencyTimeout) as exc:
            if isinstance(exc, CircuitOpen):
                raise
            first = exc
        time.sleep(random.uniform(0, 0.05))  # jitter before the second try
        left = agency.timeout - (time.monotonic() - started)
        if left <= 0:
            raise first
        retrying = tenacity.Retrying(
            stop=(
                tenacity.stop_after_attempt(self.inquiry_retries) | tenacity.stop_after_delay(left)
            ),
            wait=tenacity.wait_random_exponential(multiplier=0.05, max=0.5),
            retry=tenacity.retry_if_exception(
                lambda exc: (
                    isinstance(exc, AgencyUnavailable | AgencyTimeout)
                    and not isinstance(exc, CircuitOpen)
                )
            ),
            reraise=True,
        )
        return retrying(self._guarded, agency, kind, call)
