"""The API fuzzed from its own published document (schemathesis, a fixed budget), on SQLite and
PostgreSQL: every operation, with a credential its declaration admits, never answers 500, and
every answer is what the document says — a declared status, content type, headers and schema."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import given, settings
from schemathesis.specs.openapi import checks

from conftest import OPERATOR
from test_hostile_input import FUZZ

# 25 cases an operation in make test (87 operations, two databases, every answer checked against
# the document); make fuzz: 1,000
API_FUZZ = settings(FUZZ, max_examples=int(os.environ.get("PISHKHAN_FUZZ_EXAMPLES", "25")))

CONFORMANCE = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def test_the_api_never_answers_500(app, counter, gw):
    """Every operation in /openapi.json (every ``/v1`` route is declared), 25 generated cases
    each (``make fuzz``: 1,000), a fixed, derandomized budget: no 500, every refusal a problem
    document, and every answer conforming to the document. Each operation is called with a
    credential its declaration admits (a regulator's for a supervisors' one, an office's for an
    office's, either for one both may call). (Driven through ``as_strategy`` rather than
    ``schemathesis.pytest``, whose lazy fixtures do not run on pytest 9.)"""
    from pishkhan_gateway.registry import supervisors
    from pishkhan_gateway.web.openapi import declared

    supervisors.add(gw.store, "fuzz-regulator", "regulator", None)
    regulator = supervisors.issue_key(gw.store, "fuzz-regulator")
    api = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/v1/")]
    assert len(operations) >= sum(len(r.methods - {"HEAD", "OPTIONS"}) for r in rules)
    declarations = {(path, op.method): op for path, op in declared(app)}
    for operation in operations:
        declaration = declarations[(operation.path, operation.method.upper())]
        audience = declaration.audience

        @API_FUZZ
        @given(case=operation.as_strategy())
        def check(case):
            as_supervisor = audience.supervisor and not (
                audience.office and len(str(case.body)) % 2
            )
            key = regulator if as_supervisor else counter.credential
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
            if "X-Operator" in case.headers and len(str(case.body)) % 2:
                case.headers["X-Operator"] = OPERATOR  # half get past the operator check
            response = case.call()
            assert response.status_code != 500, (case.method, case.path, response.text[:500])
            # and the answer is what the document says: a declared status, its content type,
            # its schema (a success's and a problem's alike)
            case.validate_response(response, checks=CONFORMANCE)
            kind = str({k.lower(): v for k, v in response.headers.items()}["content-type"])
            html = (case.query or {}).get("format") != "json" and case.path.endswith("/check")
            own = response.status_code in declaration.responses  # e.g. the check's "not valid"
            html = (html or declaration.forms) and "text/html" in kind
            if response.status_code >= 400 and not own and not html:
                # (the QR's receipt check and the citizen's form are pages for people: their
                # refusals are HTML)
                assert "application/problem+json" in kind, (
                    case.method,
                    case.path,
                    case.path_parameters,
                    response.status_code,
                    response.text[:200],
                )

        check()
