"""``/docs``: the API reference, rendered on the server from the same document as
``/openapi.json`` (a packaged template and stylesheet: no script, no CDN, readable offline and
in any browser). It is written for developers at agencies and counter-software vendors."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, render_template

from pishkhan_gateway.web.current import gateway
from pishkhan_gateway.web.openapi import document

METHODS = ("get", "put", "post", "delete", "patch")


def reference_page() -> Response:
    """The rendered reference."""
    doc = document(current_app, gateway().plugins.catalog())
    by_tag: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in doc["tags"]}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                by_tag.setdefault(op["tags"][0], []).append(
                    {"method": method.upper(), "path": path, **op}
                )
    page = render_template(
        "docs.html",
        doc=doc,
        by_tag=by_tag,
        pretty=lambda value: json.dumps(value, ensure_ascii=False, indent=2),
        who=_who,
    )
    return Response(page, mimetype="text/html")


def _who(security: list[dict[str, list[str]]]) -> str:
    if not security:
        return "public"
    kinds = []
    for requirement in security:
        for scheme, roles in requirement.items():
            kind = "office" if scheme == "officeCredential" else "supervisor"
            kinds.append(f"{kind} ({', '.join(roles)})" if roles else kind)
    return " or ".join(kinds)
