"""Merkle roots of the stored log at given sizes, hashed by block in helper processes.

``audit verify`` must recompute every head's root from the entries themselves: one SHA-256 per
entry and one per inner node, which in CPython costs about a microsecond each (the OpenSSL call,
not the hashing) — one core cannot check 500,000 entries a second. The tree is cut into aligned
blocks of ``2^k`` entries; helper processes (one per core) each read a block by index range and
hash it to its perfect subtrees, returning the block's root and, for each wanted size that ends
inside the block, the block's right edge at that size (a few dozen bytes). The parent folds the
block roots left to right (RFC 6962 perfect subtrees; ``merkle.CompactTree``'s rule at block
level) and so knows the root at every wanted size.

With ``rows`` each helper also runs the row check (``rowcheck.py``) over its block, so the
transaction rows are compared with their entries on every core too.

This is the fast path for a log that is intact: a block whose rows are not exactly its index
range (a gap, a moved index) gives up, and the caller runs the sequential pass, which names what
is wrong. Blocks below the log's size never change (the log is append-only and every append
commits its size with its entry), so the helpers need no shared snapshot.

No library hashes an RFC 6962 tree across processes. The helpers are this file run by path
(``python -I blockroots.py``), not ``multiprocessing``: its spawn mode re-imports the caller's
main module, fork copies a process whose other threads may hold locks, and importing the
gateway package would cost a helper 0.4 s and 50 MB. So the helper's side below needs only the
standard library and the database driver, and the parent's side imports the rest lazily.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 1 << 15  # entries per task (~30 tasks per million entries)
_LEAF, _NODE = b"\x00", b"\x01"
# Integers formatted in (``:d`` takes nothing else): the two drivers spell parameters differently.
_RANGE = 'FROM log_entries WHERE "index" >= {0:d} AND "index" < {1:d}'
_ENTRIES_SQL = "SELECT entry " + _RANGE + ' ORDER BY "index"'


@dataclass
class Roots:
    """What the helpers found: the root at each wanted size, and their peak memory."""

    at: dict[int, bytes]
    helper_peak_kb: dict[int, int] = field(default_factory=dict)  # pid -> VmHWM
    # With ``rows``: the row check's indexes (``rowcheck.scan``) and the ranges it could not read
    rows: tuple[list[int], list[int], list[int]] = field(default_factory=lambda: ([], [], []))
    unread: list[tuple[int, int]] = field(default_factory=list)

    @property
    def helpers_peak_kb(self) -> int:
        """All helpers' peak resident memory together."""
        return sum(self.helper_peak_kb.values())


def roots_at(
    url: str,
    log_size: int,
    sizes: Iterable[int],
    *,
    workers: int,
    block: int = BLOCK,
    rows: bool = False,
) -> Roots | None:
    """The root of the first ``s`` entries for each ``s`` in ``sizes`` (all ≤ ``log_size``) of
    the log in the database at ``url`` (SQLAlchemy form), or None when a block's rows are not
    exactly its index range; with ``rows``, also the indexes whose transaction rows disagree."""
    from pishkhan_gateway.auditlog import merkle

    if block & (block - 1):
        raise ValueError("the block size must be a power of two")
    wanted = sorted(set(sizes))
    tasks = []
    for start in range(0, log_size, block):
        end = min(start + block, log_size)
        tasks.append((start, end, [s for s in wanted if start < s <= end]))
    roots = Roots(at={0: merkle.EMPTY_ROOT})
    edge: list[bytes] = []  # perfect subtrees of the blocks folded so far, largest first
    database = _driver_target(url)
    helpers = [
        _Helper(database, tasks[i::workers], rows=rows) for i in range(min(workers, len(tasks)))
    ]
    try:
        for number, (start, end, _) in enumerate(tasks):
            edges, found, pid, peak_kb = helpers[number % len(helpers)].result()
            roots.helper_peak_kb[pid] = max(peak_kb, roots.helper_peak_kb.get(pid, 0))
            if edges is None:
                return None
            if found is None:
                roots.unread.append((start, end))
            else:
                for into, more in zip(roots.rows, found, strict=True):
                    into += more
            for size, inner in edges.items():
                roots.at[size] = merkle.fold_edge([*edge, *inner])
            if end - start == block:  # a whole block: its root joins the block-level tree
                node, position = edges[end][0], number
                while position & 1:
                    node = merkle.node_hash(edge.pop(), node)
                    position >>= 1
                edge.append(node)
    finally:
        for helper in helpers:
            helper.close()
    return roots


