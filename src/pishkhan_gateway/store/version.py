"""The registry's version, read on every transaction: cheaper than the query it saves.

Database triggers bump ``registry_version`` on any change to offices, office credentials or
operators — whoever makes it: an API call, the CLI, another host, a hand-written UPDATE — so a
worker may keep what it read about a counter for as long as the version stays the same
(``registry/counters.py``).

Reading it must cost next to nothing or the cache gains nothing. SQLite: each thread keeps its
own plain ``sqlite3`` connection to the file (a one-row autocommit SELECT, no pool checkout, no
SQLAlchemy), which sees every committed write (WAL). PostgreSQL: one dedicated autocommit
connection per process, one query at a time under a lock (a round trip on the same network as
the database, instead of a pool checkout and a three-table join).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from sqlalchemy.engine import make_url

_SELECT = "SELECT version FROM registry_version WHERE id = 1"


class RegistryVersion:
    """``read()``: the current version, or None when it cannot be read cheaply (an in-memory
    database, where another connection sees another database): callers then do not cache."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._sqlite: str | None = None
        self._libpq: str | None = None
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                self._sqlite = f"file:{parsed.database}?mode=ro"
        else:
            self._libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pg: Any = None
        self._pg_pid = 0

    def read(self) -> int | None:
        """The version now, or None."""
        try:
            if self._sqlite is not None:
                return self._read_sqlite()
            if self._libpq is not None:
                return self._read_postgresql()
        except Exception:  # noqa: BLE001 - a table not migrated yet, a dropped connection: no cache
            self._forget()
        return None

    def _read_sqlite(self) -> int:
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            connection = sqlite3.connect(self._sqlite, uri=True, check_same_thread=False)
            connection.isolation_level = None  # autocommit: each read sees the latest commit
            self._local.connection, self._local.pid = connection, os.getpid()
        return int(connection.execute(_SELECT).fetchone()[0])

    def _read_postgresql(self) -> int:
        import psycopg

        with self._lock:
            if self._pg is None or self._pg_pid != os.getpid() or self._pg.closed:
                self._pg = psycopg.connect(self._libpq, autocommit=True)
                self._pg_pid = os.getpid()
            return int(self._pg.execute(_SELECT).fetchone()[0])

    def _forget(self) -> None:
        self._local.connection = None
        with self._lock:
            if self._pg is not None and self._pg_pid == os.getpid():
                try:
                    self._pg.close()
                except Exception:  # noqa: BLE001, S110 - it is being dropped anyway
                    pass
            self._pg = None
