"""Group commit: concurrent outcomes share a database transaction, each answered after it commits,
and one bad outcome cannot fail its neighbours."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from conftest import BILL, open_counter
from pishkhan_gateway.store.groupcommit import Batch, GroupCommit
from pishkhan_gateway.store.tables import LogEntry


class FakeSession(list):
    """A transaction as a list: a job appends what it writes, or defers it to the batch's
    executemany (``execute`` here), which refuses the rows of the statement ``"bad"``."""

    def connection(self) -> FakeSession:
        return self

    def execute(self, statement: str, rows: list[object]) -> None:
        self.executemany.append(len(rows))
        if statement == "bad":
            raise ValueError("a deferred row cannot be written")
        self.extend(rows)


class FakeDatabase:
    """Transactions as lists: commit keeps what a job wrote, rollback not."""

    def __init__(self) -> None:
        self.committed: list[object] = []
        self.transactions = 0
        self.fail_commit = False
        self.executemany: list[int] = []  # rows per deferred write

    @contextmanager
    def begin(self):
        pending = FakeSession()
        pending.executemany = self.executemany
        self.transactions += 1
        yield pending  # an exception from a job propagates: nothing of the batch is kept
        if self.fail_commit:
            raise OSError("disk full")
        self.committed.extend(pending)


def write(value: object):
    def job(batch: Batch) -> object:
        batch.session.append(value)
        return value

    return job


def deferred(value: object, statement: str = "insert"):
    def job(batch: Batch) -> object:
        batch.defer(statement, value)
        return value

    return job


def queued_behind_a_slow_job(commits: GroupCommit, jobs: list) -> list[concurrent.futures.Future]:
    """Submit a first job that holds the writer until every other job is queued behind it."""
    started, release = threading.Event(), threading.Event()

    def slow(batch: Batch) -> str:
        started.set()
        release.wait(10)
        batch.session.append("first")
        return "first"

    pool = concurrent.futures.ThreadPoolExecutor(len(jobs) + 1)
    futures = [pool.submit(commits.run, slow)]
    assert started.wait(10)  # the writer is inside `slow`
    deadline = time.monotonic() + 10
    futures += [pool.submit(commits.run, job) for job in jobs]
    while commits._queue.qsize() < len(jobs) and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    pool.shutdown(wait=False)
    return futures


def test_jobs_queued_meanwhile_commit_together_and_each_gets_its_result():
    db = FakeDatabase()
    batches: list[int] = []
    commits = GroupCommit(db.begin, on_batch=batches.append)
    futures = queued_behind_a_slow_job(commits, [write(i) for i in range(30)])
    results = [f.result(10) for f in futures]
    assert results == ["first", *range(30)]
    assert batches == [1, 30]  # the slow one alone, then everything that queued behind it
    assert db.transactions == 2
    assert sorted(map(str, db.committed)) == sorted(map(str, ["first", *range(30)]))
    commits.close()


def test_a_batch_is_capped():
    db = FakeDatabase()
    batches: list[int] = []
    commits = GroupCommit(db.begin, max_batch=8, on_batch=batches.append)
    futures = queued_behind_a_slow_job(commits, [write(i) for i in range(20)])
    assert [f.result(10) for f in futures][1:] == list(range(20))
    assert batches == [1, 8, 8, 4]
    commits.close()


def test_a_failing_job_fails_alone_and_leaves_nothing_behind():
    db = FakeDatabase()
    batches: list[int] = []
    commits = GroupCommit(db.begin, on_batch=batches.append)

    def bad(batch: Batch) -> None:
        batch.session.append("half-written")
        raise ValueError("this outcome cannot be recorded")

    jobs = [write(0), write(1), bad, write(3)]
    futures = queued_behind_a_slow_job(commits, jobs)
    with pytest.raises(ValueError, match="cannot be recorded"):
        futures[3].result(10)
    assert [futures[i].result(10) for i in (1, 2, 4)] == [0, 1, 3]
    assert "half-written" not in db.committed
    assert sorted(map(str, db.committed)) == ["0", "1", "3", "first"]
    assert batches == [1, 3]  # the batch ran again without the bad job
    commits.close()


def test_deferred_rows_are_written_in_one_executemany_per_batch():
    db = FakeDatabase()
    commits = GroupCommit(db.begin)
    futures = queued_behind_a_slow_job(commits, [deferred(i) for i in range(12)])
    assert [f.result(10) for f in futures][1:] == list(range(12))
    assert db.executemany == [12]  # the slow job deferred nothing; the 12 rows went together
    assert sorted(map(str, db.committed)) == sorted(map(str, ["first", *range(12)]))
    commits.close()


def test_a_deferred_row_that_fails_fails_its_job_alone():
    """The batch's executemany fails: the batch runs again writing each job's rows after it,
    so only the job whose row fails is told, and the others' rows are written once."""
    db = FakeDatabase()
    batches: list[int] = []
    commits = GroupCommit(db.begin, on_batch=batches.append)
    jobs = [deferred(0), deferred(1), deferred("x", "bad"), deferred(3)]
    futures = queued_behind_a_slow_job(commits, jobs)
    with pytest.raises(ValueError, match="cannot be written"):
        futures[3].result(10)
    assert [futures[i].result(10) for i in (1, 2, 4)] == [0, 1, 3]
    assert sorted(map(str, db.committed)) == ["0", "1", "3", "first"]
    assert batches == [1, 3]
    commits.close()


