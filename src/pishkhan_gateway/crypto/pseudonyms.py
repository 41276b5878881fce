"""Keyed pseudonyms: how the log, the tables and the metrics refer to a citizen or an operator
without holding their national code or mobile (personal data never appears in plain)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


class Pseudonymizer:
    """Keyed pseudonyms (HMAC-SHA256, hex) so the log can be searched without holding the value.

    Domain-separated, so a national code and a mobile never share a pseudonym.
    """

    def __init__(self, keys: bytes | Sequence[bytes]) -> None:
        # the current key first, then retired ones (records made under them are still found)
        self._keys = [keys] if isinstance(keys, bytes) else list(keys)
        self._key = self._keys[0]

    def keyed(self, domain: bytes, value: str, key: bytes | None = None) -> str:
        """HMAC-SHA256 (hex) of ``value`` in ``domain`` under the (current) pseudonym key."""
        message = domain + b":" + value.encode()
        return hmac.new(key or self._key, message, hashlib.sha256).hexdigest()

    def national_code(self, code: str) -> str:
        """Pseudonym of a (normalised) national code."""
        return self.keyed(b"national_code", code)

    def national_codes(self, code: str) -> tuple[str, ...]:
        """Its pseudonyms under every key held, current first: for finding what was recorded
        before a key rotation."""
        return tuple(self.keyed(b"national_code", code, key) for key in self._keys)

    def idempotency_key(self, office_id: str, key: str) -> str:
        """How an office's Idempotency-Key is stored: an office may put anything in one, a
        national code included."""
        return self.keyed(b"idempotency_key", f"{office_id}:{key}")

    def idempotency_keys(self, office_id: str, key: str) -> tuple[str, ...]:
        """Its pseudonyms under every key held, current first (a key in flight survives a
        rotation)."""
        message = f"{office_id}:{key}"
        return tuple(self.keyed(b"idempotency_key", message, k) for k in self._keys)

    def mobile(self, mobile: str) -> str:
        """Pseudonym of a (normalised) mobile number."""
        return self.keyed(b"mobile", mobile)

    def mobiles(self, mobile: str) -> tuple[str, ...]:
        """Its pseudonyms under every key held, current first (limits survive a rotation)."""
        return tuple(self.keyed(b"mobile", mobile, key) for key in self._keys)
