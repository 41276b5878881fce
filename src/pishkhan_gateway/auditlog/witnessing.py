"""The gateway's side of witnessing: each new checkpoint goes to the witnesses in
``PISHKHAN_WITNESSES`` (C2SP ``tlog-witness``) with a consistency proof from the size each last
cosigned; their cosignatures are checked and kept with the checkpoint, and ``/log/checkpoint``
serves them. A checkpoint with ``PISHKHAN_WITNESS_QUORUM`` cosignatures is *witnessed*.

A witness that answers with a size above the log's has cosigned a longer history than the
database now holds: the log was rolled back (a restored backup) or forked. That is checked at
start (``check_rollback``, a harmless ``old 0`` probe that every witness answers with its size)
and on every submission, and reported in ``/v1/health``, the metrics and the log lines, naming
the witness and the size.

Submissions run on the sealer's thread right after a seal committed (``Sealer.after_seal``), with
a short timeout; a witness that failed is skipped for ``BACKOFF`` seconds.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from pishkhan_gateway.auditlog import merkle, notes
from pishkhan_gateway.auditlog.sealer import Head, node_lookup
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import Checkpoint, WitnessState

log = structlog.get_logger(__name__)
TIMEOUT = 3.0
BACKOFF = 30.0


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The newest checkpoint, or None before the first seal."""
    return session.scalar(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1))


@dataclass(frozen=True)
class WitnessRef:
    """A witness as configured: its submission prefix and its cosignature verifier key."""

    url: str
    verifier: notes.Verifier

    @property
    def name(self) -> str:
        return self.verifier.name


def parse_witnesses(text: str) -> list[WitnessRef]:
    """``URL VKEY, URL VKEY`` (``PISHKHAN_WITNESSES``)."""
    out = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        url, _, key = item.partition(" ")
        verifier = notes.Verifier.parse(key)
        if verifier.kind != notes.COSIGNATURE:
            raise ValueError(f"{verifier.name}: a witness key is a cosignature (type 0x04) vkey")
        out.append(WitnessRef(url.rstrip("/"), verifier))
    return out


