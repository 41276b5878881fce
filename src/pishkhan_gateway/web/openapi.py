"""The OpenAPI 3.1 document (``/openapi.json``), written from the operations' declarations
(``operations.py``) and the app's URL map — nothing about an operation is stated twice.

Each operation carries its path, query and header parameters, its request body schema (with
an example), its real success status and response schema, a response per problem status naming
the codes it may answer, its security (the credential kinds and supervisor roles the one path
admits) and its audience as a tag. The shared pieces (``shapes.py``) appear once under
``components/schemas``; each installed service's ``params`` schema (its contract) is there too,
and the transaction body refers to it by service id.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flask import Flask

from pishkhan_gateway import __version__
from pishkhan_gateway.errors import all_errors
from pishkhan_gateway.web.examples import example_of
from pishkhan_gateway.web.operations import Operation, operations_of
from pishkhan_gateway.web.shapes import NAMED

PROBLEM = "application/problem+json"
_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>[a-z_]+)>")
TAGS = [
    ("counter", "The counter's one endpoint, its catalog and the office's own history"),
    ("office", "The office's life: licence, requests, evaluation, appointments"),
    ("supervisors", "The regulator, provincial working groups, regions and agency auditors"),
    ("citizens", "Public: receipt checks, ratings, appointments"),
    ("log", "The tamper-evident log (C2SP tlog-checkpoint and tlog-tiles)"),
    ("system", "Health, readiness, metrics and this document"),
]
_STATUS_TEXT = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Refused",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Not JSON",
    422: "Not acceptable",
    429: "Too many requests",
    502: "The agency failed",
    503: "Unavailable",
    504: "The agency timed out",
}


def declared(app: Flask) -> list[tuple[str, Operation]]:
    """Every declared operation with its OpenAPI path, in URL-map order."""
    out = []
    for rule in app.url_map.iter_rules():
        op = operations_of(app.view_functions.get(rule.endpoint))
        if op is not None:
            out.append((path_of(rule.rule), op))
    return out


def path_of(rule: str) -> str:
    """A Flask URL rule as an OpenAPI path (``<office_id>`` → ``{office_id}``)."""
    return _PARAM.sub(lambda m: "{" + m["name"] + "}", rule)


def document(app: Flask, services: Iterable[Any] = ()) -> dict[str, Any]:
    """The whole document; ``services`` are the installed services (their ``params`` schemas
    become components the transaction body refers to)."""
    names = _Names()
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for path, op in declared(app):
        paths[path][op.method.lower()] = _operation(op, path, names)
    params = {
        f"Params.{s.service.id}": _bare(s.service.params_schema)
        for s in services
        if isinstance(s.service.params_schema, dict)
    }
    if params:
        body = paths["/v1/transactions"]["post"]["requestBody"]["content"]["application/json"]
        body["schema"] = {
            "allOf": [
                body["schema"],
                {
                    "oneOf": [
                        {
                            "properties": {
                                "service": {"const": key.removeprefix("Params.")},
                                "params": {"$ref": f"#/components/schemas/{key}"},
                            }
                        }
                        for key in sorted(params)
                    ]
                },
            ]
        }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Pishkhan Gateway",
            "version": __version__,
            "description": "One endpoint between government service counters and agencies. "
            "Errors are application/problem+json (RFC 9457) with a stable `code` and a Persian "
            "`message_fa`. Money is integer rials; dates are Jalali.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": n, "description": d} for n, d in TAGS],
        "paths": dict(paths),
        "components": {
            "securitySchemes": {
                "officeCredential": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An office credential `pgk_<id>.<secret>` from "
                    "`pishkhan-gateway offices issue-key`",
                },
                "supervisorCredential": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A supervisor credential `psk_<id>.<secret>` from "
                    "`pishkhan-gateway supervisors issue-key`; the roles listed with an "
                    "operation are those it admits",
                },
            },
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem",
                    "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
            },
            "schemas": {"Problem": _problem_schema(), **names.components(), **params},
        },
    }


def _operation(op: Operation, path: str, names: _Names) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": list(op.tags),
        "security": op.audience.security(),
        "parameters": _parameters(op, path, names),
        "responses": _responses(op, names),
    }
    if op.description:
        out["description"] = op.description
    if op.body is not None:
        content: dict[str, Any] = {"schema": names.ref(op.body)}
        example = op.example if op.example is not None else example_of(op.body)
        if example is not None:
            content["example"] = example
        body = {"required": bool(op.body.get("required")), "content": {"application/json": content}}
        if op.forms:
            body["content"]["application/x-www-form-urlencoded"] = {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        out["requestBody"] = body
    return out


def _parameters(op: Operation, path: str, names: _Names) -> list[dict[str, Any]]:
    out = []
    for name in re.findall(r"{([a-z_]+)}", path):
        schema = op.path.get(name, {"type": "string", "minLength": 1, "maxLength": 200})
        out.append({"name": name, "in": "path", "required": True, "schema": names.ref(schema)})
    for name, schema in op.query.items():
        out.append(
            {
                "name": name,
                "in": "query",
                "required": name in op.required_query,
                "schema": names.ref(schema),
            }
        )
    for header in op.headers:
        out.append(
            {
                "name": header.name,
                "in": "header",
                "required": header.required,
                "description": header.description,
                "schema": dict(header.schema),
            }
        )
    return out


def _responses(op: Operation, names: _Names) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if not op.other_content or op.response.get("type") != "string":
        content["application/json"] = {"schema": names.ref(op.response)}
    for mime, when in op.other_content.items():
        content[mime] = {"schema": {"type": "string"}, "x-when": when}
    out: dict[str, Any] = {str(op.status): {"description": op.summary, "content": content}}
    for status, (description, schema) in op.responses.items():
        also = {
            mime: {"schema": {"type": "string"}, "x-when": w}
            for mime, w in op.other_content.items()
        }
        out[str(status)] = {
            "description": description,
            "content": {"application/json": {"schema": names.ref(schema)}, **also},
        }
    page = (  # a form sent by a person's browser is refused with a Persian page
        {"text/html": {"schema": {"type": "string"}, "x-when": "when sent as a form"}}
        if op.forms
        else {}
    )
    by_status: dict[int, list[str]] = defaultdict(list)
    for problem in op.all_problems():
        by_status[problem.status].append(problem.code)
    for status, codes in sorted(by_status.items()):
        if str(status) in out:
            continue
        out[str(status)] = {
            "description": f"{_STATUS_TEXT.get(status, 'Problem')}: {', '.join(codes)}",
            "content": {
                PROBLEM: {
                    "schema": {
                        "allOf": [
                            {"$ref": "#/components/schemas/Problem"},
                            {"properties": {"code": {"enum": sorted(set(codes))}}},
                        ]
                    }
                },
                **page,
            },
        }
    if "401" in out:  # how to authenticate (RFC 9110 §11.6.1), on every 401
        out["401"]["headers"] = {
            "WWW-Authenticate": {
                "description": 'Bearer realm="pishkhan-gateway" (RFC 6750)',
                "required": True,
                "schema": {"type": "string"},
            }
        }
    out["default"] = {"$ref": "#/components/responses/Problem"}
    return out


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "title", "status", "code", "message_fa"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"enum": sorted({e.code for e in all_errors()})},
            "message_fa": {"type": "string", "description": "the same, in Persian"},
            "transaction_id": {"type": "string"},
            "field": {"type": "string", "description": "the offending field's path"},
        },
    }


def _bare(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out.pop("$schema", None)
    out.pop("$id", None)
    return out


class _Names:
    """The shared pieces met while writing the document, each replaced by a ``$ref``."""

    def __init__(self) -> None:
        self._by_id = {id(s): s["title"] for s in NAMED}
        self.used: dict[str, dict[str, Any]] = {}

    def ref(self, schema: Any) -> Any:
        if isinstance(schema, dict):
            name = self._by_id.get(id(schema))
            if name is not None:
                if name not in self.used:
                    self.used[name] = {}  # placeholder: a piece may refer to others
                    self.used[name] = {k: self.ref(v) for k, v in schema.items()}
                return {"$ref": f"#/components/schemas/{name}"}
            return {k: self.ref(v) for k, v in schema.items()}
        if isinstance(schema, list | tuple):
            return [self.ref(v) for v in schema]
        return schema

    def components(self) -> dict[str, dict[str, Any]]:
        return dict(sorted(self.used.items()))
