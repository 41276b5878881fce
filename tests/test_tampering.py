"""1,000 random mutations of a stored log are all caught by ``audit verify``; so is a database
rolled back to an older copy, when checked against a head a supervisor saved earlier.

The log is built once through the API and sealed several times (so several signed heads exist),
then each mutation is applied to a fresh copy of the SQLite file with the ``sqlite3`` module —
exactly what someone with the file and no signing key can do.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import rfc8785
from sqlalchemy import text

from conftest import BILL, BILL_2, pay_body
from pishkhan_gateway.auditlog.verify import verify_store
from pishkhan_gateway.store import Store

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ROUNDS = 1000


def build_log(client, counter, gw, entries=40, seal_every=7):
    """A log of successes and refusals with a signed head every few entries."""
    for i in range(entries):
        if i % 5 == 0:
            client.post(
                "/v1/transactions",
                json=pay_body(BILL if i % 2 else BILL_2, fee=40001 + i),
                headers=counter.headers(),
            )
        else:
            client.post(
                "/v1/transactions",
                headers=counter.headers(),
                json={"service": "postbank.bill.inquiry", "params": BILL, "office_fee": 0},
            )
        if i % seal_every == seal_every - 1:
            gw.sealer.seal_all()
    gw.sealer.seal_all()
    return client.get("/v1/audit/tree-head").get_json()


def flip(data: bytes, rng: random.Random, bits: int = 8) -> bytes:
    raw = bytearray(data)
    raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(bits)
    return bytes(raw)


def size_of(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM log_entries").fetchone()[0]


def pick(db: sqlite3.Connection, rng: random.Random) -> tuple[int, bytes]:
    index = rng.randrange(size_of(db))
    entry = db.execute('SELECT entry FROM log_entries WHERE "index" = ?', (index,)).fetchone()[0]
    return index, entry


def entry_bit(db, rng):
    index, entry = pick(db, rng)
    db.execute('UPDATE log_entries SET entry = ? WHERE "index" = ?', (flip(entry, rng), index))


def index_bit(db, rng):
    index, _ = pick(db, rng)
    # a flip of bit 6 or above moves the entry past the end (below would collide with another)
    moved = index ^ (1 << rng.randrange(6, 40))
    db.execute('UPDATE log_entries SET "index" = ? WHERE "index" = ?', (moved, index))


def head_bit(db, rng):
    sizes = [r[0] for r in db.execute("SELECT tree_size FROM tree_heads")]
    size = rng.choice(sizes)
    document = db.execute("SELECT document FROM tree_heads WHERE tree_size = ?", (size,)).fetchone()
    changed = flip(document[0].encode(), rng, bits=7).decode()  # stays ASCII, as stored
    db.execute("UPDATE tree_heads SET document = ? WHERE tree_size = ?", (changed, size))


def deleted(db, rng):
    index, _ = pick(db, rng)
    db.execute('DELETE FROM log_entries WHERE "index" = ?', (index,))


def inserted(db, rng):
    """A forged entry slipped in at a random place, later entries renumbered, size bumped."""
    at = rng.randrange(size_of(db))
    db.execute('UPDATE log_entries SET "index" = -"index" - 1 WHERE "index" >= ?', (at,))
    db.execute('UPDATE log_entries SET "index" = -"index" WHERE "index" < 0')
    forged = rfc8785.dumps({"type": "transaction", "outcome": "succeeded", "total": 1})
    db.execute(
        'INSERT INTO log_entries ("index", entry, created_at) VALUES (?, ?, ?)',
        (at, forged, "2026-01-01 00:00:00"),
    )
    db.execute("UPDATE log_state SET size = size + 1")


def appended(db, rng):
    """A forged entry after the last one, the size left alone."""
    db.execute(
        'INSERT INTO log_entries ("index", entry, created_at) VALUES (?, ?, ?)',
        (size_of(db), rfc8785.dumps({"forged": rng.random()}), "2026-01-01 00:00:00"),
    )


def reordered(db, rng):
    """A run of consecutive entries shuffled into another order."""
    start = rng.randrange(size_of(db) - 1)
    length = rng.randrange(2, min(6, size_of(db) - start) + 1)
    rows = db.execute(
        'SELECT "index", entry FROM log_entries WHERE "index" >= ? AND "index" < ? ORDER BY 1',
        (start, start + length),
    ).fetchall()
    entries = [e for _, e in rows]
    shuffled = entries[:]
    while shuffled == entries:
        rng.shuffle(shuffled)
    for (index, _), entry in zip(rows, shuffled, strict=True):
        db.execute('UPDATE log_entries SET entry = ? WHERE "index" = ?', (entry, index))


def truncated(db, rng):
    """The tail cut off, the size adjusted to match."""
    keep = rng.randrange(size_of(db))
    db.execute('DELETE FROM log_entries WHERE "index" >= ?', (keep,))
    db.execute("UPDATE log_state SET size = ?", (keep,))


def size_edit(db, rng):
    db.execute("UPDATE log_state SET size = size + ?", (rng.choice([-3, -1, 1, 2, 1000]),))


MUTATIONS: list[Callable[[sqlite3.Connection, random.Random], None]] = [
    entry_bit,
    index_bit,
    head_bit,
    deleted,
    inserted,
    appended,
    reordered,
    truncated,
    size_edit,
]


def rolled_back(db, rng):
    """The cover-up a host can do alone: drop the tail *and* the heads that covered it (and,
    as an older copy would have them, the rows and settlements recorded with that tail)."""
    keep = rng.randrange(1, size_of(db))
    db.execute('DELETE FROM log_entries WHERE "index" >= ?', (keep,))
    db.execute("DELETE FROM transactions WHERE log_index >= ?", (keep,))
    db.execute(
        "UPDATE transactions SET settled_outcome = NULL, settled_at = NULL, "
        "settled_log_index = NULL, settled_reference = NULL, receipt = NULL "
        "WHERE settled_log_index >= ?",
        (keep,),
    )
    db.execute("DELETE FROM tree_heads WHERE tree_size > ?", (keep,))
    db.execute("DELETE FROM merkle_nodes")
    db.execute("UPDATE log_state SET size = ?", (keep,))


@pytest.fixture
def pristine(client, counter, gw, tmp_path):
    """The sealed log's database file (WAL folded in) and the newest head, saved as a witness."""
    head = build_log(client, counter, gw)
    assert verify_store(gw.store, gw.signer.public_key).ok
    gw.store.dispose()
    path = Path(gw.store.engine.url.database)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, head


