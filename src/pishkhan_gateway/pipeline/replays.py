"""The answer an Idempotency-Key replays, sealed at rest like ``transactions.result``.

A retry with a finished key is answered with the first attempt's exact bytes — and those bytes can
hold the agency's whole answer (a social-security history: the citizen's surname, employers). So
``idempotency_keys.response_body`` is AES-GCM sealed (``crypto/vault.py``) with the office, the key
and the transaction as its associated data: a row edited, or a sealed body copied to another key
or office, does not open, and is refused (``sealed_data_invalid``) rather than served as truth.
Rows from before 2026-12-08 hold the body in plain JSON until ``seal_plain`` (run by ``db
upgrade`` and ``demo``) seals them; a plain body met at replay is refused like an edited one (it
is what an edit would look like), so run ``db upgrade`` when upgrading, as the README says.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from pishkhan_gateway.crypto.vault import Vault
from pishkhan_gateway.errors import SealedDataInvalid
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import IdempotencyRecord

SEALED = b"sealed:"  # a plain body is JSON and starts with "{"


def _bound(office_id: str, key: str, transaction_id: str) -> str:
    return f"replay/{office_id}/{key}/{transaction_id}"


def seal(vault: Vault, office_id: str, key: str, transaction_id: str, body: bytes) -> bytes:
    """``body`` sealed for this office, key and transaction."""
    token = vault.encrypt(_bound(office_id, key, transaction_id), {"body": body.decode()})
    return SEALED + token.encode()


def opened(vault: Vault, office_id: str, key: str, transaction_id: str, stored: bytes) -> bytes:
    """The bytes to replay: ``stored`` opened, or ``SealedDataInvalid`` (it does not open, or it
    is not sealed at all)."""
    if not stored.startswith(SEALED):
        raise SealedDataInvalid(f"the stored answer of {transaction_id} is not sealed")
    try:
        value = vault.decrypt(
            _bound(office_id, key, transaction_id), stored[len(SEALED) :].decode()
        )
    except ValueError as exc:
        raise SealedDataInvalid(
            f"the stored answer of {transaction_id} does not open: {exc}"
        ) from None
    return str(value["body"]).encode()


def seal_plain(store: Store, vault: Vault, batch: int = 500) -> int:
    """Seal every replay body still stored in plain text; returns how many were sealed."""
    done = 0
    while True:
        with store.write() as session:
            rows = session.scalars(
                select(IdempotencyRecord)
                .where(
                    IdempotencyRecord.response_body.is_not(None),
                    func.substr(IdempotencyRecord.response_body, 1, len(SEALED)) != SEALED,
                )
                .limit(batch)
            ).all()
            for row in rows:
                session.execute(
                    update(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.office_id == row.office_id,
                        IdempotencyRecord.key == row.key,
                    )
                    .values(
                        response_body=seal(
                            vault, row.office_id, row.key, row.transaction_id, row.response_body
                        )
                    )
                )
        done += len(rows)
        if len(rows) < batch:
            return done
