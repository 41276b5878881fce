"""The gateway's own JSON Schemas (``contracts/gateway/``), and errors that name their field."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema


@functools.cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """A compiled validator for ``schemas/<name>.schema.json`` shipped with the package."""
    text = resources.files("pishkhan_gateway").joinpath(f"schemas/{name}.schema.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(text))


def first_error(validator: jsonschema.protocols.Validator, instance: Any) -> tuple[str, str] | None:
    """``(field, message)`` of the most relevant error, or None when ``instance`` is valid.

    ``field`` is the JSON path of the offending value (``citizen/national_code``), naming the
    missing or unexpected property itself for ``required`` and ``additionalProperties``.
    """
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [f for f in error.validator_value if f not in error.instance]
        path += missing[:1]
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        path += extra[:1]
    return "/".join(path) or "(body)", error.message
