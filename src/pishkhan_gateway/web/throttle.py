"""Failed authentications, throttled per client address (``limits``, the library under
Flask-Limiter, with a moving window).

Failed authentications: a client address that keeps presenting bad credentials (or unregistered
operators) is refused with ``too_many_failures`` (429, ``Retry-After``) before its credentials are
even looked at, and every failure is logged.

(Transaction quotas, the pipeline's own limits, are ``pipeline/quotas.py``.)

The storage is ``PISHKHAN_RATE_LIMIT_STORAGE``: ``memory://`` counts per process; point it at a
shared store (``redis://…``, ``memcached://…``) to count across workers and hosts.
"""

from __future__ import annotations

import time

import structlog
from flask import Flask, Response, g, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pishkhan_gateway.errors import TooManyFailures

log = structlog.get_logger(__name__)

# Refusals that mean "who you say you are was not accepted".
FAILED_AUTH_CODES = frozenset({"unauthorized", "operator_not_registered"})


def install(app: Flask) -> None:
    """Count failed authentications per client address and refuse when over the limit."""
    limit = parse(str(app.config["AUTH_FAILURE_LIMIT"]))
    limiter = MovingWindowRateLimiter(storage_from_string(app.config["RATE_LIMIT_STORAGE"]))

    def client() -> str:
        return request.remote_addr or "unknown"

    @app.before_request
    def _refuse_when_over() -> None:
        if not request.headers.get("Authorization") and request.method == "GET":
            return  # public reads carry no credential to guess
        if not limiter.test(limit, "auth-failures", client()):
            reset = limiter.get_window_stats(limit, "auth-failures", client()).reset_time
            log.warning("auth_throttled", client=client(), path=request.path)
            raise TooManyFailures(retry_after=max(1, int(reset - time.time()) + 1))

    @app.after_request
    def _count_failures(response: Response) -> Response:
        if response.status_code not in (401, 403):
            return response
        code = (response.get_json(silent=True) or {}).get("code") if response.is_json else None
        if code in FAILED_AUTH_CODES or g.get("auth_failed"):
            limiter.hit(limit, "auth-failures", client())
            log.warning("auth_failed", client=client(), path=request.path, code=code)
        return response


def count_failure() -> None:
    """Count this request as a failed authentication though its answer is not a problem
    document (the console's sign-in page)."""
    g.auth_failed = True
