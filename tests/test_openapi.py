"""The published OpenAPI document, held to the code: valid OpenAPI 3.1, every operation described
in full (a real request schema, a success schema, its problems), and each operation's security
exactly who the one path lets in — found by calling every operation with no credential, an
office's, and a supervisor's of each role."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from conftest import pay_body
from pishkhan_gateway.registry import supervisors

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    return client.get("/openapi.json").get_json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def test_the_document_is_valid_openapi_3_1(spec):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    errors = [e.message for e in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert errors == []
    assert spec["openapi"].startswith("3.1")


def test_the_document_names_every_operation_once_and_no_templates_collide(spec):
    ops = operations(spec)
    assert len(ops) >= 80
    ids = [op["operationId"] for _, _, op in ops]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    shapes: dict[tuple[str, str], str] = {}
    for path, method, _ in ops:
        shape = (re.sub(r"\{[^}]+\}", "{}", path), method)
        assert shape not in shapes, f"{path} collides with {shapes[shape]}"
        shapes[shape] = path


def _trivial(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = resolve(spec, schema)
    if any(k in schema for k in ("allOf", "oneOf", "anyOf")):
        return False
    return not schema.get("properties") and not isinstance(schema.get("additionalProperties"), dict)


def test_every_body_has_a_real_schema_and_an_example_it_accepts(app, spec):
    from pishkhan_gateway.schemas import Checker
    from pishkhan_gateway.web.openapi import declared

    declarations = {(path, op.method): op for path, op in declared(app)}
    bodies = 0
    for path, method, op in operations(spec):
        body = op.get("requestBody")
        if body is None:
            assert method != "put", f"{method} {path}: a PUT without its body"
            continue
        bodies += 1
        content = body["content"]
        json_body = content.get("application/json") or content["application/x-www-form-urlencoded"]
        assert not _trivial(spec, json_body["schema"]), f"{method} {path}: a shapeless body"
        if _required(spec, json_body["schema"]):
            assert "example" in json_body, f"{method} {path}: no example"
        if "example" in json_body:
            declared = declarations[(path, method.upper())].body
            assert Checker(json.loads(json.dumps(declared))).is_valid(json_body["example"]), (
                f"{method} {path}: its example is refused by its own schema"
            )
    assert bodies >= 40


def _required(spec: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    schema = resolve(spec, schema)
    return list(schema.get("required", [])) + [
        r for part in schema.get("allOf", []) for r in _required(spec, part)
    ]


def test_every_operation_describes_its_success_and_its_problems(spec):
    for path, method, op in operations(spec):
        responses = op["responses"]
        success = [s for s in responses if s.startswith("2")]
        assert len(success) == 1, (method, path, list(responses))
        content = responses[success[0]].get("content", {})
        assert content, f"{method} {path}: its success is not described"
        for media in content.values():
            if "schema" in media:
                assert resolve(spec, media["schema"]) != {}, (method, path)
        assert "default" in responses
        for status, answer in responses.items():
            if status.startswith(("4", "5")) and "application/problem+json" in answer["content"]:
                schema = answer["content"]["application/problem+json"]["schema"]
                codes = [c for part in schema.get("allOf", []) for c in _codes(part)]
                assert codes, f"{method} {path} {status}: which codes?"
        if op.get("security"):
            assert "401" in responses, f"{method} {path}: a secured operation answers 401"
        if op.get("parameters"):
            for parameter in op["parameters"]:
                assert "schema" in parameter, (method, path, parameter["name"])


def _codes(part: dict[str, Any]) -> list[str]:
    return list(part.get("properties", {}).get("code", {}).get("enum", []))


def test_the_counter_headers_and_statuses_are_declared(spec):
    pay = spec["paths"]["/v1/transactions"]["post"]
    headers = {p["name"]: p.get("required", False) for p in pay["parameters"]}
    assert headers == {"X-Operator": True, "Idempotency-Key": False}
    assert "201" in pay["responses"]
    otp = spec["paths"]["/v1/otp"]["post"]
    assert "202" in otp["responses"]
    assert any(p["name"] == "X-Operator" and p["required"] for p in otp["parameters"])
    # each service's params reachable from the document, by its id
    services = [k for k in spec["components"]["schemas"] if k.startswith("Params.")]
    assert "Params.postbank.bill.pay" in services and len(services) >= 9


# -- security: who the code lets in ------------------------------------------------------------

SUPERVISORS = {  # role -> (id, scope): each in scope of the Tehran office the probes name
    "regulator": ("probe-reg", None),
    "region": ("probe-region", "1"),
    "province": ("probe-province", "Tehran"),
    "agency": ("probe-agency", "postbank"),
}


def _admitted(op: dict[str, Any]) -> tuple[bool, set[str]]:
    """(office admitted, supervisor roles admitted) as the document says; (True, all) if public."""
    security = op.get("security")
    if not security:
        return True, set(SUPERVISORS) | {"public"}
    office = any("officeCredential" in s for s in security)
    roles = {r for s in security for r in s.get("supervisorCredential", [])}
    return office, roles


def _probe_path(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m[1], "probe"), path)


def test_each_operations_security_is_who_the_code_lets_in(client, gw, counter, spec):
    """With a ``{}`` body the one path refuses a caller it does not admit (401 for the wrong kind
    of credential or none, 403 for a role it does not admit) before it reads the body; a caller
    it admits gets past it (here: anything but 401 and a role's 403)."""
    paid = client.post("/v1/transactions", json=pay_body(), headers=counter.headers()).get_json()
    values = {
        "office_id": counter.office_id,
        "transaction_id": paid["transaction_id"],
        "province": "Tehran",
        "agency": "postbank",
    }
    callers: dict[str, dict[str, str]] = {"none": {}, "office": counter.headers()}
    for role, (sid, scope) in SUPERVISORS.items():
        supervisors.add(gw.store, sid, role, scope)
        callers[role] = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, sid)}"}
    wrong: list[str] = []
    for path, method, op in operations(spec):
        if path.startswith("/v1/transactions") and method == "post":
            continue  # the counter endpoint: probed below (a probe there is a transaction)
        office_admitted, roles = _admitted(op)
        url = _probe_path(path, values)
        for who, headers in callers.items():
            body = {} if "requestBody" in op else None
            reply = client.open(url, method=method.upper(), json=body, headers=headers)
            code = (reply.get_json(silent=True) or {}).get("code")
            reply.close()  # an export streams: its generator ends with the request
            public = "public" in roles
            admitted = public or (office_admitted if who == "office" else who in roles)
            role_refused = reply.status_code == 403 and code == "forbidden"
            if admitted and (reply.status_code == 401 or role_refused):
                wrong.append(f"{method} {path}: {who} admitted but refused {reply.status_code}")
            if not admitted:
                expected = 403 if (who in SUPERVISORS and roles) else 401
                if reply.status_code != expected:
                    wrong.append(
                        f"{method} {path}: {who} should get {expected}, got "
                        f"{reply.status_code} {code}"
                    )
    assert not wrong, "\n".join(wrong)


