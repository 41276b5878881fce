"""Ed25519 signatures over RFC 8785 canonical JSON (receipts, tree heads), and key files.

A signed object is the object plus ``signature`` (base64 Ed25519 over the canonical JSON of the
object *without* ``signature``) and ``key_id`` (lowercase hex SHA-256 of the public key's DER
SubjectPublicKeyInfo). Anyone with the PEM public key can verify one with ``cryptography`` and
``rfc8785`` alone, without this code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pishkhan_gateway.crypto import keyfiles


def canonical(obj: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of ``obj``.

    What the gateway signs and logs is plain JSON: strings, safe integers (money is integer
    rials), booleans, nulls, lists and objects with ASCII keys. For such a value the standard
    library's sorted, compact, non-ASCII-escaping ``json.dumps`` writes exactly the RFC 8785
    bytes (same escapes, and code-point order is UTF-16 order for ASCII keys) at a fifth of the
    cost of ``rfc8785``, which is on every transaction's path three times. Anything else — a
    float, a non-ASCII key, an integer past 2^53 — goes to ``rfc8785`` itself. A property test
    holds the two to the same bytes.
    """
    if _plain(obj):
        return _dumps(obj).encode()
    return rfc8785.dumps(obj)


_SAFE_INTEGER = 2**53 - 1
_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def _plain(obj: Any) -> bool:
    kind = type(obj)
    if kind is str or kind is bool or obj is None:
        return True
    if kind is int:
        return -_SAFE_INTEGER <= obj <= _SAFE_INTEGER
    if kind is dict:
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in obj.items())
    if kind is list or kind is tuple:
        return all(_plain(v) for v in obj)
    return False


def load_or_create_secret(path: str | Path, size: int = 32) -> bytes:
    """Read a raw secret key file (refused unless 0600-like), creating it with ``size`` random
    bytes if absent."""
    path = Path(path)
    if not path.exists():
        keyfiles.write_private(path, secrets.token_bytes(size))
    data = keyfiles.read_private(path)
    if len(data) < 32:
        raise ValueError(f"secret key file {path} holds {len(data)} bytes; at least 32 needed")
    return data


def load_secret_ring(path: str | Path, size: int = 32) -> list[bytes]:
    """The current secret at ``path`` (created if absent), then its retired predecessors."""
    path = Path(path)
    current = load_or_create_secret(path, size)
    return [current, *(keyfiles.read_private(p) for p in keyfiles.retired(path))]


def rotate_secret(path: str | Path, size: int = 32) -> tuple[str, str]:
    """Replace the secret at ``path`` with a fresh one, keeping the old one retired beside it;
    ``(old id, new id)``."""
    path = Path(path)
    old = load_or_create_secret(path, size)
    keyfiles.retire(path, keyfiles.secret_id(old), old)
    new = secrets.token_bytes(size)
    keyfiles.write_private(path, new, replace=True)
    return keyfiles.secret_id(old), keyfiles.secret_id(new)


class Signer:
    """The gateway's signing key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.public_pem = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        self.key_id = key_id(self.public_key)
        # key id → public key: the current key, then retired keys (``from_file`` adds them)
        self.keyring: dict[str, Ed25519PublicKey] = {self.key_id: self.public_key}

    @classmethod
    def from_file(cls, path: str | Path) -> Signer:
        """Load the PEM (PKCS#8) key at ``path``, generating it on first use, with the public
        keys of its retired predecessors (for verifying what they signed)."""
        path = Path(path)
        if not path.exists():
            keyfiles.write_private(path, _new_private_pem())
        key = serialization.load_pem_private_key(keyfiles.read_private(path), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        signer = cls(key)
        for retired in keyfiles.retired(path):
            old = serialization.load_pem_public_key(keyfiles.read_private(retired))
            if isinstance(old, Ed25519PublicKey):
                signer.keyring[key_id(old)] = old
        return signer

    @staticmethod
    def rotate(path: str | Path) -> tuple[str, str]:
        """A fresh signing key at ``path``; the old one's public half is kept retired beside it,
        its private half destroyed. ``(old key id, new key id)``."""
        path = Path(path)
        old = Signer.from_file(path)
        keyfiles.retire(path, old.key_id[:16], old.public_pem.encode())
        keyfiles.write_private(path, _new_private_pem(), replace=True)
        return old.key_id, Signer.from_file(path).key_id

    def public_keys(self) -> list[dict[str, str]]:
        """Every key this gateway has signed with: the current first, then retired ones."""
        return [
            {
                "key_id": kid,
                "algorithm": "Ed25519",
                "public_key": public.public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ).decode(),
                "current": kid == self.key_id,
            }
            for kid, public in self.keyring.items()
        ]

    def sign_bytes(self, message: bytes) -> bytes:
        """A raw Ed25519 signature of ``message`` (signed notes: ``auditlog/notes.py``)."""
        return self._key.sign(message)

    def sign(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``obj`` with ``key_id`` and ``signature`` added."""
        body = {k: v for k, v in obj.items() if k != "signature"}
        body["key_id"] = self.key_id
        signature = self._key.sign(canonical(body))
        return {**body, "signature": base64.b64encode(signature).decode()}


def key_id(public_key: Ed25519PublicKey) -> str:
    """Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


PublicKeys = Ed25519PublicKey | Mapping[str, Ed25519PublicKey]


def keyring(keys: PublicKeys) -> dict[str, Ed25519PublicKey]:
    """``{key id: key}`` for one key or a keyring."""
    if isinstance(keys, Ed25519PublicKey):
        return {key_id(keys): keys}
    return dict(keys)


def verify(obj: Mapping[str, Any], keys: PublicKeys) -> bool:
    """True if ``obj['signature']`` is a valid signature of the rest of ``obj`` by one of
    ``keys`` (one key, or a keyring: then the key named by ``obj['key_id']``)."""
    if isinstance(keys, Ed25519PublicKey):
        public_key = keys
    else:
        found = keys.get(str(obj.get("key_id", "")))
        if found is None:
            return False
        public_key = found
    try:
        encoded = obj["signature"]
        signature = base64.b64decode(encoded, validate=True)
        if base64.b64encode(signature).decode() != encoded:
            return False  # non-canonical base64 (stray padding bits): not what we signed
        body = {k: v for k, v in obj.items() if k != "signature"}
        public_key.verify(signature, canonical(body))
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return False
    return True


def _new_private_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
