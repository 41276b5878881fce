"""The JSON Schema pieces the operations share, defined once (``/openapi.json`` names each of
them under ``components/schemas`` and refers to it wherever an operation uses it).

Strings are bounded and free of NUL and other control characters where a person types them;
money is integer rials; dates are Jalali (``1404-01-15``) unless a field says ISO is accepted.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

Schema = dict[str, Any]


def contract(name: str) -> Schema:
    """One of the gateway's published contracts (``schemas/<name>.schema.json``), as a piece."""
    text = resources.files("pishkhan_gateway").joinpath(f"schemas/{name}.schema.json").read_text()
    schema = json.loads(text)
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return dict(schema)


def text(minimum: int = 1, maximum: int = 2000, **more: Any) -> Schema:
    """Free text a person writes (no NUL or other C0 control except tab and newlines)."""
    return {
        "type": "string",
        "minLength": minimum,
        "maxLength": maximum,
        "pattern": r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]*$",
        **more,
    }


def obj(properties: dict[str, Any], *required: str, extra: bool = False, **more: Any) -> Schema:
    """An object with ``properties``, ``required`` ones, and no others unless ``extra``."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if not extra:
        schema["additionalProperties"] = False
    schema.update(more)
    return schema


def array(items: Schema, maximum: int = 100, **more: Any) -> Schema:
    return {"type": "array", "items": items, "maxItems": maximum, **more}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def page_of(key: str, item: Schema) -> Schema:
    """A page of ``key`` items, with the cursor of the next page (null on the last)."""
    return obj({key: array(item, 10_000), "next_cursor": nullable(CURSOR)}, key, extra=True)


JALALI_DATE: Schema = {
    "title": "JalaliDate",
    "type": "string",
    "description": "A Jalali date, YYYY-MM-DD (Persian digits accepted)",
    "pattern": r"^[0-9۰-۹]{4}[-/][0-9۰-۹]{1,2}[-/][0-9۰-۹]{1,2}$",
    "examples": ["1404-07-01"],
}
MOMENT: Schema = {
    "title": "Moment",
    "type": "string",
    "description": "A Jalali date (YYYY-MM-DD) or an ISO 8601 date or time",
    "minLength": 8,
    "maxLength": 40,
    "examples": ["1404-07-01", "2025-09-23T10:00:00+03:30"],
}
OFFICE_ID: Schema = {
    "title": "OfficeId",
    "type": "string",
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "examples": ["THR-0001"],
}
TRANSACTION_ID: Schema = {
    "title": "TransactionId",
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "examples": ["01JC7Q1Z8W4X5Y6Z7A8B9C0D1E"],
}
SERVICE_ID: Schema = {
    "title": "ServiceId",
    "type": "string",
    "pattern": r"^[a-z0-9_]+(\.[a-z0-9_-]+)+$",
    "maxLength": 128,
    "examples": ["postbank.bill.pay"],
}
REASON: Schema = {"title": "Reason", **text(3, 2000), "description": "Why, for the record"}
RIALS: Schema = {
    "title": "Rials",
    "type": "integer",
    "minimum": 0,
    "maximum": 10**15,
    "description": "integer rials (never a float)",
}
NATIONAL_CODE: Schema = {
    "title": "NationalCode",
    "type": "string",
    "pattern": r"^[0-9۰-۹]{10}$",
    "description": "A ten-digit national code (never stored or logged in plain text)",
    "examples": ["0012345679"],
}
MOBILE: Schema = {
    "title": "Mobile",
    "type": "string",
    "pattern": r"^(\+98|0098|0)?9[0-9]{9}$",
    "examples": ["09121234567"],
}
CURSOR: Schema = {"title": "Cursor", "type": "string", "minLength": 1, "maxLength": 200}
PROVINCE: Schema = {"title": "Province", "type": "string", "minLength": 1, "maxLength": 80}
TARIFF_SCOPE: Schema = {
    "title": "TariffScope",
    "type": "string",
    "pattern": r"^(national|province:[A-Za-z][A-Za-z .'-]{1,60})$",
    "examples": ["national", "province:Tehran"],
}
TIME: Schema = {
    "title": "Time",
    "type": "string",
    "pattern": r"^[0-9۰-۹]{1,2}:[0-9۰-۹]{2}$",
    "examples": ["08:00"],
}
LOG_INDEX: Schema = {"title": "LogIndex", "type": "integer", "minimum": 0}
SEARCH_QUERY: dict[str, Schema] = {
    "office": OFFICE_ID,
    "agency": {"type": "string", "maxLength": 64},
    "service": {"type": "string", "maxLength": 128},
    "outcome": {"enum": ["succeeded", "refused", "failed", "unknown"]},
    "code": {"type": "string", "maxLength": 64},
    "from": MOMENT,
    "to": MOMENT,
    "national_code": NATIONAL_CODE,
    "citizen": {"type": "string", "maxLength": 200, "description": "a citizen's pseudonym"},
}
RECEIPT: Schema = {
    "title": "Receipt",
    "type": "object",
    "description": "Ed25519 over RFC 8785 canonical JSON of the receipt without `signature`; "
    "verify with GET /v1/audit/public-key",
    "required": ["transaction_id", "signature"],
    "properties": {
        "transaction_id": TRANSACTION_ID,
        "total": RIALS,
        "log_index": LOG_INDEX,
        "key_id": {"type": "string"},
        "signature": {"type": "string"},
    },
}
TRANSACTION: Schema = {
    "title": "Transaction",
    "type": "object",
    "required": ["transaction_id"],
    "properties": {
        "transaction_id": TRANSACTION_ID,
        "status": {"type": "string"},
        "service": {"type": ["string", "null"]},
        "result": {"type": ["object", "null"]},
        "agency_reference": {"type": ["string", "null"]},
        "agency_amount": {"anyOf": [RIALS, {"type": "null"}]},
        "office_fee": {"anyOf": [RIALS, {"type": "null"}]},
        "total": {"anyOf": [RIALS, {"type": "null"}]},
        "fee_cap": {"anyOf": [RIALS, {"type": "null"}]},
        "priced_by": {
            "enum": ["regulator", "province", "law", "unpriced", None],
            "description": "whose word the cap is: law means the agency's amount is the "
            "whole fee, set by law, and the office adds nothing",
        },
        "log_index": {"anyOf": [LOG_INDEX, {"type": "null"}]},
        "receipt": {"anyOf": [RECEIPT, {"type": "null"}]},
    },
}
INCLUSION_PROOF: Schema = {
    "title": "InclusionProof",
    "type": "object",
    "properties": {
        "index": LOG_INDEX,
        "leaf_index": LOG_INDEX,
        "tree_size": {"type": "integer"},
        "audit_path": array({"type": "string"}, 64),
    },
}
ANY_OBJECT: Schema = {"type": "object"}

NAMED: tuple[Schema, ...] = (
    JALALI_DATE,
    MOMENT,
    OFFICE_ID,
    TRANSACTION_ID,
    SERVICE_ID,
    REASON,
    RIALS,
    NATIONAL_CODE,
    MOBILE,
    CURSOR,
    PROVINCE,
    TARIFF_SCOPE,
    TIME,
    LOG_INDEX,
    RECEIPT,
    TRANSACTION,
    INCLUSION_PROOF,
)
