"""The OpenAPI 3.1 document of the HTTP surface (served at ``/openapi.json``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from werkzeug.routing import Rule

from pishkhan_gateway import __version__
from pishkhan_gateway.api import routes_doc
from pishkhan_gateway.errors import all_errors


def _schema(name: str) -> dict[str, Any]:
    text = resources.files("pishkhan_gateway").joinpath(f"schemas/{name}.schema.json").read_text()
    schema = json.loads(text)
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return schema


def _problem_ref(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": "#/components/responses/Problem"} for s in statuses}


def document(service_ids: list[str], rules: Iterable[Rule] = ()) -> dict[str, Any]:
    """The whole document; ``service_ids`` lists the services installed on this gateway, and
    ``rules`` (the app's URL map) adds a generated operation for every other route."""
    doc = _described(service_ids)
    for path, operations in routes_doc.generated(rules, doc["paths"]).items():
        doc["paths"].setdefault(path, {}).update(operations)
    return doc


def _described(service_ids: list[str]) -> dict[str, Any]:
    """The operations described by hand, in detail."""
    bearer = [{"officeCredential": []}]
    request_schema = _schema("transaction-request")
    request_schema["properties"]["service"]["examples"] = service_ids[:3]
    money = {"type": "integer", "minimum": 0, "description": "integer rials"}
    transaction = {
        "type": "object",
        "properties": {
            "transaction_id": {"type": "string"},
            "status": {"type": "string"},
            "service": {"type": "string"},
            "result": {"type": ["object", "null"]},
            "agency_reference": {"type": ["string", "null"]},
            "agency_amount": money,
            "office_fee": money,
            "total": money,
            "fee_cap": money,
            "priced_by": {
                "enum": ["regulator", "province", "law", "unpriced"],
                "description": "whose word the cap is: law means the agency's amount is the "
                "whole fee, set by law, and the office adds nothing",
            },
            "log_index": {"type": "integer"},
            "receipt": {"$ref": "#/components/schemas/Receipt"},
        },
    }
    paging = [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
        },
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "service", "in": "query", "schema": {"type": "string"}},
        {
            "name": "outcome",
            "in": "query",
            "schema": {"enum": ["succeeded", "refused", "failed", "unknown"]},
        },
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pishkhan Gateway",
            "version": __version__,
            "description": "One endpoint between government service counters and agencies. "
            "Errors are application/problem+json with a stable `code`.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/v1/transactions": {
                "post": {
                    "summary": "Run a counter transaction (every outcome is recorded)",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "X-Operator",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "The operator's national code",
                        },
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "schema": {"type": "string", "maxLength": 255},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": request_schema}},
                    },
                    "responses": {
                        "201": {
                            "description": "Succeeded, recorded and receipted",
                            "content": {"application/json": {"schema": transaction}},
                        },
                        **_problem_ref(400, 401, 403, 404, 409, 413, 415, 422, 502, 503, 504),
                    },
                },
                "get": {
                    "summary": "The office's own transactions, newest first",
                    "security": bearer,
                    "parameters": paging,
                    "responses": {
                        "200": {"description": "A page of history"},
                        **_problem_ref(400, 401),
                    },
                },
            },
            "/v1/transactions/{transaction_id}": {
                "get": {
                    "summary": "One of the office's own transactions",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "transaction_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The transaction",
                            "content": {"application/json": {"schema": transaction}},
                        },
                        **_problem_ref(401, 404),
                    },
                },
            },
            "/v1/services": {
                "get": {
                    "summary": "The catalog, with this office's fee cap today",
                    "security": bearer,
                    "responses": {"200": {"description": "Services"}, **_problem_ref(401)},
                },
            },
            "/v1/health": {
                "get": {
                    "summary": "Liveness, plugins and breakers",
                    "responses": {"200": {"description": "Alive"}},
                }
            },
            "/v1/ready": {
                "get": {
                    "summary": "Readiness (database and schema)",
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": {"description": "Not ready"},
                    },
                }
            },
            "/v1/audit/public-key": {
                "get": {
                    "summary": "The gateway's Ed25519 public key",
                    "responses": {"200": {"description": "PEM"}},
                }
            },
        },
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
                    "`pishkhan-gateway supervisors issue-key`",
                },
            },
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "code", "message_fa"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "code": {"enum": sorted({e.code for e in all_errors()})},
                        "message_fa": {"type": "string"},
                        "transaction_id": {"type": "string"},
                        "field": {"type": "string"},
                    },
                },
                "Receipt": {
                    "type": ["object", "null"],
                    "description": "Ed25519 over RFC 8785 canonical JSON of the receipt without "
                    "`signature`; verify with GET /v1/audit/public-key",
                    "properties": {
                        "transaction_id": {"type": "string"},
                        "total": money,
                        "log_index": {"type": "integer"},
                        "key_id": {"type": "string"},
                        "signature": {"type": "string"},
                    },
                },
            },
        },
    }
