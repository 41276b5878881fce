"""Admission control: at most ``MAX_IN_FLIGHT`` transactions run at once in a worker; one more
waits at most ``ADMISSION_WAIT_MS`` for a slot and is otherwise refused at once with
``overloaded`` (503, ``Retry-After``) — fast refusal instead of a queue without bound, so the
transactions already admitted keep their latency. A refused request never reached the pipeline:
nothing was recorded or executed, and the counter may simply retry it (with the same
Idempotency-Key). Refusals are counted in ``pishkhan_overload_refusals_total``.

A request that waits on another request's Idempotency-Key gives its slot back while it waits
(``paused``), so one office retrying a slow payment cannot refuse every other office.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pishkhan_gateway import instruments
from pishkhan_gateway.errors import Overloaded

RESUME_SECONDS = 30.0  # a resumed request waits this long for a slot (slots free up as calls end)


class Admission:
    """A bounded number of in-flight transactions per worker process."""

    def __init__(self, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._slots = threading.BoundedSemaphore(limit)
        self._held = threading.local()

    def _acquire(self, timeout: float | None = None) -> None:
        if not self._slots.acquire(timeout=self.wait_seconds if timeout is None else timeout):
            instruments.OVERLOAD_REFUSALS.inc()
            raise Overloaded(f"more than {self.limit} transactions in flight in this worker")
        self._held.slot = True

    def _release(self) -> None:
        if getattr(self._held, "slot", False):
            self._held.slot = False
            self._slots.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the duration, or raise ``Overloaded``."""
        self._acquire()
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Give this thread's slot back for the duration (a wait on another request), and take
        one again after it (an admitted request is not refused half-way, so it waits for a slot
        up to ``RESUME_SECONDS``). Nothing when the thread holds no slot, or the wait raised."""
        if not getattr(self._held, "slot", False):
            yield
            return
        self._release()
        yield
        self._acquire(timeout=RESUME_SECONDS)
