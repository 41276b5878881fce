"""Rate limits, on ``limits`` (the library under Flask-Limiter), with a moving window.

Failed authentications: a client address that keeps presenting bad credentials (or unregistered
operators) is refused with ``too_many_failures`` (429, ``Retry-After``) before its credentials are
even looked at, and every failure is logged.

Quotas: each office and each operator may submit so many transactions (``OFFICE_RATE_LIMIT``,
``OPERATOR_RATE_LIMIT``); beyond that the pipeline refuses with ``rate_limited`` (429), recorded in
the log like every refusal.

The storage is ``PISHKHAN_RATE_LIMIT_STORAGE``: ``memory://`` counts per process; point it at a
shared store (``redis://…``, ``memcached://…``) to count across workers and hosts.
"""

from __future__ import annotations

import time

import structlog
from flask import Flask, Response, g, request
from limits import parse, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pishkhan_gateway.errors import RateLimited, TooManyFailures

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


class Quotas:
    """Transactions per office and per operator (shared storage when configured)."""

    def __init__(self, storage: str, office: str, operator: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage))
        self._office = parse_many(office)
        self._operator = parse_many(operator)

    def take(self, office_id: str, operator: str) -> None:
        """Count one transaction, or raise ``RateLimited`` naming the limit it broke (a refused
        attempt uses up nothing)."""
        checks = [
            *((limit, "office", office_id) for limit in self._office),
            *((limit, "operator", f"{office_id}/{operator}") for limit in self._operator),
        ]
        for limit, who, key in checks:
            if not self._limiter.test(limit, "quota", who, key):
                reset = self._limiter.get_window_stats(limit, "quota", who, key).reset_time
                raise RateLimited(
                    f"the {who} limit of {limit} is used up",
                    retry_after=max(1, int(reset - time.time()) + 1),
                )
        for limit, who, key in checks:
            self._limiter.hit(limit, "quota", who, key)
