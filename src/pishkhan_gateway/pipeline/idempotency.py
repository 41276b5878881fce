"""Idempotency keys: one execution per (office, key), across workers, hosts and restarts.

Two steps of the pipeline use it:

- ``replayed``, right after the body is parsed: a key whose first request has finished is
  answered from that request's stored response — before identity, so a one-time code is never
  checked (or skipped) for a replay; a key still running is waited for (without holding an
  admission slot); a key under another body is ``idempotency_conflict``.
- ``hold``, just before dispatch: the first request inserts a ``pending`` row (the primary key
  makes the database the arbiter), with the attempt's intent in the same transaction.

The recorder turns the row into ``done`` with the exact response bytes in the DB transaction that
records the outcome; an attempt that *failed* (nothing happened) releases the key; an ``unknown``
one leaves it ``unknown`` until reconcile settles it and stores the settled response. A replay of
an unsettled unknown is ``outcome_unknown`` (409, ``Retry-After``), never the stale 504. Keys are
claimed only just before dispatch, so a request refused by an earlier step (bad params, over the
tariff) can be corrected and resent with its key — and that key unlocks nothing.

A key is stored keyed-hashed (``Key``: its pseudonym under the current pseudonym key, domain
``idempotency_key``, with the office): an office may put anything in a key, a national code
included. It is looked up under every form it may have been stored in — its pseudonym under each
key of the keyring (a rotation loses no key in flight) and, for rows from before keys were
hashed, as sent.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
from pishkhan_gateway.crypto.vault import Vault
from pishkhan_gateway.errors import (
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidRequest,
    OutcomeUnknown,
)
from pishkhan_gateway.pipeline import replays
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import IdempotencyRecord, Intent

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    """The answer a key already has: the first request's stored response (or, for an unsettled
    unknown outcome, ``outcome_unknown``)."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Key:
    """An office's Idempotency-Key as stored: ``stored`` for a new claim, ``known`` every form
    an earlier claim of it may have (``stored`` first)."""

    stored: str
    known: tuple[str, ...]


def check_key(key: str) -> str:
    """Refuse empty, overlong or non-printable keys."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InvalidRequest(
            "Idempotency-Key must be 1-255 printable ASCII characters", field="Idempotency-Key"
        )
    return key


def keyed(pseudonyms: Pseudonymizer, office_id: str, sent: str | None) -> Key | None:
    """The step before ``replayed``: the key as sent (checked) in the form it is stored in."""
    if sent is None:
        return None
    forms = pseudonyms.idempotency_keys(office_id, check_key(sent))
    return Key(forms[0], (*forms, sent))


def replayed(
    store: Store,
    vault: Vault,
    office_id: str,
    key: Key | None,
    digest: str,
    wait_seconds: float,
    paused: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> Replay | None:
    """The step: the stored answer of ``key``'s first request (waiting, inside ``paused()``,
    while it runs), or None when the key is new or was released."""
    if key is None:
        return None
    deadline = time.monotonic() + wait_seconds
    return _await(store, vault, office_id, key, digest, deadline, paused)


def hold(
    store: Store,
    vault: Vault,
    office_id: str,
    key: Key | None,
    digest: str,
    transaction_id: str,
    intent: Intent | None,
    wait_seconds: float,
    paused: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> Replay | None:
    """The step: claim the request's key (and write the attempt's intent with it), or return
    the answer of a request that claimed it first. Without a key only the intent is written."""
    if key is None:
        if intent is not None:
            with store.write() as session:
                session.add(intent)
        return None
    return claim(
        store,
        vault,
        office_id=office_id,
        key=key,
        digest=digest,
        transaction_id=transaction_id,
        wait_seconds=wait_seconds,
        also=lambda: [intent] if intent is not None else [],
        paused=paused,
    )


def claim(
    store: Store,
    vault: Vault,
    *,
    office_id: str,
    key: Key,
    digest: str,
    transaction_id: str,
    wait_seconds: float,
    also: Callable[[], Sequence[Any]] = tuple,
    paused: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> Replay | None:
    """Claim ``key`` for this request (None), or return the first request's answer.

    ``also()`` gives rows to insert in the same transaction as a successful claim (the
    attempt's intent), so a claim never exists without them. Raises ``IdempotencyConflict`` if
    the key was used with another body, and ``IdempotencyInProgress`` if the first request is
    still running after ``wait_seconds``.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with store.write() as session:
                session.add(
                    IdempotencyRecord(
                        office_id=office_id,
                        key=key.stored,
                        request_sha256=digest,
                        transaction_id=transaction_id,
                        state="pending",
                        created_at=utcnow(),
                    )
                )
                session.add_all(also())
            return None
        except IntegrityError:
            pass
        answer = _await(store, vault, office_id, key, digest, deadline, paused)
        if answer is not None:
            return answer
        # The first attempt failed without effect and released the key: take it.


def _await(
    store: Store,
    vault: Vault,
    office_id: str,
    key: Key,
    digest: str,
    deadline: float,
    paused: Callable[[], contextlib.AbstractContextManager[None]],
) -> Replay | None:
    """The key's answer once its first request finished; None if there is no such key (or it
    was released)."""
    delay = 0.01
    with _lazily(paused) as pause:
        while True:
            with store.read() as session:
                row = session.scalar(
                    select(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.office_id == office_id,
                        IdempotencyRecord.key.in_(key.known),
                    )
                    .limit(1)
                )
            if row is None:
                return None
            if row.request_sha256 != digest:
                raise IdempotencyConflict()
            if row.state == "unknown":
                return _unknown(row.transaction_id)
            if row.state == "done" and row.response_body is not None:
                body = replays.opened(
                    vault, row.office_id, row.key, row.transaction_id, bytes(row.response_body)
                )
                return Replay(row.response_status or 200, body, {})
            if time.monotonic() >= deadline:
                error = IdempotencyInProgress(transaction_id=row.transaction_id)
                error.headers = {"Retry-After": "1"}
                raise error
            pause()  # waiting on another request holds no admission slot
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


@contextlib.contextmanager
def _lazily(
    paused: Callable[[], contextlib.AbstractContextManager[None]],
) -> Iterator[Callable[[], None]]:
    """``pause()`` enters ``paused()`` the first time it is called (and only if it is), and it
    is left when the wait ends."""
    with contextlib.ExitStack() as stack:
        entered = False

        def pause() -> None:
            nonlocal entered
            if not entered:
                stack.enter_context(paused())
                entered = True

        yield pause


def _unknown(transaction_id: str) -> Replay:
    error = OutcomeUnknown(
        f"the first attempt ({transaction_id}) may have been applied at the agency; it is "
        "settled by reconciliation — do not pay again",
        transaction_id=transaction_id,
    )
    problem = error.problem()
    body = json.dumps(problem, ensure_ascii=False, separators=(",", ":")).encode()
    return Replay(error.status, body, dict(error.headers))
