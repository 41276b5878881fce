"""What a supervisor, an agency or an office writes into the record, checked the one way: free
text (personal data redacted before it reaches the log), money in whole rials, lists of evidence
ids, and that the evidence named is really the office's own. The API has validated the shape by
then (``web/operations.py``); these hold for every other caller — the console's forms — too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.ids import MAX_INDEX as MAX_BIGINT
from pishkhan_gateway.logs import redact_text

MAX_EVIDENCE = 100


def text(value: Any, field: str, low: int = 3, high: int = 2000) -> str:
    """``value`` as free text of ``low``-``high`` characters, redacted."""
    text = redact_text(str(value or "").strip())  # free text: no personal data into the log
    if not low <= len(text) <= high:
        raise InvalidRequest(f"{field}: {low}-{high} characters", field=field)
    return text


def amount(value: Any, field: str, high: int = MAX_BIGINT) -> int:
    """``value`` as whole rials from 0 to ``high``."""
    if type(value) is not int or not 0 <= value <= high:  # money never floats; bool is no int
        raise InvalidRequest(f"{field}: a whole number from 0 to {high}", field=field)
    return value


def ids(value: Any, field: str) -> list[str]:
    """``value`` as a sorted list of at most ``MAX_EVIDENCE`` distinct ids (None: none)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_EVIDENCE:
        raise InvalidRequest(f"{field}: a list of at most {MAX_EVIDENCE} ids", field=field)
    if not all(isinstance(item, str) and 0 < len(item) <= 64 for item in value):
        raise InvalidRequest(f"{field}: ids are strings", field=field)
    return sorted(set(value))


def must_exist(
    session: Any, table: Any, wanted: list[str], field: str, why: str, *where: Any
) -> None:
    """``InvalidRequest`` naming the ids of ``wanted`` that no row of ``table`` matching
    ``where`` has (evidence must be this office's own)."""
    if not wanted:
        return
    found = set(session.scalars(select(table.id).where(table.id.in_(wanted), *where)))
    missing = [item for item in wanted if item not in found]
    if missing:
        raise InvalidRequest(f"{why}: {', '.join(missing[:5])}", field=field)
