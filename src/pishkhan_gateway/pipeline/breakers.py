"""Circuit-breaker state shared by every worker process on a host.

pybreaker keeps a breaker's state (closed/open/half-open, the failure and success counters, when
it opened) in a storage object; its own are process memory and Redis. A gunicorn host runs
several workers, and an agency that is down should cost the host ``BREAKER_FAILURES`` slow calls,
not that many per worker — so this storage keeps each agency's record in a small memory-mapped
file under ``BREAKER_DIR``, changed under an exclusive ``flock``. The state, read on every call,
is one byte read without the lock; nothing touches the database on the hot path.

Written here because no library does it: pybreaker's only shared storage needs a Redis server,
which the embedded deployment does not have. Hosts do not share breakers: each host judges the
agency by what it sees itself, which is also what a per-host network fault needs.
"""

from __future__ import annotations

import datetime as dt
import mmap
import os
import re
import struct
from pathlib import Path

import pybreaker

from pishkhan_gateway.store import WriterQueue

_RECORD = struct.Struct("<BxxxIId")  # state, failures, successes, opened_at (epoch seconds)
_SIZE = 32
_STATES = (pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN)
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class SharedStorage(pybreaker.CircuitBreakerStorage):
    """One agency's breaker record in ``<directory>/<name>.breaker``, shared across processes."""

    def __init__(self, directory: str | Path, name: str) -> None:
        super().__init__(name)
        Path(directory).mkdir(parents=True, exist_ok=True)
        path = Path(directory) / f"{_SAFE.sub('_', name)}.breaker"
        # the same re-entrant thread lock + flock the SQLite writers queue on (fork-safe)
        self._locked = WriterQueue(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            with self._locked:
                if os.fstat(fd).st_size < _SIZE:
                    os.ftruncate(fd, _SIZE)  # zeros: closed, no failures
            self._map = mmap.mmap(fd, _SIZE)  # MAP_SHARED: every process sees every write
        finally:
            os.close(fd)

    def _read(self) -> tuple[int, int, int, float]:
        return _RECORD.unpack_from(self._map)  # type: ignore[return-value]

    def _update(self, **changes: int | float) -> None:
        with self._locked:
            state, failures, successes, opened = self._read()
            values = {"state": state, "failures": failures, "successes": successes}
            values.update(changes)  # type: ignore[arg-type]
            _RECORD.pack_into(
                self._map,
                0,
                int(values["state"]),
                min(int(values["failures"]), 2**32 - 1),
                min(int(values["successes"]), 2**32 - 1),
                float(changes.get("opened", opened)),
            )

    @property
    def state(self) -> str:
        # Read on every call: one byte, which no writer can leave half-written, so no lock (a
        # flock per call cost ~3 % of a worker under load, and made the workers queue).
        return _STATES[self._map[0]]

    @state.setter
    def state(self, state: str) -> None:
        self._update(state=_STATES.index(state))

    def increment_counter(self) -> None:
        with self._locked:
            self._update(failures=self._read()[1] + 1)

    def reset_counter(self) -> None:
        if self._read()[1]:  # a success with no failures before it writes nothing
            self._update(failures=0)

    def increment_success_counter(self) -> None:
        with self._locked:
            self._update(successes=self._read()[2] + 1)

    def reset_success_counter(self) -> None:
        if self._read()[2]:
            self._update(successes=0)

    @property
    def counter(self) -> int:
        with self._locked:
            return self._read()[1]

    @property
    def success_counter(self) -> int:
        with self._locked:
            return self._read()[2]

    @property
    def opened_at(self) -> dt.datetime | None:
        with self._locked:
            opened = self._read()[3]
        return dt.datetime.fromtimestamp(opened, dt.UTC) if opened else None

    @opened_at.setter
    def opened_at(self, when: dt.datetime) -> None:
        self._update(opened=when.timestamp())
