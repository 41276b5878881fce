"""Personal data the law may need back, encrypted at rest: AES-256-GCM with a key from a file,
each value bound to its transaction (the transaction id is the associated data, so an encrypted
value moved to another row does not open). Searching never needs it — the log holds keyed
pseudonyms — and only a regulator, stating a reason that is itself logged, gets it back.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pishkhan_gateway.crypto.keyfiles import secret_id

LEGACY = b"\x01"  # version ‖ nonce ‖ ciphertext (before keys could rotate)
VERSION = b"\x02"  # version ‖ key id (8 bytes) ‖ nonce ‖ ciphertext


class Vault:
    """Seals and opens small JSON objects for one transaction each.

    ``keys``: the current key first, then retired ones. Values are encrypted under the current key
    and name it; a value opens under whichever key it names, so rotation loses nothing.
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._current = bytes.fromhex(secret_id(keys[0]))
        self._keys = {bytes.fromhex(secret_id(key)): AESGCM(key[:32]) for key in keys}

    def encrypt(self, transaction_id: str, value: Mapping[str, Any]) -> str:
        """``value`` encrypted for ``transaction_id`` with a fresh 96-bit nonce: base64 of
        version ‖ key id ‖ nonce ‖ ciphertext (the transaction id is the associated data)."""
        nonce = secrets.token_bytes(12)
        plain = json.dumps(dict(value), separators=(",", ":")).encode()
        ciphertext = self._keys[self._current].encrypt(nonce, plain, transaction_id.encode())
        return base64.b64encode(VERSION + self._current + nonce + ciphertext).decode()

    def decrypt(self, transaction_id: str, token: str) -> dict[str, Any]:
        """The value encrypted for ``transaction_id``; ``ValueError`` if it was not, or was altered,
        or its key is not held."""
        raw = base64.b64decode(token)
        if raw[:1] == VERSION:
            aead = self._keys.get(raw[1:9])
            if aead is None:
                raise ValueError("the encrypted value names a key this gateway does not hold")
            candidates, body = [aead], raw[9:]
        elif raw[:1] == LEGACY:
            candidates, body = list(self._keys.values()), raw[1:]
        else:
            raise ValueError("unknown encrypted-value version")
        for aead in candidates:
            try:
                plain = aead.decrypt(body[:12], body[12:], transaction_id.encode())
            except InvalidTag:
                continue
            return json.loads(plain)
        raise ValueError("the encrypted value does not open for this transaction")
