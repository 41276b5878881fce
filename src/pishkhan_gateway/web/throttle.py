"""Failed authentications, throttled (``limits``, the library under Flask-Limiter, with a moving
window) — what fails, never a request that authenticates.

Each failed authentication (a bad, unknown or revoked credential; an unregistered operator; a
console sign-in refused) is counted against the client's address and against the key id it
presented, and logged. Once either is over ``PISHKHAN_AUTH_FAILURE_LIMIT``, a request that
presents a credential is refused with ``too_many_failures`` (429, ``Retry-After``) *unless that
credential is valid*: the valid key of an office behind the same NAT, a province's proxy or the
documented nginx as a stranger sending garbage keeps working, while the stranger's guesses are
answered 429 without a word more. (Behind ``PISHKHAN_TRUSTED_PROXIES`` the address is the one
the proxy saw.) A request that presents no credential guesses nothing and is never throttled.

The storage is ``PISHKHAN_RATE_LIMIT_STORAGE``: ``memory://`` counts per process, and tracks at
most ``MAX_TRACKED`` addresses and key ids (past that, new ones go uncounted rather than grow the
worker without bound); a shared store (``redis://…``, ``memcached://…``) counts across workers
and hosts and expires its own keys.

(Transaction quotas, the pipeline's own limits, are ``pipeline/quotas.py``.)
"""

from __future__ import annotations

import re
import time

import structlog
from flask import Flask, Response, g, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pishkhan_gateway.errors import GatewayError, TooManyFailures
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.web.current import gateway

log = structlog.get_logger(__name__)

# Refusals that mean "who you say you are was not accepted".
FAILED_AUTH_CODES = frozenset({"unauthorized", "operator_not_registered"})
MAX_TRACKED = 100_000  # addresses and key ids a memory:// store counts at once
SIGNIN = "/console/signin"
_KEY_ID = re.compile(r"^\s*(?:bearer\s+)?[a-z]{3}_([0-9a-f]{16})", re.IGNORECASE)


def install(app: Flask) -> None:
    """Count failed authentications per address and key id; refuse a failing credential when
    either is over the limit."""
    limit = parse(str(app.config["AUTH_FAILURE_LIMIT"]))
    storage = storage_from_string(app.config["RATE_LIMIT_STORAGE"])
    limiter = MovingWindowRateLimiter(storage)

    def buckets() -> list[tuple[str, str]]:
        found = [("auth-failures", request.remote_addr or "unknown")]
        key_id = _key_id(_presented())
        if key_id:
            found.append(("auth-failures-key", key_id))
        return found

    @app.before_request
    def _refuse_when_over() -> None:
        presented = _presented()
        if not presented:
            return  # nothing to guess with
        over = [b for b in buckets() if not limiter.test(limit, *b)]
        if not over or _authenticates(presented):
            return  # a valid credential is never throttled
        reset = max(limiter.get_window_stats(limit, *b).reset_time for b in over)
        log.warning("auth_throttled", client=request.remote_addr, path=request.path)
        raise TooManyFailures(retry_after=max(1, int(reset - time.time()) + 1))

    @app.after_request
    def _count_failures(response: Response) -> Response:
        if response.status_code not in (401, 403):
            return response
        code = (response.get_json(silent=True) or {}).get("code") if response.is_json else None
        if code in FAILED_AUTH_CODES or g.get("auth_failed"):
            for bucket in buckets():
                _hit(limiter, storage, limit, bucket)
            log.warning("auth_failed", client=request.remote_addr, path=request.path, code=code)
        return response


def _presented() -> str:
    """The credential this request presents: its Authorization header, or the console sign-in
    form's ``credential`` (as a header would carry it)."""
    header = request.headers.get("Authorization", "")
    if header:
        return header
    if request.method == "POST" and request.path == SIGNIN:
        given = request.form.get("credential", "").strip()
        return f"Bearer {given}" if given else ""
    return ""


def _key_id(presented: str) -> str | None:
    """The public id half of a presented credential (``psk_<id>.…``), if it has one."""
    match = _KEY_ID.match(presented)
    return match.group(1).lower() if match else None


def _authenticates(presented: str) -> bool:
    """Is the presented credential an office's or a supervisor's, valid now?"""
    store = gateway().store
    for check in (offices.authenticate, supervisors.authenticate):
        try:
            check(store, presented)
        except GatewayError:
            continue
        return True
    return False


def _hit(
    limiter: MovingWindowRateLimiter, storage: object, limit: RateLimitItem, bucket: tuple[str, str]
) -> None:
    """Count one failure, unless a memory store is full and this bucket is new to it."""
    if isinstance(storage, MemoryStorage) and len(storage.events) >= MAX_TRACKED:
        if limit.key_for(*bucket) not in storage.events:
            log.warning("auth_failures_untracked", tracked=len(storage.events))
            return
    limiter.hit(limit, *bucket)


def count_failure() -> None:
    """Count this request as a failed authentication though its answer is not a problem
    document (the console's sign-in page)."""
    g.auth_failed = True
