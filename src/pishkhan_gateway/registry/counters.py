"""What a worker remembers about who is at the counter, for as long as the registry is unchanged.

Authenticating a transaction reads the credential, its office and the operator registered there
(one three-table query) and computes the operator's pseudonym under every key (an HMAC each):
together about a quarter of a transaction's CPU. The answer depends only on those tables, and
the database bumps ``registry_version`` on any change to them (triggers, migration 0011). So a
worker keeps the row the query returned, keyed by credential id and the operator as sent, and
reads the version on every request (``store/version.py``: a few microseconds on SQLite): the
same version, the kept row; another, everything forgotten and the query run again. A
revocation, a suspension, a new or removed operator is therefore seen on the next request by
every worker and host, exactly as without the cache. What is judged on the row — the secret, the
credential's and the licence's expiry — is judged again on every request.

Kept in memory only, at most ``SIZE`` counters (then the whole cache starts over): the operators'
national codes as sent are the keys, as they are in each request being served.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pishkhan_gateway.store.version import RegistryVersion

SIZE = 10_000


class CounterCache:
    """Rows of the counter query, valid for one registry version."""

    def __init__(self, version: RegistryVersion) -> None:
        self._version = version
        self._lock = threading.Lock()
        self._seen: int | None = None
        self._rows: dict[tuple[str, str], Any] = {}

    def row(self, credential_id: str, operator: str, query: Callable[[], Any]) -> Any:
        """The row for (credential, operator): kept, or ``query()`` run and kept."""
        now = self._version.read()
        key = (credential_id, operator)
        with self._lock:
            if now is None or now != self._seen:
                self._rows.clear()
                self._seen = now
            elif key in self._rows:
                return self._rows[key]
        row = query()
        if now is not None and self._version.read() == now:  # unchanged while it ran
            with self._lock:
                if self._seen == now:
                    if len(self._rows) >= SIZE:
                        self._rows.clear()
                    self._rows[key] = row
        return row
