"""An example body built from a request schema, for operations that declare none.

It takes the schema's own examples, constants, enums and defaults (the shared pieces in
``shapes.py`` carry real ones: a valid national code, a Jalali date), fills only the required
properties, and is kept only if it validates against the schema it came from — an example the
gateway would refuse is worse than none. (No library here builds *minimal valid* instances from
JSON Schema without random data; hypothesis-jsonschema makes random ones, unfit for a document.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pishkhan_gateway.schemas import Checker

_TEXT = "as recorded in the case file"


def example_of(schema: Mapping[str, Any]) -> Any | None:
    """A small valid instance of ``schema``, or None when none could be made."""
    instance = _build(schema)
    if instance is None:
        return None
    return instance if Checker(dict(schema)).is_valid(instance) else None


def _build(schema: Mapping[str, Any]) -> Any | None:
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    for key in ("const", "default", "example"):
        if key in schema:
            return schema[key]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        out = {}
        for name in schema.get("required", []):
            value = _build(properties.get(name, {}))
            if value is None:
                return None
            out[name] = value
        return out
    if kind == "array":
        item = _build(schema.get("items", {}))
        return [item] * schema.get("minItems", 0) if item is not None else None
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", len(_TEXT))
        candidate = (_TEXT * (1 + low // len(_TEXT)))[: max(low, min(high, len(_TEXT)))]
        # free text passes its no-control-characters pattern; an id's pattern needs examples
        return candidate if Checker(dict(schema)).is_valid(candidate) else None
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1) if schema.get("maximum", 1) >= 1 else 0
    if kind == "boolean":
        return True
    return None
