"""A page for people, rendered from a packaged template with the Persian helpers."""

from __future__ import annotations

from flask import Response, render_template

from pishkhan_gateway import jalali


def page(template: str, status: int = 200, **context: object) -> Response:
    """``template`` rendered as an HTML response, with ``fa`` (Persian digits) and ``rials``."""
    body = render_template(template, fa=jalali.persian_digits, rials=jalali.rials, **context)
    return Response(body, status=status, mimetype="text/html")