def test_the_counter_endpoint_admits_offices_only(client, gw, counter, spec):
    supervisors.add(gw.store, "probe-reg", "regulator", None)
    regulator = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'probe-reg')}"}
    assert spec["paths"]["/v1/transactions"]["post"]["security"] == [{"officeCredential": []}]
    for headers, status in (({}, 401), (regulator, 401), (counter.headers(), 201)):
        assert client.post("/v1/transactions", json=pay_body(), headers=headers).status_code == (
            status
        )


def _string_fields(client, gw, counter, spec, app):
    """Each declared body's example with each of its top-level string fields named, and the
    headers of a caller the operation admits: ``(method, path, example, name, headers)``."""
    from pishkhan_gateway.web.openapi import declared

    paid = client.post("/v1/transactions", json=pay_body(), headers=counter.headers()).get_json()
    values = {
        "office_id": counter.office_id,
        "transaction_id": paid["transaction_id"],
        "province": "Tehran",
        "agency": "postbank",
    }
    callers: dict[str, dict[str, str]] = {"office": counter.headers()}
    for role, (sid, scope) in SUPERVISORS.items():
        supervisors.add(gw.store, sid, role, scope)
        callers[role] = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, sid)}"}
    for path, op in declared(app):
        if op.body is None or op.raw:
            continue
        example = spec["paths"][path][op.method.lower()]["requestBody"]["content"][
            "application/json"
        ].get("example")
        strings = [
            name
            for name, schema in op.body.get("properties", {}).items()
            if resolve(spec, schema).get("type") == "string" and isinstance(example, dict)
        ]
        office, roles = _admitted(spec["paths"][path][op.method.lower()])
        who = (
            "office"
            if office and "public" not in roles
            else next((r for r in SUPERVISORS if r in roles), None)
        )
        headers = {} if "public" in roles else callers[who]
        for name in strings:
            yield op.method, _probe_path(path, values), example, name, headers


