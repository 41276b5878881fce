"""Key files: read only when nobody else can, rotated without losing what old keys protect.

Every secret the gateway holds (the Ed25519 signing key, the pseudonym HMAC key, the AES-GCM
encryption key, the console's session key) is a file, created ``0600`` on first start and refused
at start-up when its group or others may read or write it (``KeyFileError``; fix with
``chmod 600``). Keys never go to the database, logs or responses.

Rotation (``pishkhan-gateway keys rotate KIND``) writes a fresh key in place and keeps the old one
beside it as ``<file>.<key id>.retired``:

- **signing**: only the old *public* key is kept (PEM); the private key is destroyed, so nobody
  can sign in the old key's name any more, while old receipts and tree heads still verify;
- **encryption**: the old key is kept (0600) so records encrypted under it still open; new
  records are encrypted under the new key (each encrypted value names its key);
- **pseudonym**: the old key is kept (0600) so searches by national code and operator checks still
  find what was recorded under it; new records carry pseudonyms under the new key.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

KINDS = ("signing", "pseudonym", "encryption")


class KeyFileError(RuntimeError):
    """A key file that must not be used as it is."""


def check_private(path: Path) -> None:
    """Refuse a key file that its group or others may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"key file {path} has mode {mode:04o}: group or others may use it; "
            f"run `chmod 600 {path}`"
        )


def write_private(path: Path, data: bytes, *, replace: bool = False) -> bool:
    """Create ``path`` with mode 0600 (``replace``: atomically over an existing file). Without
    ``replace`` an existing file is kept (a race loser reads the winner's key); returns whether
    this call wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new") if replace else path
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if replace:
        os.replace(target, path)
    return True


def read_private(path: Path) -> bytes:
    """The bytes of a key file, after checking its permissions."""
    check_private(path)
    return path.read_bytes()


def secret_id(secret: bytes) -> str:
    """A short public name for a symmetric key (SHA-256 of a domain tag and the key)."""
    return hashlib.sha256(b"pishkhan-key-id:" + secret).hexdigest()[:16]


def retired(path: Path) -> list[Path]:
    """The retired keys kept beside ``path``, newest first."""
    found = path.parent.glob(f"{path.name}.*.retired")
    return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def retire(path: Path, key_id: str, keep: bytes) -> Path:
    """Keep ``keep`` (the old key, or its public half) as ``<path>.<key_id>.retired``."""
    kept = path.with_name(f"{path.name}.{key_id}.retired")
    write_private(kept, keep)
    return kept
