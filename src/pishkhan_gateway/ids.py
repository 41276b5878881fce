"""Iranian identifiers as people type them: national codes and mobile numbers, normalised to
ASCII digits (Persian and Arabic-Indic digits accepted) and checked, or refused with their code."""

from __future__ import annotations

import re
from typing import Any

from pishkhan_gateway.errors import InvalidNationalCode, InvalidRequest
from pishkhan_gateway.jalali import ascii_digits

_MOBILE = re.compile(r"^(?:\+98|0098|0)?(9\d{9})$")


def is_valid_national_code(code: str) -> bool:
    """10 digits, not all the same, last digit the mod-11 check over the first nine."""
    if len(code) != 10 or not code.isascii() or not code.isdigit() or len(set(code)) == 1:
        return False
    remainder = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    check = int(code[9])
    return check == remainder if remainder < 2 else check == 11 - remainder


def normalise_national_code(raw: Any) -> str:
    """A valid national code as 10 ASCII digits, or ``InvalidNationalCode``."""
    if not isinstance(raw, str):
        raise InvalidNationalCode("national_code must be a string of 10 digits")
    code = ascii_digits(raw.strip()).replace("-", "")
    if not is_valid_national_code(code):
        raise InvalidNationalCode("national_code fails its check digit or is not 10 digits")
    return code


def normalise_mobile(raw: Any) -> str:
    """An Iranian mobile number as ``09xxxxxxxxx``, or ``InvalidRequest``."""
    match = _MOBILE.match(ascii_digits(str(raw)).replace(" ", "")) if raw else None
    if not match:
        raise InvalidRequest("citizen.mobile is not an Iranian mobile number", field="mobile")
    return "0" + match.group(1)


MAX_INDEX = 2**63 - 1  # what a BIGINT column holds (SQLite's INTEGER, PostgreSQL's bigint)


def index(raw: Any, field: str, *, maximum: int = MAX_INDEX) -> int:
    """A typed non-negative integer (a log index, a tree size, a cursor, a page size): ASCII,
    Persian or Arabic-Indic digits, at most ``maximum``; else ``InvalidRequest`` naming the
    field. (``str.isdigit`` alone admits "²", which ``int`` refuses, and numbers past what the
    database holds.)"""
    text = ascii_digits(raw.strip()) if isinstance(raw, str) else ""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        raise InvalidRequest(f"{field} must be a non-negative integer", field=field)
    value = int(text)
    if value > maximum:
        raise InvalidRequest(f"{field} must be at most {maximum}", field=field)
    return value
