"""``create_app``: configuration, logging, store, plugins, blueprints, CLI. No import-time work."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from pishkhan_gateway.commands import register_commands
from pishkhan_gateway.config import complete, from_env
from pishkhan_gateway.crypto.signing import load_or_create_secret
from pishkhan_gateway.errors import HeadersTooLarge
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.logs import configure_logging
from pishkhan_gateway.plugins.door import Plugins
from pishkhan_gateway.plugins.manager import load_plugins
from pishkhan_gateway.registry import regions
from pishkhan_gateway.web import citizenpages as appointment_pages
from pishkhan_gateway.web import console, throttle
from pishkhan_gateway.web.api import agencyreports as agencyreports_api
from pishkhan_gateway.web.api import appointments as appointments_api
from pishkhan_gateway.web.api import audit as audit_api
from pishkhan_gateway.web.api import cases as cases_api
from pishkhan_gateway.web.api import entitlements as entitlements_api
from pishkhan_gateway.web.api import evaluation as evaluation_api
from pishkhan_gateway.web.api import feedback as feedback_api
from pishkhan_gateway.web.api import licences as licences_api
from pishkhan_gateway.web.api import logtiles as logtiles_api
from pishkhan_gateway.web.api import offices as offices_api
from pishkhan_gateway.web.api import operators as operators_api
from pishkhan_gateway.web.api import receipts as receipts_api
from pishkhan_gateway.web.api import system as system_api
from pishkhan_gateway.web.api import tariffs as tariffs_api
from pishkhan_gateway.web.problem import register_error_handlers

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    plugins: Plugins | None = None,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> Flask:
    """Build the gateway app.

    ``config`` overrides what the environment says (tests pass everything they need).
    ``plugins`` reuses an already loaded plugin set; ``extra_plugins`` adds plugin objects
    (``(name, object)``) to the ones found through entry points.
    """
    settings = from_env()
    settings.update(config or {})
    settings = complete(settings)
    configure_logging(settings["LOG_LEVEL"])

    app = Flask("pishkhan_gateway")
    app.json = _BoundedJSON(app)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = int(settings["MAX_BODY_BYTES"])
    # The console's session cookie: signed with a key from a file, never readable by scripts,
    # never sent cross-site; Secure when the gateway is served over TLS.
    app.secret_key = load_or_create_secret(settings["SESSION_KEY_FILE"])
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=bool(settings["SECURE_COOKIES"]),
        SESSION_COOKIE_PATH="/console",
    )
    if plugins is None:
        blocked = [p.strip() for p in str(settings["DISABLED_PLUGINS"]).split(",") if p.strip()]
        plugins = load_plugins(blocked=blocked, extra=extra_plugins)
    regions.use(app.config.get("REGIONS_FILE"))
    app.extensions["pishkhan"] = Gateway(app.config, plugins)

    if int(app.config["TRUSTED_PROXIES"]) > 0:  # the client address as the front proxy saw it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["TRUSTED_PROXIES"]))  # type: ignore[method-assign]
    _request_ids(app)
    _header_limits(app)
    throttle.install(app)
    register_error_handlers(app)
    app.register_blueprint(offices_api.bp)
    app.register_blueprint(system_api.bp)
    app.register_blueprint(audit_api.bp)
    app.register_blueprint(operators_api.bp)
    app.register_blueprint(receipts_api.bp)
    app.register_blueprint(tariffs_api.bp)
    app.register_blueprint(licences_api.bp)
    app.register_blueprint(cases_api.bp)
    app.register_blueprint(logtiles_api.bp)
    app.register_blueprint(agencyreports_api.bp)
    app.register_blueprint(entitlements_api.bp)
    app.register_blueprint(feedback_api.bp)
    app.register_blueprint(evaluation_api.bp)
    app.register_blueprint(appointments_api.bp)
    app.register_blueprint(appointment_pages.bp)
    app.register_blueprint(console.bp)
    register_commands(app)
    return app


class _BoundedJSON(DefaultJSONProvider):
    """Flask's JSON, with a body nested past the interpreter's stack refused as invalid JSON
    (a ``RecursionError`` would otherwise escape ``request.get_json(silent=True)`` as a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


MAX_HEADER_BYTES = 8192
MAX_HEADERS_BYTES = 32768


def _header_limits(app: Flask) -> None:
    """Refuse oversized headers with a problem document before anything reads them. (gunicorn
    refuses a single field over its own, larger, limit with a bare 400 before the app sees it.)"""

    @app.before_request
    def _check() -> None:
        total = 0
        for name, value in request.headers.items():
            size = len(name) + len(value)
            total += size
            if size > MAX_HEADER_BYTES or total > MAX_HEADERS_BYTES:
                raise HeadersTooLarge(f"the {name} header, or all headers together, is too large")


def _request_ids(app: Flask) -> None:
    """Bind a request id to every log line of a request and return it in ``X-Request-Id``;
    start the process's sealer on its first request."""

    @app.before_request
    def _bind() -> None:
        # The sealer thread starts with the first request of each process, after any fork.
        app.extensions["pishkhan"].sealer.ensure_running(float(app.config["SEAL_INTERVAL_SECONDS"]))
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def _header(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.teardown_request
    def _unbind(_exc: BaseException | None) -> None:
        structlog.contextvars.clear_contextvars()
