"""Turning errors into ``application/problem+json`` (RFC 9457) responses."""

from __future__ import annotations

import json
from typing import Any

import structlog
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from pishkhan_gateway.errors import (
    GatewayError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from pishkhan_gateway.pipeline.request import check_json
from pishkhan_gateway.web import denials

PROBLEM = "application/problem+json"
log = structlog.get_logger(__name__)
_HTTP_TO_ERROR: dict[int, type[GatewayError]] = {
    400: InvalidRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    mimetype: str = "application/json",
) -> Response:
    """A JSON response with Persian left readable (UTF-8, not ``\\u`` escapes), ending in a
    newline as a text file does (what ``curl`` prints then ends its line)."""
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    if not data.endswith(b"\n"):
        data += b"\n"
    return Response(data, status=status, headers=headers or {}, mimetype=mimetype)


def problem_response(error: GatewayError) -> Response:
    """The problem+json response for a gateway error."""
    return json_response(error.problem(), error.status, error.headers, PROBLEM)


def register_error_handlers(app: Flask) -> None:
    """Every error leaves as problem+json with a stable code."""

    @app.errorhandler(GatewayError)
    def _gateway_error(error: GatewayError) -> Response:
        denials.note(error)
        return problem_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        mapped = _HTTP_TO_ERROR.get(status, InvalidRequest if status < 500 else InternalError)
        problem = mapped(error.description)
        # what HTTP says the answer carries (a 405's Allow, RFC 9110 §15.5.6), kept
        problem.headers.update({k: v for k, v in error.get_headers() if k == "Allow"})
        return problem_response(problem)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled_error")
        return problem_response(InternalError())


def json_body() -> Any:
    """The request's JSON body as the API's other endpoints read it: None when it is not JSON,
    and refused (``InvalidRequest``) when nested too deep or not valid Unicode text."""
    return check_json(request.get_json(silent=True))


def object_body() -> dict[str, Any]:
    """The request's JSON object body (``{}`` when none was sent); ``InvalidRequest`` when it is
    JSON but not an object (``true``, ``"x"``, ``[1]``), so no handler reads fields of one."""
    body = json_body()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidRequest("send a JSON object")
    return body