@dataclass
class Witnessing:
    """Submits checkpoints to the configured witnesses and keeps their cosignatures."""

    store: Store
    witnesses: list[WitnessRef]
    quorum: int = 0
    rollback: dict[str, int] = field(default_factory=dict)  # witness → the larger size it saw
    _skip_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.quorum:
            self.quorum = len(self.witnesses) // 2 + 1 if self.witnesses else 0

    # -- submission ------------------------------------------------------------------------

    def after_seal(self, head: Head) -> None:
        """The sealer's hook: submit the newest checkpoint (failures are logged, never raised:
        a witness that is down must not stop the log)."""
        if not self.witnesses:
            return
        try:
            self.submit_latest()
        except Exception:  # the log goes on; the health page says why
            log.exception("witnessing_failed", tree_size=head.tree_size)

    def submit_latest(self) -> int:
        """Submit the newest checkpoint to every witness; return how many have cosigned it."""
        with self._lock:
            with self.store.read() as session:
                latest = latest_checkpoint(session)
            if latest is None:
                return 0
            for witness in self.witnesses:
                if self._skip_until.get(witness.name, 0) > time.monotonic():
                    continue
                self._submit(witness, latest.tree_size, latest.note)
            with self.store.read() as session:
                row = session.get(Checkpoint, latest.tree_size)
                return row.witnesses if row else 0

    def _submit(self, witness: WitnessRef, size: int, note: str, retried: bool = False) -> None:
        with self.store.read() as session:
            state = session.get(WitnessState, witness.name)
            old = state.size if state else 0
            if old == size and state is not None and state.problem is None:
                return  # already cosigned this size
            if old > size:
                self._rolled_back(witness, old, size)
                return
            proof = (
                merkle.consistency_path(node_lookup(session), old, size) if 0 < old < size else []
            )
        body = f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof)
        body += "\n" + note
        try:
            answer = requests.post(
                witness.url + "/add-checkpoint", data=body.encode(), timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            self._problem(witness, f"unreachable: {type(exc).__name__}")
            return
        if answer.status_code == 409 and answer.headers.get("Content-Type", "").startswith(
            "text/x.tlog.size"
        ):
            known = int(answer.text.strip() or 0)
            if known > size:
                self._rolled_back(witness, known, size)
            elif known != old and not retried:
                self._record_size(witness, known)
                self._submit(witness, size, note, retried=True)
            else:
                self._problem(witness, f"409: it holds size {known} with another root (a fork)")
            return
        if answer.status_code != 200:
            self._problem(witness, f"{answer.status_code}: {answer.text.strip()[:200]}")
            return
        self._cosigned(witness, size, note, answer.text)

    def _cosigned(self, witness: WitnessRef, size: int, note: str, lines: str) -> None:
        text, _ = notes.split(note)
        try:
            notes.verify(text + "\n" + lines, [witness.verifier])
        except notes.NoteError as exc:
            self._problem(witness, f"its cosignature does not verify: {exc}")
            return
        mine = "".join(
            line + "\n"
            for line in lines.splitlines()
            if line.startswith(f"{notes.DASH} {witness.name} ")
        )
        now = utcnow()
        with self.store.write() as session:
            row = session.get(Checkpoint, size, with_for_update=True)
            if row is not None and f" {witness.name} " not in row.cosignatures:
                row.cosignatures += mine
                row.witnesses += 1
            state = session.get(WitnessState, witness.name)
            if state is None:
                state = WitnessState(name=witness.name, size=0)
                session.add(state)
            state.size, state.cosigned_at, state.checked_at, state.problem = size, now, now, None
        self.rollback.pop(witness.name, None)

    def _record_size(self, witness: WitnessRef, size: int) -> None:
        with self.store.write() as session:
            state = session.get(WitnessState, witness.name)
            if state is None:
                session.add(WitnessState(name=witness.name, size=size, checked_at=utcnow()))
            else:
                state.size, state.checked_at = size, utcnow()

    def _problem(self, witness: WitnessRef, problem: str) -> None:
        log.warning("witness_refused", witness=witness.name, problem=problem)
        self._skip_until[witness.name] = time.monotonic() + BACKOFF
        with self.store.write() as session:
            state = session.get(WitnessState, witness.name)
            if state is None:
                state = WitnessState(name=witness.name, size=0)
                session.add(state)
            state.problem, state.checked_at = problem, utcnow()

    def _rolled_back(self, witness: WitnessRef, known: int, size: int) -> None:
        self.rollback[witness.name] = known
        log.error(
            "log_rolled_back",
            witness=witness.name,
            witnessed_size=known,
            log_size=size,
            detail=f"witness {witness.name} cosigned size {known}; this log has {size}",
        )
        self._problem(witness, f"it cosigned size {known}, larger than this log ({size})")

    # -- checks ----------------------------------------------------------------------------

    def check_rollback(self) -> dict[str, int]:
        """Ask every witness the size it last cosigned (an ``old 0`` request it answers with
        409 and its size, or, never having seen this log, by cosigning); return the witnesses
        that hold a size above the log's: witness name → that size."""
        with self.store.read() as session:
            latest = latest_checkpoint(session)
        if latest is None or not self.witnesses:
            return {}
        for witness in self.witnesses:
            try:
                answer = requests.post(
                    witness.url + "/add-checkpoint",
                    data=("old 0\n\n" + latest.note).encode(),
                    timeout=TIMEOUT,
                )
            except requests.RequestException:
                continue
            if answer.status_code == 409 and answer.text.strip().isdigit():
                known = int(answer.text.strip())
                if known > latest.tree_size:
                    self._rolled_back(witness, known, latest.tree_size)
            elif answer.status_code == 200:
                self._cosigned(witness, latest.tree_size, latest.note, answer.text)
        return dict(self.rollback)

    def status(self) -> dict[str, Any]:
        """For ``/v1/health`` and the console: each witness's last cosigned size, time and
        problem; the newest checkpoint's cosignatures against the quorum."""
        if not self.witnesses:
            return {"status": "off", "quorum": 0, "witnesses": []}
        with self.store.read() as session:
            latest = latest_checkpoint(session)
            states = {row.name: row for row in session.scalars(select(WitnessState))}
        witnessed = latest.witnesses if latest else 0
        return {
            "quorum": self.quorum,
            "checkpoint_size": latest.tree_size if latest else 0,
            "cosignatures": witnessed,
            "status": (
                "rolled_back" if self.rollback else "ok" if witnessed >= self.quorum else "degraded"
            ),
            "witnesses": [
                {
                    "name": w.name,
                    "url": w.url,
                    "vkey": w.verifier.vkey,
                    "size": states[w.name].size if w.name in states else 0,
                    "cosigned_at": (
                        states[w.name].cosigned_at.isoformat()
                        if w.name in states and states[w.name].cosigned_at
                        else None
                    ),
                    "problem": states[w.name].problem if w.name in states else None,
                    "rolled_back_from": self.rollback.get(w.name),
                }
                for w in self.witnesses
            ],
        }


def witnessed_checkpoint(session: Session, quorum: int, at_least: int = 0) -> Checkpoint | None:
    """The newest checkpoint with the quorum's cosignatures covering index ``at_least``."""
    return session.scalar(
        select(Checkpoint)
        .where(Checkpoint.witnesses >= quorum, Checkpoint.tree_size > at_least)
        .order_by(Checkpoint.tree_size.desc())
        .limit(1)
    )
