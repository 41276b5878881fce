"""Bearer credentials ``<prefix>_<16 hex id>.<secret>``: issue, parse, check.

256 random bits of secret, of which only SHA-256 is stored: a fast hash is right for a
high-entropy token (slow hashes are for guessable passwords), and it keeps authentication cheap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from pishkhan_gateway.errors import InvalidRequest


def new(prefix: str) -> tuple[str, str, str]:
    """``(credential, id, sha256 of secret)`` for a fresh credential."""
    credential_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{prefix}_{credential_id}.{secret}", credential_id, digest(secret)


def digest(secret: str) -> str:
    """Hex SHA-256 of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(prefix: str, authorization: str | None) -> tuple[str, str] | None:
    """``(id, secret)`` from ``Bearer <prefix>_<id>.<secret>``, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    match = re.match(rf"^{prefix}_([0-9a-f]{{16}})\.([A-Za-z0-9_-]{{20,100}})$", token.strip())
    return (match.group(1), match.group(2)) if match else None


def matches(stored_sha256: str, secret: str) -> bool:
    """Constant-time comparison of a secret with its stored digest."""
    return hmac.compare_digest(stored_sha256, digest(secret))


def expiry(valid_days: int | None) -> dt.datetime | None:
    """When a credential issued now for ``valid_days`` stops working (None or 0: never)."""
    if not valid_days:
        return None
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=valid_days)


def expired(expires_at: dt.datetime | None) -> bool:
    """Whether a credential's validity has ended (SQLite hands back naive UTC times)."""
    if expires_at is None:
        return False
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    return expires_at <= dt.datetime.now(dt.UTC)


def revoke(session: Any, table: type[Any], prefix: str, credential: str) -> Any:
    """Revoke a credential given whole or as its ``<prefix>_<id>`` half (an operator may hold
    only the id), inside ``session``; return its row. ``InvalidRequest`` when it is none."""
    match = re.match(rf"^{prefix}_([0-9a-f]{{16}})", credential.strip())
    if not match:
        raise InvalidRequest("not a credential or credential id", field="credential")
    row = session.get(table, match.group(1))
    if row is None:
        raise InvalidRequest("unknown credential", field="credential")
    row.revoked_at = row.revoked_at or dt.datetime.now(dt.UTC)
    return row
