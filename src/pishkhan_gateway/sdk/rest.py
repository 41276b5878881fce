"""REST/JSON for agency plugins: one call helper with the same error mapping as ``soap``.

Public (plugins import it): ``call(kind, agency, method, path, json=..., params=..., schema=...)``
sends one request to the agency at ``agency.url`` within ``agency.timeout``, refuses replies over
10 MB while reading them, checks the reply against ``schema`` (the response schema from the
agency's OpenAPI contract) and turns every failure into the gateway's error for that service kind:

- HTTP 4xx with ``{"error": code, "message": ...}``: the agency's refusal, ``AgencyRejected``;
- a refused connection, a connect timeout, HTTP 503: it did not act, ``AgencyUnavailable``;
- a read timeout: ``AgencyTimeout``;
- a dropped connection, another 5xx, a reply that is not JSON, too large or off-contract: for an
  inquiry ``agency_error``, for a payment or request an unknown outcome (``AgencyTimeout``).
"""

from __future__ import annotations

import functools
import json as jsonlib
from collections.abc import Mapping
from typing import Any

import jsonschema
import requests

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
) -> Any:
    """One JSON call to the agency; the decoded reply, or the gateway's error."""
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
    if 400 <= response.status_code < 500 and isinstance(reply, dict) and reply.get("error"):
        raise AgencyRejected(
            str(reply.get("message") or reply["error"]), agency_code=reply["error"]
        )
    if response.status_code != 200:
        raise unclear(kind, f"the agency answered HTTP {response.status_code}")
    if reply is None:
        raise unclear(kind, "the agency's reply is not valid JSON")
    if schema is not None:
        try:
            jsonschema.validate(reply, schema)
        except jsonschema.ValidationError as exc:
            raise unclear(kind, f"the agency's reply is off its contract: {exc.message}") from None
    return reply
