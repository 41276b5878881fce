"""Ed25519 signatures over RFC 8785 canonical JSON (receipts, tree heads), and key files.

A signed object is the object plus ``signature`` (base64 Ed25519 over the canonical JSON of the
object *without* ``signature``) and ``key_id`` (lowercase hex SHA-256 of the public key's DER
SubjectPublicKeyInfo). Anyone with the PEM public key can verify one with ``cryptography`` and
``rfc8785`` alone, without this code.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical(obj: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of ``obj``."""
    return rfc8785.dumps(obj)


def _write_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600; never overwrite (a race loser reads the winner's key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def load_or_create_secret(path: str | Path, size: int = 32) -> bytes:
    """Read a raw secret key file, creating it (0600) with ``size`` random bytes if absent."""
    path = Path(path)
    if not path.exists():
        _write_secret_file(path, secrets.token_bytes(size))
    data = path.read_bytes()
    if len(data) < 32:
        raise ValueError(f"secret key file {path} holds {len(data)} bytes; at least 32 needed")
    return data


class Signer:
    """The gateway's signing key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.public_pem = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_file(cls, path: str | Path) -> Signer:
        """Load the PEM (PKCS#8) key at ``path``, generating it on first use."""
        path = Path(path)
        if not path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_secret_file(path, pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

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


def verify(obj: Mapping[str, Any], public_key: Ed25519PublicKey) -> bool:
    """True if ``obj['signature']`` is a valid signature of the rest of ``obj``."""
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
