"""A witness (C2SP ``tlog-witness``): ``pishkhan-gateway witness serve``, run by a provincial
working group or the regulator, cosigns each checkpoint of the log only after checking it is
consistent with the last one it cosigned — so the operator cannot show one history to Tehran's
working group and another to Fars's without every witness of the quorum colluding.

``POST /add-checkpoint`` takes ``old <size>``, the consistency proof lines (base64), a blank
line and the checkpoint note. In order, as the specification says: an unknown origin is 404; no
valid signature of the log's key is 403; ``old`` above the checkpoint's size is 400; ``old`` not
the size this witness last cosigned is 409 with that size (``text/x.tlog.size``); the same size
with another root is 409; a proof that does not verify is 422 (and the request is kept as
evidence). Otherwise the witness records the new size and root and answers its cosignature line
(``cosignature/v1``). Check and record are one SQLite transaction under ``BEGIN IMMEDIATE`` (and
a process lock), with ``synchronous=FULL``: a restart never forgets what it cosigned, and two
requests cannot race each other back to a smaller tree.

Its HTTP interface is ``web/api/witness.py``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pishkhan_gateway.auditlog import merkle, notes

MAX_PROOF = 63


class Refused(Exception):
    """A refusal: HTTP status, a message, and for 409 the size the witness knows."""

    def __init__(
        self, status: int, message: str, size: int | None = None, evidence: bool = False
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.size = status, message, size
        self.evidence = evidence  # a signed request the log should not have made: keep it


@dataclass(frozen=True)
class Request:
    old: int
    proof: list[bytes]
    note: str


def parse_request(body: bytes) -> Request:
    """The parts of an ``add-checkpoint`` body, or ``Refused(400)``."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise Refused(400, "the body is UTF-8 text") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise Refused(400, "old size, proof lines, a blank line, then the checkpoint")
    lines = head.split("\n")
    first = lines[0]
    if (
        not first.startswith("old ")
        or not first[4:].isdigit()
        or (first[4:] != "0" and first[4:].startswith("0"))
    ):
        raise Refused(400, "the first line is 'old <size>'")
    if len(lines) - 1 > MAX_PROOF:
        raise Refused(400, f"at most {MAX_PROOF} proof lines")
    proof = []
    for line in lines[1:]:
        try:
            value = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise Refused(400, "a proof line is one base64 hash") from None
        if len(value) != merkle.HASH_SIZE:
            raise Refused(400, "a proof line is one 32-byte hash")
        proof.append(value)
    return Request(int(first[4:]), proof, note)


class State:
    """What this witness cosigned, per origin: the size and root, durably (SQLite)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS cosigned (origin TEXT PRIMARY KEY, size INTEGER NOT"
                " NULL, root BLOB NOT NULL, note TEXT NOT NULL, at REAL NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS evidence (at REAL NOT NULL, origin TEXT NOT NULL,"
                " reason TEXT NOT NULL, request TEXT NOT NULL)"
            )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One check-and-record: the process lock and SQLite's write lock, held throughout."""
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def latest(self, origin: str) -> tuple[int, bytes] | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT size, root FROM cosigned WHERE origin = ?", (origin,)
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def keep(self, origin: str, reason: str, body: bytes) -> None:
        """Keep a signed request the witness refused as inconsistent: it may prove the log
        misbehaved."""
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO evidence (at, origin, reason, request) VALUES (?, ?, ?, ?)",
                (time.time(), origin, reason, body.decode(errors="replace")),
            )

    def evidence(self) -> list[tuple[str, str]]:
        with self._connect() as db:
            return db.execute("SELECT origin, reason FROM evidence ORDER BY at").fetchall()


class Witness:
    """The witness's checks: its key and name, the logs it serves (origin → the log's note
    verifiers: its key, and keys it rotated out) and its state."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        name: str,
        logs: dict[str, list[notes.Verifier]],
        state: State,
    ) -> None:
        self.key, self.name, self.logs, self.state = key, name, logs, state
        self.verifier = notes.Verifier(name, notes.COSIGNATURE, key.public_key())

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line for a valid, consistent checkpoint, or ``Refused``."""
        req = parse_request(body)
        try:
            text, _signatures = notes.split(req.note)
            checkpoint = notes.Checkpoint.parse(text)
        except notes.NoteError as exc:
            raise Refused(403, f"not a signed checkpoint: {exc}") from None
        log_keys = self.logs.get(checkpoint.origin)
        if not log_keys:
            raise Refused(404, f"this witness does not serve the log {checkpoint.origin}")
        try:
            notes.verify(req.note, log_keys)
        except notes.NoteError as exc:
            raise Refused(403, f"the checkpoint is not signed by the log's key: {exc}") from None
        if req.old > checkpoint.size:
            raise Refused(400, "the old size is above the checkpoint's size")
        try:
            with self.state.transaction() as db:
                self._check_and_record(db, req, checkpoint)
        except Refused as refused:
            if refused.evidence:
                self.state.keep(checkpoint.origin, refused.message, body)
            raise
        return notes.cosign(text, self.name, self.key)

    @staticmethod
    def _check_and_record(
        db: sqlite3.Connection, req: Request, checkpoint: notes.Checkpoint
    ) -> None:
        row = db.execute(
            "SELECT size, root FROM cosigned WHERE origin = ?", (checkpoint.origin,)
        ).fetchone()
        size, root = (int(row[0]), bytes(row[1])) if row else (0, b"")
        if req.old != size:
            raise Refused(409, f"this witness last cosigned size {size}", size)
        if row is not None and size == checkpoint.size and root != checkpoint.root:
            raise Refused(409, "the same size with another root: a fork", size, evidence=True)
        if req.old == 0:
            consistent = not req.proof
        elif req.old == checkpoint.size:
            consistent = not req.proof and root == checkpoint.root
        else:
            consistent = merkle.verify_consistency(
                req.old, checkpoint.size, root, checkpoint.root, req.proof
            )
        if not consistent:
            raise Refused(422, "the consistency proof does not verify", evidence=True)
        db.execute(
            "INSERT INTO cosigned (origin, size, root, note, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root,"
            " note = excluded.note, at = excluded.at",
            (checkpoint.origin, checkpoint.size, checkpoint.root, req.note, time.time()),
        )
