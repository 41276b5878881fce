"""The gateway of the app serving this request (``app.extensions["pishkhan"]``, set by
``create_app``): the one place the web layer looks it up."""

from __future__ import annotations

from flask import current_app

from pishkhan_gateway.gateway import Gateway


def gateway() -> Gateway:
    """The ``Gateway`` of the current app."""
    return current_app.extensions["pishkhan"]