def mutated_copy(path: Path, work: Path, mutation, rng) -> str:
    copy = work / "copy.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as db:
        mutation(db, rng)
    db.close()
    return f"sqlite:///{copy}"


def verdict(url: str, gw, witnesses=()):
    store = Store(url)
    try:
        return verify_store(store, gw.signer.public_key, witnesses=witnesses)
    finally:
        store.dispose()


def test_a_thousand_random_mutations_are_all_caught(pristine, gw, tmp_path):
    path, _ = pristine
    rng = random.Random(20261124)
    missed, seen = [], {m.__name__: 0 for m in MUTATIONS}
    for round_no in range(ROUNDS):
        mutation = MUTATIONS[round_no % len(MUTATIONS)]
        url = mutated_copy(path, tmp_path, mutation, rng)
        report = verdict(url, gw)
        seen[mutation.__name__] += 1
        if report.ok:
            missed.append((round_no, mutation.__name__))
    assert not missed, f"undetected mutations: {missed[:10]}"
    assert all(n >= ROUNDS // len(MUTATIONS) for n in seen.values())


def test_a_rolled_back_database_passes_alone_but_not_against_a_saved_head(pristine, gw, tmp_path):
    path, head = pristine
    rng = random.Random(7)
    for _ in range(50):
        url = mutated_copy(path, tmp_path, rolled_back, rng)
        assert verdict(url, gw).ok  # consistent in itself: nothing inside the host can tell
        kinds = {f.kind for f in verdict(url, gw, witnesses=[head]).findings}
        assert kinds == {"rolled_back"}


def test_the_cli_takes_saved_heads(pristine, gw, app, tmp_path):
    path, head = pristine
    saved = tmp_path / "HEAD.json"
    saved.write_text(json.dumps(head))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify", "--against", str(saved)])
    assert result.exit_code == 0, result.output
    url = mutated_copy(path, tmp_path, rolled_back, random.Random(3))
    gw.store.dispose()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as older, sqlite3.connect(path) as live:
        older.backup(live)  # the database restored from an older copy
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["audit", "verify", "--against", str(saved)])
    assert result.exit_code == 1 and "rolled_back" in result.output


