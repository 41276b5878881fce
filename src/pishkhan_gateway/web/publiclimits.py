"""Per-address limits on the public forms (appointment requests, ratings): one moving window
per limit (``limits``), stored where ``PISHKHAN_RATE_LIMIT_STORAGE`` says, shared by workers."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from pishkhan_gateway.errors import RateLimited


def _limiter(setting: str) -> tuple[MovingWindowRateLimiter, list[Any]]:
    app = current_app
    key = f"pishkhan_limiter_{setting}"
    cached = app.extensions.get(key)
    if cached is None:
        storage = storage_from_string(app.config["RATE_LIMIT_STORAGE"])
        cached = (MovingWindowRateLimiter(storage), parse_many(app.config[setting]))
        app.extensions[key] = cached
    return cached


def take_one(setting: str, bucket: str, what: str) -> None:
    """Count one request from the client address against the limits in ``setting``
    (``RateLimited`` with its ``Retry-After`` once over)."""
    limiter, limits = _limiter(setting)
    client = request.remote_addr or "unknown"
    for limit in limits:
        if not limiter.test(limit, bucket, client):
            reset = limiter.get_window_stats(limit, bucket, client).reset_time
            raise RateLimited(
                f"at most {limit} {what} from one address",
                retry_after=max(1, int(reset - time.time()) + 1),
            )
    for limit in limits:
        limiter.hit(limit, bucket, client)
