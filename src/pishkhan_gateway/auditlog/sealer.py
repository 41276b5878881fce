"""The sealer: folds new log entries into the Merkle tree and signs a tree head.

Runs off the request path (a thread per worker process, every ``SEAL_INTERVAL_SECONDS``), so a
transaction pays one insert, not a tree update. Only one sealer works at a time: on PostgreSQL a
transaction-scoped advisory lock, on SQLite the database's single writer. A sealer that dies
mid-way rolls back and the next one continues from the last signed head, so the log never forks.
The sealed size is the latest head's ``tree_size``; appenders never wait for a sealer's lock.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from pishkhan_gateway.auditlog import merkle, notes
from pishkhan_gateway.crypto.signing import Signer
from pishkhan_gateway.jalali import iso
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import Checkpoint, LogEntry, MerkleNode, TreeHead

log = structlog.get_logger(__name__)
_LOCK_KEY = 0x70697368  # "pish": the advisory lock that elects the one sealer
DEFAULT_ORIGIN = "pishkhan.example/log"


@dataclass(frozen=True)
class Head:
    """A signed tree head as served (``document``) and its parsed fields."""

    tree_size: int
    root_hash: str
    document: dict[str, Any]


def latest_head(session: Session) -> Head | None:
    """The newest signed tree head, or None before the first seal."""
    row = session.scalar(select(TreeHead).order_by(TreeHead.tree_size.desc()).limit(1))
    if row is None:
        return None
    return Head(row.tree_size, row.root_hash, json.loads(row.document))


def node_lookup(session: Session) -> merkle.NodeLookup:
    """Perfect-subtree lookups against the stored nodes (cached for one proof)."""
    cache: dict[tuple[int, int], bytes] = {}

    def lookup(level: int, index: int) -> bytes:
        key = (level, index)
        if key not in cache:
            value = session.scalar(
                select(MerkleNode.hash).where(MerkleNode.level == level, MerkleNode.index == index)
            )
            if value is None:
                raise LookupError(f"no stored subtree ({level}, {index}): not sealed yet")
            cache[key] = bytes(value)
        return cache[key]

    return lookup


class Sealer:
    """Seals the log of one store with one signer."""

    def __init__(
        self, store: Store, signer: Signer, batch: int = 5000, origin: str = DEFAULT_ORIGIN
    ) -> None:
        self.store = store
        self.signer = signer
        self.batch = batch
        self.origin = origin
        self.after_seal: list[Any] = []  # called with each new Head, off the transaction
        self.on_start: list[Any] = []  # called once when this process's sealer thread starts
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._stop = threading.Event()

    def seal(self) -> Head | None:
        """Seal up to ``batch`` new entries and sign a head; None if nothing to do or busy."""
        with self.store.write() as session:
            if (
                not self.store.is_sqlite
                and not session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
                ).scalar()
            ):
                return None
            head = latest_head(session)
            sealed = head.tree_size if head else 0
            size = session.execute(text("SELECT size FROM log_state WHERE id = 1")).scalar_one()
            if head is not None and size == sealed:
                self._checkpoint_missing(session, head)  # heads signed before checkpoints existed
                return None
            edge = [
                node_lookup(session)(level, index)
                for level, index in merkle.CompactTree.edge_keys(sealed)
            ]
            tree = merkle.CompactTree(sealed, edge)
            rows = session.execute(
                select(LogEntry.index, LogEntry.entry)
                .where(LogEntry.index >= sealed)
                .order_by(LogEntry.index)
                .limit(self.batch)
            )
            nodes = []
            for index, entry in rows:
                if index != tree.size:
                    raise RuntimeError(f"log entry {tree.size} is missing; run audit verify")
                nodes.extend(
                    {"level": level, "index": i, "hash": value}
                    for level, i, value in tree.append(merkle.leaf_hash(entry))
                )
            if nodes:
                session.execute(insert(MerkleNode), nodes)
            now = utcnow()
            document = self.signer.sign(
                {"tree_size": tree.size, "root_hash": tree.root().hex(), "timestamp": iso(now)}
            )
            session.add(
                TreeHead(
                    tree_size=tree.size,
                    root_hash=document["root_hash"],
                    timestamp=now,
                    key_id=document["key_id"],
                    document=json.dumps(document),
                )
            )
            self._store_checkpoint(session, self._checkpoint(tree.size, tree.root(), now))
        log.info("log_sealed", tree_size=tree.size, new_entries=tree.size - sealed)
        made = Head(tree.size, document["root_hash"], document)
        for hook in self.after_seal:
            hook(made)
        return made

    def _checkpoint(self, size: int, root: bytes, now: Any) -> Checkpoint:
        """The C2SP checkpoint of a head, signed as a note by the log's key."""
        text = notes.Checkpoint(self.origin, size, root).text
        note = notes.sign(text, self.origin, self.signer.sign_bytes, self.signer.public_key)
        return Checkpoint(tree_size=size, note=note, cosignatures="", witnesses=0, created_at=now)

    @staticmethod
    def _store_checkpoint(session: Session, made: Checkpoint) -> None:
        """Keep a new head's checkpoint. One already at that size can only be left from heads
        that were deleted (a rewritten log): it is replaced, loudly — the witnesses, which keep
        what they cosigned, are what catches such a rewrite."""
        old = session.get(Checkpoint, made.tree_size)
        if old is None:
            session.add(made)
            return
        if old.note != made.note:
            log.error("checkpoint_replaced", tree_size=made.tree_size)
        old.note, old.cosignatures, old.witnesses = made.note, "", 0
        old.created_at = made.created_at

    def _checkpoint_missing(self, session: Session, head: Head) -> None:
        if session.get(Checkpoint, head.tree_size) is None:
            session.add(self._checkpoint(head.tree_size, bytes.fromhex(head.root_hash), utcnow()))

    def seal_all(self) -> Head | None:
        """Seal until caught up; return the newest head made."""
        newest = None
        while (head := self.seal()) is not None:
            newest = head
        return newest

    def lag(self) -> int:
        """Entries appended but not yet sealed."""
        with self.store.read() as session:
            size = session.execute(text("SELECT size FROM log_state WHERE id = 1")).scalar_one()
            sealed = session.scalar(select(func.max(TreeHead.tree_size))) or 0
        return size - sealed

    def ensure_running(self, interval: float) -> None:
        """Start this process's sealer thread (once per process: threads do not survive fork)."""
        if interval <= 0 or (self._thread is not None and self._pid == os.getpid()):
            return
        self._pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), daemon=True, name="pishkhan-sealer"
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after its current round."""
        self._stop.set()

    def _run(self, interval: float) -> None:
        for hook in self.on_start:
            try:
                hook()
            except Exception:
                log.exception("sealer_start_hook_failed")
        while not self._stop.wait(interval):
            try:
                self.seal_all()
            except Exception:
                log.exception("seal_failed")
