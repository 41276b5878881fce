"""Step 6 (just before dispatch): Idempotency keys: one execution per (office, key), across
workers, hosts and restarts.

The first request inserts a ``pending`` row (the primary key makes the database the arbiter);
the recorder turns it into ``done`` with the exact response bytes in the same DB transaction that
records the outcome. A duplicate waits for ``done`` and replays those bytes; a different body under
the same key is ``idempotency_conflict``. Keys are claimed only just before dispatch, so a request
refused by an earlier step (bad params, over the tariff) can be corrected and resent with its key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pishkhan_gateway.crypto.signing import canonical
from pishkhan_gateway.errors import IdempotencyConflict, IdempotencyInProgress, InvalidRequest
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import IdempotencyRecord, Intent

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    """The stored response of the first request with this key."""

    status: int
    body: bytes


def request_digest(body: Any) -> str:
    """SHA-256 of the request's canonical JSON: key order and spacing do not matter."""
    return hashlib.sha256(canonical(body)).hexdigest()


def check_key(key: str) -> str:
    """Refuse empty, overlong or non-printable keys."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InvalidRequest(
            "Idempotency-Key must be 1-255 printable ASCII characters", field="Idempotency-Key"
        )
    return key


def claim(
    store: Store,
    *,
    office_id: str,
    key: str,
    digest: str,
    transaction_id: str,
    wait_seconds: float,
    also: Callable[[], Sequence[Any]] = tuple,
) -> Replay | None:
    """Claim ``key`` for this request (None), or return the first request's response.

    ``also()`` gives rows to insert in the same transaction as a successful claim (the
    attempt's intent), so a claim never exists without them.

    Raises ``IdempotencyConflict`` if the key was used with another body, and
    ``IdempotencyInProgress`` if the first request is still running after ``wait_seconds``.
    """
    try:
        with store.write() as session:
            session.add(
                IdempotencyRecord(
                    office_id=office_id,
                    key=key,
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
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    while True:
        with store.read() as session:
            row = session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.office_id == office_id, IdempotencyRecord.key == key
                )
            )
        if row is None:
            # The first attempt failed without effect and released the key: take it.
            return claim(
                store,
                office_id=office_id,
                key=key,
                digest=digest,
                transaction_id=transaction_id,
                wait_seconds=max(0.0, deadline - time.monotonic()),
                also=also,
            )
        if row.request_sha256 != digest:
            raise IdempotencyConflict()
        if row.state == "done" and row.response_body is not None:
            return Replay(row.response_status or 200, row.response_body)
        if time.monotonic() >= deadline:
            error = IdempotencyInProgress(transaction_id=row.transaction_id)
            error.headers = {"Retry-After": "1"}
            raise error
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def hold(
    store: Store,
    office_id: str,
    key: str | None,
    digest: str,
    transaction_id: str,
    intent: Intent | None,
    wait_seconds: float,
) -> Replay | None:
    """The step: claim the request's key (and write the attempt's intent with it), or return
    the first request's response to replay. Without a key only the intent is written."""
    if key is None:
        if intent is not None:
            with store.write() as session:
                session.add(intent)
        return None
    return claim(
        store,
        office_id=office_id,
        key=check_key(key),
        digest=digest,
        transaction_id=transaction_id,
        wait_seconds=wait_seconds,
        also=lambda: [intent] if intent is not None else [],
    )
