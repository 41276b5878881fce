"""The rest of the HTTP surface in ``/openapi.json``: an operation for every ``/v1`` route the
hand-written document (``openapi.py``) does not describe in detail, generated from the app's own
URL map, so the document — and the fuzzing driven by it — covers every route there is.

Each generated operation carries its path parameters (an ``any(…)`` converter as an enum), the
query parameters its view reads (``QUERY``), a JSON object body for a POST, who it is for
(office or supervisor credential, or public), and the problem document for refusals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from werkzeug.routing import Rule

# Query parameters each route reads (a view reading one not listed here goes unfuzzed).
SEARCH = [
    "office",
    "agency",
    "service",
    "outcome",
    "code",
    "from",
    "to",
    "national_code",
    "citizen",
]
QUERY: dict[str, list[str]] = {
    "/v1/audit/transactions": [*SEARCH, "limit", "cursor"],
    "/v1/audit/export": [*SEARCH, "format"],
    "/v1/audit/offices/{office_id}/scorecard": [*SEARCH],
    "/v1/audit/entries": ["start", "end"],
    "/v1/audit/proof/inclusion": ["index", "tree_size"],
    "/v1/audit/proof/consistency": ["first", "second"],
    "/v1/settlements": ["date"],
    "/v1/tariffs": ["format"],
    "/v1/receipts/{transaction_id}": ["format"],
    "/v1/receipts/{transaction_id}/check": ["s", "format"],
}
PUBLIC = ("/v1/health", "/v1/ready", "/v1/audit/public-key", "/v1/audit/tree-head")
SUPERVISED = ("/v1/audit", "/v1/offices/", "/v1/supervisors")
_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>[a-z_]+)>")


def path_of(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a Werkzeug rule and its path parameters."""
    parameters: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        schema: dict[str, Any] = {"type": "string", "maxLength": 200}
        if match["converter"] == "any":
            schema = {"enum": [a.strip().strip("'\"") for a in match["args"].split(",")]}
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
        return "{" + match["name"] + "}"

    return _PARAM.sub(replace, rule.rule), parameters


def security_of(path: str, method: str) -> list[dict[str, list[str]]]:
    """Who may call it: nobody for the public reads, a supervisor for oversight, else an office."""
    if path in PUBLIC or path.endswith("/check") or path == "/v1/receipts/verify":
        return []
    if path.startswith(SUPERVISED) or (path == "/v1/tariffs" and method == "POST"):
        return [{"supervisorCredential": []}]
    return [{"officeCredential": []}]


def generated(rules: Iterable[Rule], described: dict[str, Any]) -> dict[str, Any]:
    """Operations for every ``/v1`` rule and method not in ``described`` (path → methods)."""
    paths: dict[str, Any] = {}
    for rule in rules:
        path, parameters = path_of(rule)
        if not path.startswith("/v1/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            verb = method.lower()
            if verb in described.get(path, {}):
                continue
            query = [
                {"name": q, "in": "query", "schema": {"type": "string", "maxLength": 200}}
                for q in QUERY.get(path, [])
            ]
            operation: dict[str, Any] = {
                "summary": f"{method} {path} (generated from the route map)",
                "operationId": f"{verb}_{rule.endpoint}".replace(".", "_"),
                "parameters": parameters + query,
                "security": security_of(path, method),
                "responses": {
                    "200": {"description": "OK"},
                    "default": {"$ref": "#/components/responses/Problem"},
                },
            }
            if verb == "post":
                operation["requestBody"] = {
                    "content": {"application/json": {"schema": {"type": "object"}}}
                }
            paths.setdefault(path, {})[verb] = operation
    return paths