def test_a_list_a_number_or_an_object_where_a_string_belongs_is_400_naming_it(
    client, gw, counter, spec, app
):
    """Every declared body's string fields, each sent as a list, a number and an object in its
    example, by a caller the operation admits: 400 ``invalid_request`` naming that field."""
    checked, wrong = 0, []
    for method, path, example, name, headers in _string_fields(client, gw, counter, spec, app):
        for bad in ([1], 5, {"a": 1}):
            reply = client.open(path, method=method, json={**example, name: bad}, headers=headers)
            answer = reply.get_json(silent=True) or {}
            reply.close()
            checked += 1
            if (reply.status_code, answer.get("field")) != (400, name):
                wrong.append(f"{method} {path} {name}={bad!r}: {reply.status_code} {answer}")
    assert checked >= 100
    assert not wrong, "\n".join(wrong)


def test_a_nul_byte_in_any_string_field_is_refused_or_kept_never_a_500(
    client, gw, counter, spec, app
):
    """PostgreSQL's text holds no NUL, SQLite's does: on both, a NUL byte in any string of any
    body (alone, or inside the example's own value) is either refused as 400 naming the field
    or accepted — never a 500 from the database below."""
    checked, wrong = 0, []
    for method, path, example, name, headers in _string_fields(client, gw, counter, spec, app):
        given = example.get(name)
        for bad in ("\x00", f"{given}\x00" if isinstance(given, str) else "a\x00"):
            reply = client.open(path, method=method, json={**example, name: bad}, headers=headers)
            answer = reply.get_json(silent=True) or {}
            reply.close()
            checked += 1
            if reply.status_code >= 500 or (
                reply.status_code == 400 and answer.get("field") not in (name, None)
            ):
                wrong.append(f"{method} {path} {name}={bad!r}: {reply.status_code} {answer}")
    assert checked >= 60
    assert not wrong, "\n".join(wrong)


def test_a_nul_byte_in_a_path_or_query_value_is_400_naming_it(client, gw):
    """The same for what the URL carries: refused before any query reaches the database."""
    supervisors.add(gw.store, "nul-regulator", "regulator", None)
    headers = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'nul-regulator')}"}
    for url, field in (
        ("/v1/offices/a%00b/record", "office_id"),
        ("/v1/audit/transactions?office=a%00b", "office"),
        ("/v1/audit/offices/office-1/scorecard?service=%00", "service"),
        ("/v1/audit/transactions?office=office-1&office=a%00", "office"),  # a repeated one
    ):
        reply = client.get(url, headers=headers)
        assert reply.status_code == 400, (url, reply.get_data(as_text=True)[:200])
        assert reply.get_json()["field"] == field
