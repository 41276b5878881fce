"""The gateway's own JSON Schemas (``contracts/gateway/``), and errors that name their field."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema
import jsonschema_rs


class Checker:
    """One JSON Schema, two validators: ``jsonschema_rs`` (compiled, Rust) answers whether an
    instance is valid — every request and every plugin result goes through it, and nearly all
    are valid — and only for an invalid one does ``jsonschema`` (Python) pick the most relevant
    error (``best_match``), so messages stay those users know. The two agree on every schema the
    gateway and its plugins ship (``tests/test_schema_checkers.py`` checks them against each
    other); a schema ``jsonschema_rs`` cannot compile is checked by ``jsonschema`` alone."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.python = jsonschema.Draft202012Validator(schema)
        try:
            self._fast: Any = jsonschema_rs.Draft202012Validator(schema)
        except ValueError:  # e.g. a regex Rust cannot compile (its ValidationError is one)
            self._fast = None

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` is valid (compiled when possible)."""
        if self._fast is not None:
            return bool(self._fast.is_valid(instance))
        return bool(self.python.is_valid(instance))

    def best_error(self, instance: Any) -> jsonschema.ValidationError | None:
        """The most relevant error, or None when valid."""
        if self.is_valid(instance):
            return None
        return jsonschema.exceptions.best_match(self.python.iter_errors(instance))


@functools.cache
def validator(name: str) -> Checker:
    """The checker for ``schemas/<name>.schema.json`` shipped with the package."""
    text = resources.files("pishkhan_gateway").joinpath(f"schemas/{name}.schema.json").read_text()
    return Checker(json.loads(text))


def first_error(validator: Checker, instance: Any) -> tuple[str, str] | None:
    """``(field, message)`` of the most relevant error, or None when ``instance`` is valid.

    ``field`` is the JSON path of the offending value (``citizen/national_code``), naming the
    missing or unexpected property itself for ``required`` and ``additionalProperties``.
    """
    error = validator.best_error(instance)
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
