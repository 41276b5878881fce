"""Step 2: the request body, parsed once into a frozen, typed ``TransactionRequest``.

Every later step reads typed fields (``request.params``, ``request.citizen.birth_date``), never
the raw JSON. The body is checked against ``transaction-request.schema.json`` (the public
contract), nested no deeper than ``MAX_DEPTH`` and its money is integer rials, never a float.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785

from pishkhan_gateway.crypto.signing import canonical
from pishkhan_gateway.errors import InvalidRequest, UnsupportedMediaType
from pishkhan_gateway.schemas import first_error, validator

MAX_DEPTH = 16  # the request schema needs 4; validators and canonical JSON recurse


@dataclass(frozen=True)
class Submission:
    """What the HTTP layer hands over: the headers that matter and the raw body."""

    authorization: str | None
    operator: str | None
    idempotency_key: str | None
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class Reply:
    """What the HTTP layer sends back."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    transaction_id: str | None = None


@dataclass(frozen=True)
class CitizenInput:
    """The citizen as the counter typed them in (unverified; ``identity`` decides)."""

    national_code: str | None = None
    birth_date: str | None = None
    mobile: str | None = None
    otp: str | None = None

    @classmethod
    def from_json(cls, value: Any) -> CitizenInput:
        """From the body's ``citizen`` object (already schema-checked: strings or absent)."""
        given = value if isinstance(value, dict) else {}
        return cls(
            national_code=given.get("national_code"),
            birth_date=given.get("birth_date"),
            mobile=given.get("mobile"),
            otp=given.get("otp"),
        )


@dataclass(frozen=True)
class TransactionRequest:
    """A well-formed ``POST /v1/transactions`` body. ``digest`` identifies it for its
    Idempotency-Key: the SHA-256 of its canonical JSON (key order and spacing do not matter)."""

    service: str
    citizen: CitizenInput
    params: Mapping[str, Any]
    office_fee: int
    digest: str


def parse_json(content_type: str | None, raw: bytes, schema: str) -> dict[str, Any]:
    """A JSON object body, valid against the gateway's schema ``schema``, or ``InvalidRequest``
    (``UnsupportedMediaType`` when it is not sent as JSON)."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime != "application/json":
        raise UnsupportedMediaType(f"Content-Type is {mime or 'missing'}; send application/json")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # ValueError includes integers of thousands of digits (Python refuses to parse them)
        raise InvalidRequest("the body is not valid JSON") from None
    check_json(body)
    error = first_error(validator(schema), body)
    if error is not None:
        where, message = error
        raise InvalidRequest(f"{where}: {message}", field=where)
    return body


def parse_request(content_type: str | None, raw: bytes) -> TransactionRequest:
    """The typed request, or ``InvalidRequest`` / ``UnsupportedMediaType``."""
    body = parse_json(content_type, raw, "transaction-request")
    fee = body.get("office_fee", 0)
    if type(fee) is not int:  # JSON Schema's "integer" admits 40000.0; money is never a float
        raise InvalidRequest("office_fee must be an integer number of rials", field="office_fee")
    return TransactionRequest(
        service=body["service"],
        citizen=CitizenInput.from_json(body.get("citizen")),
        params=body.get("params", {}),  # a plain dict: JSON Schema's "object" is a dict
        office_fee=fee,
        digest=body_digest(body),
    )


def body_digest(body: Any) -> str:
    """SHA-256 of the body's canonical JSON (RFC 8785: key order and spacing do not matter).
    A body RFC 8785 cannot write (an integer past 2^53, a lone surrogate) is still told apart,
    by its sorted ASCII JSON: a digest never fails."""
    try:
        return hashlib.sha256(canonical(body)).hexdigest()
    except (ValueError, TypeError, UnicodeError, OverflowError, rfc8785.CanonicalizationError):
        text = json.dumps(body, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(b"ascii:" + text.encode()).hexdigest()


def check_json(value: Any) -> Any:
    """Refuse (``InvalidRequest``) a decoded JSON value nested deeper than ``MAX_DEPTH`` or
    holding a string that is not text every store can keep: a lone surrogate (``"\\udfff"``,
    which JSON allows and UTF-8 cannot encode: every later step that hashes, signs or stores it
    would fail) or a NUL character (which PostgreSQL's text cannot hold, and no service, id or
    sentence needs). The field is named as a path (``citizen/national_code``, ``items/0``).
    Every JSON body and form the gateway reads passes here; returns ``value``."""
    if too_deep(value, MAX_DEPTH):
        raise InvalidRequest(f"the body is nested more than {MAX_DEPTH} levels deep")
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            strings: list[tuple[str, str]] = [(item, where)]
        elif isinstance(item, dict):
            strings = [(key, where) for key in item]
            stack.extend((v, f"{where}/{k}" if where else str(k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}/{i}" if where else str(i)) for i, v in enumerate(item))
            continue
        else:
            continue
        for text, named in strings:
            unfit = _unfit(text)
            if unfit:
                raise InvalidRequest(f"a string in the body {unfit}", field=named or None)
    return value


def _unfit(text: str) -> str | None:
    """Why ``text`` cannot be stored as it is, or None."""
    if "\x00" in text:
        return "holds a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None


def check_text(values: Iterable[tuple[str, str]]) -> None:
    """The same for a request's path and query values, ``(name, value)`` pairs (a repeated
    query parameter once per value), each named by its parameter."""
    for name, text in values:
        unfit = _unfit(text)
        if unfit:
            raise InvalidRequest(f"{name} {unfit}", field=name)


def too_deep(value: Any, limit: int) -> bool:
    """Is ``value`` nested deeper than ``limit``? (Iterative: the check itself cannot blow the
    stack.)"""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return False