def test_a_failed_commit_reaches_every_job_of_the_batch():
    db = FakeDatabase()
    commits = GroupCommit(db.begin)
    assert commits.run(write("a")) == "a"
    db.fail_commit = True
    futures = queued_behind_a_slow_job(commits, [write(i) for i in range(5)])
    for future in futures:
        with pytest.raises(OSError, match="disk full"):
            future.result(10)
    assert db.committed == ["a"]  # nobody was told "recorded" for what was not
    db.fail_commit = False
    assert commits.run(write("b")) == "b"  # the writer lives on
    commits.close()


def test_close_stops_the_writer_and_a_later_job_starts_it_again():
    db = FakeDatabase()
    commits = GroupCommit(db.begin)
    assert commits.run(write(1)) == 1
    writer = commits._thread
    commits.close()
    assert writer is not None and not writer.is_alive()
    assert commits.run(write(2)) == 2
    commits.close()


def test_concurrent_transactions_share_commits_and_the_log_stays_gap_free(
    app, gw, sandbox, monkeypatch
):
    """Through the real pipeline on both databases: 60 inquiries from 20 threads; every answer
    names its own log index, indexes are 0..59, and the log verifies."""
    assert gw.store.commits is not None
    batches: list[int] = []
    monkeypatch.setattr(gw.store.commits, "on_batch", batches.append)
    counter = open_counter(gw, "office-1")

    def send(_: int) -> int:
        reply = app.test_client().post(
            "/v1/transactions",
            json={"service": "postbank.bill.inquiry", "params": BILL},
            headers=counter.headers(),
        )
        assert reply.status_code == 201, reply.get_data(as_text=True)
        return reply.get_json()["log_index"]

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        indexes = list(pool.map(send, range(60)))
    assert sorted(indexes) == list(range(60))
    assert sum(batches) == 60  # every outcome went through the shared writer
    with gw.store.read() as session:
        stored = list(session.scalars(select(LogEntry.index).order_by(LogEntry.index)))
    assert stored == list(range(60))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    verified = runner.invoke(args=["audit", "verify", "--deep"])
    assert verified.exit_code == 0, verified.output


def test_without_group_commit_each_outcome_has_its_own_transaction(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    from conftest import make_app

    app = make_app(db_url, tmp_path, plugins, sandboxes, GROUP_COMMIT=False)
    gw = app.extensions["pishkhan"]
    assert gw.store.commits is None
    counter = open_counter(gw, "office-1")
    reply = app.test_client().post(
        "/v1/transactions",
        json={"service": "postbank.bill.inquiry", "params": BILL},
        headers=counter.headers(),
    )
    assert reply.status_code == 201 and reply.get_json()["log_index"] == 0
    gw.store.dispose()


def test_a_failing_metric_does_not_stop_the_writer():
    db = FakeDatabase()

    def broken(size: int) -> None:
        raise RuntimeError("metrics directory gone")

    commits = GroupCommit(db.begin, on_batch=broken)
    assert commits.run(write(1)) == 1
    assert commits.run(write(2)) == 2  # the writer lived on
    assert db.committed == [1, 2]
    commits.close()
