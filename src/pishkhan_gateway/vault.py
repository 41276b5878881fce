"""Personal data the law may need back, sealed at rest: AES-256-GCM with a key from a file,
each value bound to its transaction (the transaction id is the associated data, so a sealed value
moved to another row does not open). Searching never needs it — the log holds keyed pseudonyms —
and only a regulator, stating a reason that is itself logged, gets it back.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"


class Vault:
    """Seals and opens small JSON objects for one transaction each."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key[:32])

    def seal(self, transaction_id: str, value: Mapping[str, Any]) -> str:
        """``value`` encrypted for ``transaction_id``: base64 of version ‖ nonce ‖ ciphertext."""
        nonce = secrets.token_bytes(12)
        plain = json.dumps(dict(value), separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, transaction_id.encode())
        return base64.b64encode(VERSION + nonce + sealed).decode()

    def open(self, transaction_id: str, token: str) -> dict[str, Any]:
        """The value sealed for ``transaction_id``; ``ValueError`` if it was not, or was altered."""
        raw = base64.b64decode(token)
        if raw[:1] != VERSION:
            raise ValueError("unknown sealed-value version")
        try:
            plain = self._aead.decrypt(raw[1:13], raw[13:], transaction_id.encode())
        except InvalidTag:
            raise ValueError("the sealed value does not open for this transaction") from None
        return json.loads(plain)
