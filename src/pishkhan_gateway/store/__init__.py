"""Database access: engines, transactions, migrations.

SQLite (the embedded default) runs in WAL with ``synchronous=FULL`` (an acknowledged transaction
survives power loss, not only a crash) and takes its write lock at ``BEGIN IMMEDIATE`` for write
transactions, so a read-then-write never fails half way on a lock upgrade. Writers queue for
that lock in order (``WriterQueue``) instead of spinning in SQLite's busy handler, whose growing
sleeps are what turns contention into a tail of hundreds of milliseconds. PostgreSQL needs nothing
special: row locks on ``log_state`` serialise appends to the log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pishkhan_gateway.store.groupcommit import Batch, GroupCommit

MIGRATIONS = Path(__file__).parent / "migrations"


class WriterQueue:
    """One SQLite writer at a time, waiting in the kernel rather than polling.

    A thread lock orders the threads of one process; ``flock`` on a lock file beside the database
    orders the processes (gunicorn workers, CLI commands). Blocking ``flock`` wakes the next
    waiter as soon as the lock is released; a library such as filelock polls instead, which is
    the very latency this exists to remove. Re-entrant within a thread.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._depth = threading.local()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._threads.acquire()
        depth = getattr(self._depth, "n", 0)
        if depth == 0:
            if self._fd is None or self._pid != os.getpid():
                # A forked worker opens its own: flock is per open file, shared across a fork.
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth.n = depth + 1

    def __exit__(self, *exc: object) -> None:
        self._depth.n -= 1
        if self._depth.n == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


T = TypeVar("T")


def utcnow() -> dt.datetime:
    """Now, in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class Store:
    """Engines for one database URL, and the two ways to use them."""

    def __init__(self, url: str, *, group_commit: bool = True) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            _sqlite_pragmas(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = engine
        self._write_engine = engine.execution_options(pishkhan_write=True)
        self._statement_engine = engine.execution_options(pishkhan_one_statement=True)
        self._writers: WriterQueue | None = None
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            self._writers = WriterQueue(Path(parsed.database + "-writer.lock"))
        # Not for an in-memory SQLite database: each thread would see a database of its own.
        shared = not self.is_sqlite or self._writers is not None
        self.commits = GroupCommit(self.write) if group_commit and shared else None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on success and rolled back on any exception."""
        with (
            self._writers or contextlib.nullcontext(),
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def write_grouped(self, job: Callable[[Batch], T]) -> T:
        """``job(batch)`` in a write transaction shared with other threads' jobs (group commit,
        ``groupcommit.py``); returns once it committed. Without group commit, a transaction of
        its own. Never call it while holding ``write()``: the shared writer would wait for you."""
        if self.commits is None:
            with self.write() as session:
                batch = Batch(session)
                result = job(batch)
                batch.flush()
                return result
        return self.commits.run(job)

    def statement(self) -> Connection:
        """A connection for one read statement (``with store.statement() as c: c.execute(…)``):
        on SQLite it skips the ``BEGIN`` that multi-statement reads need for a consistent
        snapshot, which costs as much as a small query (the hot path's credential check)."""
        return self._statement_engine.connect()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def upgrade(self) -> None:
        """Bring the schema to the latest migration."""
        with self.engine.begin() as connection:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

    def readiness(self) -> dict[str, str]:
        """``{"database": …, "schema": …}``, each ``ok`` or why not (for ``/v1/ready``)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            current = self.is_current()
        except SQLAlchemyError as exc:
            return {"database": f"unreachable: {type(exc).__name__}"}
        return {
            "database": "ok",
            "schema": "ok" if current else "needs `pishkhan-gateway db upgrade`",
        }

    def is_current(self) -> bool:
        """True when the database schema is at the latest migration."""
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision() == head

    def dispose(self) -> None:
        """Stop the group-commit writer and close pooled connections."""
        if self.commits is not None:
            self.commits.close()
        self.engine.dispose()


def alembic_config(url: str) -> AlembicConfig:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's own
        # handling defers BEGIN and breaks isolation; see SQLAlchemy's pysqlite docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        options = connection.get_execution_options()
        if options.get("pishkhan_one_statement"):
            return  # one statement is atomic and consistent on its own (autocommit)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("pishkhan_write") else "BEGIN")
