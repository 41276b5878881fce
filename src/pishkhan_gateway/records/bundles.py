"""Offline proof bundles (``GET /v1/receipts/{id}/bundle``): a receipt with everything needed to
check it years later without the gateway — the entry's exact bytes, its inclusion proof, and the
checkpoint it is proven under, with the witnesses' cosignatures. ``tools/verify_bundle.py``
(standard library and ``cryptography`` only) checks one against pinned keys.

The checkpoint is the newest one that covers the entry and carries the quorum's cosignatures;
with no witnesses configured (or none yet cosigning), the newest covering one, marked
``witnessed: false``.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

from sqlalchemy import select

from pishkhan_gateway.auditlog import merkle, notes
from pishkhan_gateway.auditlog.sealer import Sealer, node_lookup
from pishkhan_gateway.auditlog.witnessing import Witnessing, witnessed_checkpoint
from pishkhan_gateway.crypto.signing import Signer
from pishkhan_gateway.crypto.vault import Vault
from pishkhan_gateway.errors import NotFound, NotSealedYet
from pishkhan_gateway.records import history
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import LogEntry

FORMAT = "pishkhan-bundle/v1"


class Proofs(Protocol):
    """What a bundle needs of the app (the ``Gateway`` has it): the record and its vault, to read
    the receipt; the sealer that proves inclusion; the witnesses; the key of the checkpoints."""

    store: Store
    vault: Vault
    sealer: Sealer
    witnessing: Witnessing
    signer: Signer


def bundle(gw: Proofs, office_id: str, transaction_id: str) -> dict[str, Any]:
    """The bundle of one of the office's receipts (``NotFound`` for anyone else's)."""
    found = history.get(gw.store, gw.vault, office_id, transaction_id)
    if found is None or found["receipt"] is None:
        raise NotFound(f"no receipt for {transaction_id} at this office")
    receipt = found["receipt"]
    index = int(receipt["log_index"])
    quorum = gw.witnessing.quorum
    with gw.store.read() as session:
        checkpoint = witnessed_checkpoint(session, quorum, index) if quorum else None
        witnessed = checkpoint is not None
        if checkpoint is None:
            checkpoint = witnessed_checkpoint(session, 0, index)
    if checkpoint is None:
        gw.sealer.seal_all()  # not sealed yet: seal now rather than make the office wait
        with gw.store.read() as session:
            checkpoint = witnessed_checkpoint(session, 0, index)
    if checkpoint is None:
        error = NotSealedYet()
        error.headers = {"Retry-After": "1"}
        raise error
    with gw.store.read() as session:
        path = merkle.inclusion_path(node_lookup(session), index, checkpoint.tree_size)
        entry = bytes(session.scalar(select(LogEntry.entry).where(LogEntry.index == index)))
    return {
        "format": FORMAT,
        "receipt": receipt,
        "log_index": index,
        "entry": base64.b64encode(entry).decode(),
        "tree_size": checkpoint.tree_size,
        "inclusion_proof": [base64.b64encode(h).decode() for h in path],
        "checkpoint": checkpoint.note + checkpoint.cosignatures,
        "witnessed": witnessed,
        "quorum": quorum,
        "note_verifier_key": notes.vkey(gw.sealer.origin, notes.ED25519, gw.signer.public_key),
        "witnesses": [w.verifier.vkey for w in gw.witnessing.witnesses],
    }
