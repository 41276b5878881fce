"""The telecom sandbox: a REST/JSON server over invented lines, with an SMS outbox.

Landline debt from ``sample_lines.json``; SIM replacement for the line's owner only, one per
line (``ALREADY_REQUESTED``; one line has a replacement open from a sales office), remembered by
the gateway's tracking id; ownership checks; and an
SMS gateway whose outbox (``GET /_sandbox/state``) is where tests read one-time codes.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from pishkhan_gateway import JsonError, JsonSandbox
from pishkhan_telecom.terms import OPENAPI

# The agency's own price, kept apart from the adapter's: a wrong quote is refused here.
SIM_FEE = 200_000  # rials: the operator's own charge for a new SIM card

OPEN_REPLACEMENT_ON = "09351112233"  # a replacement already open: the refusal example


def sample_lines() -> dict[str, Any]:
    """The operator's lines."""
    text = resources.files("pishkhan_telecom").joinpath("sample_lines.json").read_text()
    return json.loads(text)


class Operator:
    """The operator's books."""

    def __init__(self) -> None:
        lines = sample_lines()
        self.mobiles: dict[str, str] = lines["mobiles"]
        self.landlines: dict[str, dict[str, Any]] = lines["landlines"]
        self.reset()

    def reset(self) -> None:
        self.replacements: dict[str, dict[str, Any]] = {
            "sales-office-0001": {  # made at the operator's own sales office before the sample day
                "mobile": OPEN_REPLACEMENT_ON,
                "request_no": "SIM0000000",
                "mobile_tail": OPEN_REPLACEMENT_ON[-4:],
                "iccid_tail": "0000",
                "status": "done",
            }
        }
        self.outbox: list[dict[str, str]] = []
        self.calls: dict[str, int] = {"debt": 0, "replace": 0, "status": 0, "owner": 0, "sms": 0}

    def landline_debt(self, body: dict, query: dict, number: str) -> dict[str, Any]:
        self.calls["debt"] += 1
        line = self.landlines.get(number)
        if line is None:
            raise JsonError(404, "NOT_FOUND", "no such landline")
        return {"number": number, **line}

    def replace_sim(self, body: dict, query: dict, mobile: str) -> dict[str, Any]:
        self.calls["replace"] += 1
        owner = self.mobiles.get(mobile)
        if owner is None:
            raise JsonError(404, "NOT_FOUND", "no such mobile line")
        if body.get("national_code") != owner:
            raise JsonError(403, "NOT_OWNER", "the line is registered to someone else")
        if body.get("fee") != SIM_FEE:
            raise JsonError(409, "FEE_MISMATCH", "the fee does not match the operator's charge")
        tracking_id = body.get("tracking_id")
        if not tracking_id:
            raise JsonError(400, "INVALID_REQUEST", "tracking_id is required")
        if any(r["mobile"] == mobile for r in self.replacements.values()):
            raise JsonError(409, "ALREADY_REQUESTED", "a replacement is already open")
        number = len(self.replacements) + 1
        self.replacements[tracking_id] = {
            "mobile": mobile,
            "request_no": f"SIM{number:07d}",
            "mobile_tail": mobile[-4:],
            "iccid_tail": f"{(number * 7919) % 10000:04d}",
            "status": "done",
        }
        return self._public(self.replacements[tracking_id])

    def replacement_status(self, body: dict, query: dict, tracking_id: str) -> dict[str, Any]:
        self.calls["status"] += 1
        replacement = self.replacements.get(tracking_id)
        if replacement is None:
            raise JsonError(404, "NOT_FOUND", "no replacement with this tracking id")
        return self._public(replacement)

    @staticmethod
    def _public(replacement: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in replacement.items() if k != "mobile"}

    def check_ownership(self, body: dict, query: dict) -> dict[str, Any]:
        self.calls["owner"] += 1
        mobile, code = body.get("mobile"), body.get("national_code")
        if not isinstance(mobile, str) or not isinstance(code, str):
            raise JsonError(400, "INVALID_REQUEST", "mobile and national_code are required")
        return {"owned": self.mobiles.get(mobile) == code}

    def send_sms(self, body: dict, query: dict) -> dict[str, Any]:
        self.calls["sms"] += 1
        mobile, text = body.get("mobile"), body.get("text")
        if not isinstance(mobile, str) or not isinstance(text, str) or len(text) > 300:
            raise JsonError(400, "INVALID_REQUEST", "mobile and text (≤ 300) are required")
        message_id = f"SMS{len(self.outbox) + 1:07d}"
        self.outbox.append({"message_id": message_id, "mobile": mobile, "text": text})
        return {"message_id": message_id}

    def state(self) -> dict[str, Any]:
        return {"replacements": self.replacements, "outbox": self.outbox, "calls": self.calls}


def create_sandbox() -> JsonSandbox:
    """A fresh telecom sandbox (WSGI app)."""
    operator = Operator()
    return JsonSandbox(
        openapi=OPENAPI,
        routes={
            "GET /v1/landlines/<number>/debt": operator.landline_debt,
            "POST /v1/mobiles/<mobile>/sim-replacements": operator.replace_sim,
            "GET /v1/sim-replacements/<tracking_id>": operator.replacement_status,
            "POST /v1/ownership-checks": operator.check_ownership,
            "POST /v1/sms": operator.send_sms,
        },
        state=operator.state,
        reset=operator.reset,
    )