def _driver_target(url: str) -> tuple[str, str]:
    """``("sqlite", path)`` or ``("postgresql", libpq URI)`` for a SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "sqlite", str(parsed.database)
    return "postgresql", parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class _Helper:
    """A helper process given its blocks at once on stdin (with the database's address: never on
    a command line, where a password would show), answering one pickle per block in order."""

    def __init__(
        self, database: tuple[str, str], tasks: list[tuple[int, int, list[int]]], *, rows: bool
    ) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this file, this interpreter
            [sys.executable, "-I", __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.process.stdin is not None
        pickle.dump((database, tasks, rows), self.process.stdin)
        self.process.stdin.close()

    def result(self) -> tuple[dict[int, list[bytes]] | None, Any, int, int]:
        try:
            return pickle.load(self.process.stdout)  # type: ignore[arg-type] # noqa: S301 - ours
        except EOFError:
            raise RuntimeError(f"a hashing helper died (exit {self.process.wait()})") from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()  # type: ignore[union-attr]


# The helper's side: standard library and the driver only.


def _serve() -> None:
    """Hash each block given on stdin, in order, answering on stdout."""
    (kind, target), tasks, rows = pickle.load(sys.stdin.buffer)  # noqa: S301 - our parent's
    sys.path.insert(0, str(Path(__file__).parent))  # isolated mode: load the sibling by path
    import rowcheck  # type: ignore[import-not-found]

    if kind == "sqlite":
        connection: Any = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    else:
        import psycopg

        connection = psycopg.connect(target)
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    rowcheck.prepare(connection, kind)
    out = sys.stdout.buffer
    for task in tasks:
        edges = _hash_block(connection, task)
        found = ([], [], [])
        if rows and edges is not None:
            try:
                found = rowcheck.scan(connection, kind, task[0], task[1])
            finally:
                connection.rollback()
        pickle.dump((edges, found, os.getpid(), _peak_kb()), out)
        out.flush()
    connection.close()


def _hash_block(connection: Any, task: tuple[int, int, list[int]]) -> dict[int, list[bytes]] | None:
    """Entries [start, end) hashed level by level: the block's right edge at each wanted size
    (its end always wanted), or None if its rows are not exactly that index range."""
    start, end, cuts = task
    cursor = connection.cursor()
    try:
        cursor.execute(_ENTRIES_SQL.format(start, end))
        sha256 = hashlib.sha256
        levels = [[sha256(_LEAF + entry).digest() for (entry,) in cursor]]
    finally:
        cursor.close()
        connection.rollback()
    # Indexes are unique (the primary key), so as many rows as the range is long are all of it.
    if len(levels[0]) != end - start:
        return None
    while len(levels[-1]) > 1:
        below = iter(levels[-1])
        pairs = zip(below, below, strict=False)  # an odd last one has no pair yet
        levels.append([sha256(_NODE + left + right).digest() for left, right in pairs])
    edges = {}
    for cut in {*cuts, end}:
        r = cut - start  # the block's first r entries, as perfect subtrees, largest first
        edges[cut] = [
            levels[level][(r >> level) - 1]
            for level in range(r.bit_length() - 1, -1, -1)
            if r >> level & 1
        ]
    return edges


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    _serve()
