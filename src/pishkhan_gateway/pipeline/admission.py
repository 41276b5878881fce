"""Admission control: at most ``MAX_IN_FLIGHT`` transactions run at once in a worker; one more
waits at most ``ADMISSION_WAIT_MS`` for a slot and is otherwise refused at once with
``overloaded`` (503, ``Retry-After``) — fast refusal instead of a queue without bound, so the
transactions already admitted keep their latency. A refused request never reached the pipeline:
nothing was recorded or executed, and the counter may simply retry it (with the same
Idempotency-Key). Refusals are counted in ``pishkhan_overload_refusals_total``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pishkhan_gateway import metrics
from pishkhan_gateway.errors import Overloaded


class Admission:
    """A bounded number of in-flight transactions per worker process."""

    def __init__(self, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the duration, or raise ``Overloaded``."""
        if not self._slots.acquire(timeout=self.wait_seconds):
            metrics.OVERLOAD_REFUSALS.inc()
            raise Overloaded(f"more than {self.limit} transactions in flight in this worker")
        try:
            yield
        finally:
            self._slots.release()
