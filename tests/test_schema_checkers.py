"""The compiled validator (``jsonschema_rs``) and the Python one (``jsonschema``) agree on every
schema the gateway and its plugins ship, so checking requests and results with the fast one
changes no verdict (``schemas.Checker``); and the messages are still the Python ones."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pishkhan_gateway.schemas import Checker, first_error, validator

# Strings shaped like what the schemas constrain: digits of many lengths (ASCII and Persian),
# dates, ids, and the odd ones.
SHAPED = st.one_of(
    st.from_regex(r"\A[0-9]{1,20}\Z"),
    st.from_regex(r"\A[۰-۹]{8,12}\Z"),
    st.from_regex(r"\A1[34][0-9]{2}-[01][0-9]-[0-3][0-9]\Z"),
    st.from_regex(r"\A[a-z]{2,12}(\.[a-z]{2,12}){1,3}\Z"),
    st.sampled_from(["", " ", "09121234567", "0499370899", "lost", "family", "x" * 300]),
    st.text(max_size=30),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), SHAPED)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SHAPED, inner, max_size=4),
    max_leaves=12,
)


def _shipped(gw) -> dict[str, dict]:
    schemas = {}
    for name in ("transaction-request", "tariff-schedule"):
        text = resources.files("pishkhan_gateway").joinpath(f"schemas/{name}.schema.json")
        schemas[name] = json.loads(text.read_text())
    for service_id, registered in gw.plugins.services.items():
        schemas[f"{service_id} params"] = dict(registered.service.params_schema)
        if registered.service.result_schema is not None:
            schemas[f"{service_id} result"] = dict(registered.service.result_schema)
    return schemas


def _instances(schema: dict) -> st.SearchStrategy:
    """Objects with the schema's own property names (and stray ones), or any JSON at all."""
    names = sorted((schema.get("properties") or {}).keys()) or ["x"]
    keys = st.sampled_from([*names, "extra"])
    shaped = st.dictionaries(keys, st.one_of(SCALARS, JSON), max_size=len(names) + 1)
    return st.one_of(shaped, JSON)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_fast_and_the_python_validator_agree_on_every_shipped_schema(gw):
    schemas = _shipped(gw)
    assert len(schemas) >= 11  # the gateway's two and every installed service's
    for name, schema in schemas.items():
        checker = Checker(schema)
        python = jsonschema.Draft202012Validator(schema)

        @settings(
            max_examples=200,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(instance=_instances(schema))
        def agree(instance):
            assert checker.is_valid(instance) == python.is_valid(instance), (name, instance)

        agree()


def test_an_invalid_request_gets_the_python_validators_message():
    checker = validator("transaction-request")
    assert first_error(checker, {"service": "postbank.bill.pay", "params": {}}) is None
    where, message = first_error(checker, {"params": {}})
    assert where == "service" and "'service' is a required property" in message
