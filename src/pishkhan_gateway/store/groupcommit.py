"""Group commit: the write jobs of many request threads share one database transaction.

A transaction's outcome must be durable before its response exists, and on SQLite with
``synchronous=FULL`` every commit pays the write lock, the WAL append and an fsync; on PostgreSQL
every appender holds the ``log_state`` row lock across its round trips and commit. Paid once per
request, that serialises the whole gateway behind the database. Here one writer thread per
process takes every job queued while the previous batch was committing and runs them in one
transaction: N outcomes pay one ``BEGIN IMMEDIATE``, one counter lock and one fsync. Under light
load a batch is a single job and nothing waits (the writer never lingers for a batch to fill).

Jobs write through the ``Batch`` they are given: ``defer`` queues a row for a statement, and
all rows queued for one statement are written in one ``executemany`` when the jobs have run (a
statement per row through SQLAlchemy costs several times the row); ``once`` runs a callback
right before, once per batch (one ``log_state`` update for all the batch's log entries,
``auditlog/append.py``).

Each caller still gets its own result only after *its* job committed, so the rule "acknowledged
means durable" holds as before. A job that raises is taken out of the batch and the rest run
again without it (its partial writes are rolled back with the batch), so one bad outcome cannot
fail its neighbours; when the deferred writes fail, the batch runs again writing each job's rows
after it, which names the job at fault. A failure of the transaction itself (begin or commit)
reaches every job of the batch, as it would have reached each alone.

No library does this for SQLAlchemy sessions (it is a few dozen lines over ``queue`` and
``concurrent.futures``), hence written here.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session


class Batch:
    """The shared transaction as a job sees it: its ``session``, the rows it defers, and state
    the batch's jobs share (``shared``: a dict for helpers such as the log's index cursor)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.shared: dict[str, Any] = {}
        self._rows: dict[Any, list[dict[str, Any]]] = {}
        self._before: dict[str, Callable[[Session], None]] = {}

    def defer(self, statement: Any, row: dict[str, Any]) -> None:
        """Write ``row`` with ``statement`` when the batch is written (statements in the order
        first deferred, rows in the order given)."""
        self._rows.setdefault(statement, []).append(row)

    def once(self, name: str, run: Callable[[Session], None]) -> None:
        """Run ``run(session)`` once before the deferred rows are written (the last given
        under ``name`` wins)."""
        self._before[name] = run

    def flush(self) -> None:
        """Write what was deferred: the ``once`` callbacks, then one executemany a statement."""
        before, rows = self._before, self._rows
        self._before, self._rows = {}, {}
        for run in before.values():
            run(self.session)
        if rows:
            connection = self.session.connection()
            for statement, params in rows.items():
                connection.execute(statement, params)


class _FlushFailed(Exception):
    pass


@dataclass
class _Job:
    run: Callable[[Batch], Any]
    future: Future = field(default_factory=Future)


class _JobFailed(Exception):
    def __init__(self, job: _Job, error: BaseException) -> None:
        self.job, self.error = job, error


class GroupCommit:
    """Run write jobs in shared transactions opened by ``begin`` (``Store.write``)."""

    def __init__(
        self,
        begin: Callable[[], Any],
        max_batch: int = 128,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._begin = begin
        self.max_batch = max_batch
        self.on_batch = on_batch  # told each committed batch's size (a metrics histogram)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def run(self, job: Callable[[Batch], Any]) -> Any:
        """Run ``job(batch)`` in the next batch; return its result once the batch committed."""
        item = _Job(job)
        self._ensure_writer()
        self._queue.put(item)
        return item.future.result()

    def close(self) -> None:
        """Stop the writer thread after the jobs already queued."""
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                self._queue.put(None)
                self._thread.join(timeout=10)
                while True:  # whatever came in behind the stop is refused, not left waiting
                    try:
                        late = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if late is not None:
                        late.future.set_exception(RuntimeError("the store was closed"))
            self._thread = None

    def _running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def _ensure_writer(self) -> None:
        if self._running():
            return
        with self._lock:
            if not self._running():
                if self._pid != os.getpid():
                    # After a fork the parent's writer thread and its queue are not ours.
                    self._queue = queue.SimpleQueue()
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._write_forever, name="pishkhan-group-commit", daemon=True
                )
                self._thread.start()

    def _write_forever(self) -> None:
        jobs = self._queue
        while True:
            first = jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    jobs.put(None)  # stop after this batch
                    break
                batch.append(more)
            self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        together = len(batch) > 1  # deferred rows written once for all; else after each job
        while batch:
            try:
                with self._begin() as session:
                    shared = Batch(session)
                    results = []
                    for job in batch:
                        try:
                            results.append(job.run(shared))
                            if not together:
                                shared.flush()
                        except BaseException as exc:  # handed to its caller
                            raise _JobFailed(job, exc) from exc
                    if together:
                        try:
                            shared.flush()
                        except Exception as exc:
                            raise _FlushFailed from exc
            except _JobFailed as failed:
                failed.job.future.set_exception(failed.error)
                batch = [job for job in batch if job is not failed.job]
                continue
            except _FlushFailed:
                together = False  # again, each job's rows after it: the failure names its job
                continue
            except BaseException as exc:  # noqa: BLE001 - begin or commit failed: tell them all
                for job in batch:
                    job.future.set_exception(exc)
                return
            for job, result in zip(batch, results, strict=True):
                job.future.set_result(result)
            if self.on_batch is not None:
                with contextlib.suppress(Exception):  # a metric must not stop the writer
                    self.on_batch(len(batch))
            return