def test_a_forged_saved_head_is_refused(pristine, gw, tmp_path):
    path, head = pristine
    forged = {**head, "tree_size": head["tree_size"] + 5}
    kinds = {f.kind for f in verdict(f"sqlite:///{path}", gw, witnesses=[forged]).findings}
    assert kinds == {"bad_signature"}


def test_a_fork_is_caught_against_a_saved_head(client, counter, gw, tmp_path):
    """A host that rebuilt its log differently from some point (say, dropped a payment and
    wrote other entries in its place) and re-signed it: same size, other root."""
    first = build_log(client, counter, gw, entries=10, seal_every=100)
    with gw.store.write() as session:
        session.execute(text('DELETE FROM log_entries WHERE "index" >= 5'))
        session.execute(text("DELETE FROM transactions WHERE log_index >= 5"))
        session.execute(text("DELETE FROM tree_heads"))
        session.execute(text("DELETE FROM merkle_nodes"))
        session.execute(text("UPDATE log_state SET size = 5"))
    build_log(client, counter, gw, entries=5, seal_every=100)
    assert verify_store(gw.store, gw.signer.public_key).ok  # re-signed with the gateway's key
    kinds = {
        f.kind for f in verify_store(gw.store, gw.signer.public_key, witnesses=[first]).findings
    }
    assert kinds == {"forked"}


def parallel_verdict(url: str, gw, witnesses=()):
    """``verdict`` through the fast pass by blocks (two helper processes, blocks of 4)."""
    store = Store(url)
    try:
        return verify_store(
            store,
            gw.signer.public_key,
            witnesses=witnesses,
            workers=2,
            parallel_from=0,
            block=4,
        )
    finally:
        store.dispose()


def test_the_block_pass_confirms_an_intact_log_in_helper_processes(pristine, gw):
    path, head = pristine
    report = parallel_verdict(f"sqlite:///{path}", gw, witnesses=[head])
    assert report.ok, report.findings
    assert report.helpers_peak_kb > 0  # the helpers hashed it, not the sequential pass
    sequential = verdict(f"sqlite:///{path}", gw)
    assert (report.entries, report.heads, report.sealed) == (
        sequential.entries,
        sequential.heads,
        sequential.sealed,
    )
    assert sequential.helpers_peak_kb == 0  # 40 entries: below the default threshold


@pytest.mark.parametrize("mutation", [*MUTATIONS, rolled_back], ids=lambda m: m.__name__)
def test_the_block_pass_never_passes_what_the_sequential_pass_fails(
    pristine, gw, tmp_path, mutation
):
    """Whatever the block pass cannot confirm goes to the sequential pass: same findings."""
    path, head = pristine
    rng = random.Random(mutation.__name__)
    for _ in range(2):
        url = mutated_copy(path, tmp_path, mutation, rng)
        for witnesses in ((), (head,)):
            fast, slow = parallel_verdict(url, gw, witnesses), verdict(url, gw, witnesses)
            assert fast.findings == slow.findings
            assert fast.ok is slow.ok
