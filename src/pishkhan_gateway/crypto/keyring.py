"""The keys stored data depends on, and a host that lacks one refusing to start.

Personal data is encrypted under the encryption key current when it was written, and operators,
citizens and one-time-code limits are found by pseudonyms made under the pseudonym key of their
time. After ``keys rotate`` the old keys stay beside the new ones (``<file>.<id>.retired``); a
host started without them would fail later and quietly (an operator refused, a reveal that does
not open, a per-mobile limit reset). So every key id a host uses is recorded (``key_usage``),
and a host whose keyring lacks any recorded id refuses to start, naming the id and the file it
expects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from pishkhan_gateway.crypto.keyfiles import secret_id
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import KeyUsage


class KeyringIncomplete(RuntimeError):
    """The host's key files lack a key the stored data needs."""


def check(store: Store, rings: Mapping[str, tuple[Path, Sequence[bytes]]]) -> None:
    """Refuse (``KeyringIncomplete``) when a recorded key of a kind is not in that kind's ring;
    then record the current key of each kind. ``rings``: kind → (key file, keys, current
    first). Nothing happens on a database not migrated yet (``db upgrade`` checks after)."""
    held = {kind: {secret_id(key) for key in keys} for kind, (_path, keys) in rings.items()}
    try:
        with store.read() as session:
            recorded = session.execute(select(KeyUsage.kind, KeyUsage.key_id)).all()
    except SQLAlchemyError:
        return  # no key_usage table yet
    missing = [(kind, key_id) for kind, key_id in recorded if key_id not in held.get(kind, set())]
    if missing:
        raise KeyringIncomplete(
            "; ".join(
                f"the {kind} key {key_id} protects stored data but is not held: restore "
                f"{rings[kind][0]}.{key_id}.retired (or the key file itself) before starting"
                for kind, key_id in missing
            )
        )
    for kind, (_path, keys) in rings.items():
        current = secret_id(keys[0])
        if (kind, current) in recorded:
            continue
        try:
            with store.write() as session:
                session.add(KeyUsage(kind=kind, key_id=current, first_used_at=utcnow()))
        except IntegrityError:
            pass  # another host recorded it first


def forget(store: Store, kind: str, key_id: str) -> bool:
    """Declare a retired key destroyed on purpose (crypto-shredding: what it protected stays
    closed for good), so hosts no longer need it to start. False if it was not recorded."""
    with store.write() as session:
        row = session.get(KeyUsage, (kind, key_id))
        if row is None:
            return False
        session.delete(row)
        return True
