"""The console's Persian names for what the record holds in codes: every refusal's and failure's
code (the errors' own ``message_fa`` — one table, the same words the API answers with), every
service (its catalog title) and every province; and JSON shown as Persian, not escapes.
Template filters on the console's blueprint."""

from __future__ import annotations

import json
from typing import Any

from pishkhan_gateway.errors import all_errors
from pishkhan_gateway.registry import regions
from pishkhan_gateway.web.console.base import bp
from pishkhan_gateway.web.current import gateway

CODE_FA = {cls.code: cls.message_fa for cls in all_errors()}


@bp.app_template_filter("province_fa")
def _province_fa(value: str | None) -> str:
    return regions.province_fa(value)


@bp.app_template_filter("code_fa")
def _code_fa(code: str | None) -> str:
    """A refusal's or failure's Persian name."""
    if not code:
        return ""
    return CODE_FA.get(code, code)


@bp.app_template_filter("service_fa")
def _service_fa(service_id: str | None) -> str:
    """A service's Persian title from the catalog (the id when its plugin is gone)."""
    if not service_id:
        return "—"
    registered = gateway().plugins.service(service_id)
    return registered.service.title_fa if registered else service_id


@bp.app_template_filter("pretty_json")
def _pretty_json(value: Any) -> str:
    """JSON as people read it: Persian as Persian, not ``\\u`` escapes (Jinja's ``tojson``
    escapes everything outside ASCII)."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)
