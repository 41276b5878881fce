"""REST/JSON for agency plugins: one call helper with the same error mapping as ``soap``.

Public (plugins import it): ``call(kind, agency, method, path, json=..., params=...,
openapi=..., operation=...)`` sends one request to the agency at ``agency.url`` within
``agency.timeout``, refuses replies over 10 MB while reading them, and turns every failure into
the gateway's error for that service kind. Given the agency's OpenAPI document and the
operation's path as written there (``operation="/renewals/{tracking_id}"``), the statuses that
mean success and the reply's schema are read from it (``$ref`` resolved); without it any 2xx is
success and ``schema=`` (optional) checks the reply.

- HTTP 4xx with ``{"error": code, "message": ..., "message_fa": ...}``: the agency's refusal,
  ``AgencyRejected`` (its Persian message as ``agency_reason_fa``);
- a refused connection, a connect timeout, HTTP 503: it did not act, ``AgencyUnavailable``;
- a read timeout: ``AgencyTimeout``;
- a dropped connection, another 5xx, a status the contract does not list as success, a reply that
  is not JSON, too large or off-contract: for an inquiry ``agency_error``, for a payment or
  request an unknown outcome (``AgencyTimeout``).
"""

from __future__ import annotations

import functools
import json as jsonlib
from collections.abc import Mapping
from typing import Any

import jsonschema
import requests
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from pishkhan_gateway.errors import AgencyRejected, AgencyUnavailable
from pishkhan_gateway.sdk import agencyhttp
from pishkhan_gateway.sdk.soap import transport_failure, unclear
from pishkhan_gateway.sdk.values import AgencyContext


@functools.lru_cache(maxsize=64)
def _session(base_url: str) -> requests.Session:
    session = agencyhttp.session()
    session.headers["Accept"] = "application/json"
    return session


def call(
    kind: str,
    agency: AgencyContext,
    method: str,
    path: str,
    *,
    json: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    schema: Mapping[str, Any] | None = None,
    openapi: Mapping[str, Any] | None = None,
    operation: str | None = None,
) -> Any:
    """One JSON call to the agency; the decoded reply (None for a 204), or the gateway's error."""
    contract = _Operation(openapi, operation, method) if openapi is not None else None
    if not agency.url:
        raise AgencyUnavailable(f"no URL configured for {agency.name}")
    url = agency.url.rstrip("/") + "/" + path.lstrip("/")
    try:
        response = _session(agency.url).request(
            method, url, json=json, params=params, timeout=agency.timeout, stream=True
        )
        with response:
            body = agencyhttp.read_capped(response)
    except requests.exceptions.RequestException as exc:
        raise transport_failure(kind, exc) from None
    except agencyhttp.ReplyTooLarge:
        raise unclear(kind, "the agency's reply was refused as too large") from None
    if response.status_code == 503:
        raise AgencyUnavailable("the agency answered HTTP 503")
    try:
        reply = jsonlib.loads(body)
    except ValueError:
        reply = None
    status = response.status_code
    if 400 <= status < 500 and isinstance(reply, dict) and reply.get("error"):
        fa = reply.get("message_fa")
        raise AgencyRejected(
            str(reply.get("message") or reply["error"]),
            agency_code=str(reply["error"]),
            reason_fa=str(fa) if fa else None,
        )
    success = contract.success if contract is not None else range(200, 300)
    if status not in success:
        raise unclear(kind, f"the agency answered HTTP {status}")
    if status == 204:
        return None
    if reply is None:
        raise unclear(kind, "the agency's reply is not valid JSON")
    validator = contract.validator(status) if contract is not None else None
    if validator is None and schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
    if validator is not None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(reply))
        if error is not None:
            raise unclear(kind, f"the agency's reply is off its contract: {error.message}")
    return reply


class _Operation:
    """One operation of an agency's OpenAPI document: its success statuses, and a validator of
    each one's JSON reply against the document (so ``$ref`` to ``components`` resolves)."""

    def __init__(self, openapi: Mapping[str, Any], operation: str | None, method: str) -> None:
        if operation is None:
            raise ValueError(
                "rest.call: give operation= (the path as in the OpenAPI) with openapi="
            )
        try:
            responses = openapi["paths"][operation][method.lower()]["responses"]
        except (KeyError, TypeError):
            raise ValueError(f"rest.call: the OpenAPI has no {method} {operation}") from None
        self.responses = responses
        self.success = {int(c) for c in responses if str(c).isdigit() and 200 <= int(c) < 300}
        self.pointer = (
            "#/paths/" + _escape(operation) + "/" + method.lower() + "/responses/{status}"
            "/content/application~1json/schema"
        )
        self.registry = Registry().with_resource(_BASE, DRAFT202012.create_resource(dict(openapi)))

    def validator(self, status: int) -> jsonschema.Draft202012Validator | None:
        content = self.responses.get(str(status), {}).get("content", {})
        if "schema" not in content.get("application/json", {}):
            return None
        ref = _BASE + self.pointer.replace("{status}", str(status))
        return jsonschema.Draft202012Validator({"$ref": ref}, registry=self.registry)


_BASE = "urn:pishkhan:agency-openapi"


def _escape(segment: str) -> str:
    """A JSON Pointer token (RFC 6901)."""
    return segment.replace("~", "~0").replace("/", "~1")
