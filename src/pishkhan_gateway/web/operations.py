"""One declaration per HTTP operation, and the one path every request takes through it.

``@operation(bp, "POST", "/v1/reports", audience=supervisors("agency"), body=…, response=…)``
declares, beside the handler, everything about an operation that is not its domain logic:

- who may call it (``audience``: ``PUBLIC``, ``OFFICE``, ``supervisors(*roles)``, or an office
  or supervisors together), with the roles taken from ``regulation/authority.py`` where an
  authority action is named;
- its request body (a JSON Schema, draft 2020-12 like the counter's contract and every plugin's
  ``params``), query parameters (a schema each) and required headers;
- its success status and response schema, and the problem codes it may answer.

The wrapper the decorator registers is the only way into the handler: it authenticates
(401), checks the caller's kind and role (403), parses the body (415 when it is not JSON, 400
when it is broken), validates body and query against their schemas (400 naming the field) and
hands the handler one frozen ``Call``. Handlers and domain code decide none of that again.
``openapi.py`` writes ``/openapi.json`` from the same declarations.

With ``CHECK_RESPONSES`` set (the tests set it), every JSON success answer is also checked
against its declared schema, so a handler and its documentation cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from flask import Blueprint, Response, current_app, request

from pishkhan_gateway.errors import (
    Forbidden,
    GatewayError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    TooManyFailures,
    Unauthorized,
    UnsupportedMediaType,
)
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.jalali import ascii_digits
from pishkhan_gateway.pipeline.request import check_json, check_text
from pishkhan_gateway.records.reads import log_access
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation.authority import AUTHORITY, ROLES, authorise
from pishkhan_gateway.schemas import Checker, first_error
from pishkhan_gateway.web import denials
from pishkhan_gateway.web.current import gateway
from pishkhan_gateway.web.problem import json_response

JSON = "application/json"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Audience:
    """Who may call an operation: anyone (``public``), an office, and/or supervisors of
    ``roles`` (all four when empty)."""

    public: bool = False
    office: bool = False
    supervisor: bool = False
    roles: tuple[str, ...] = ()
    authority: str | None = None  # the authority table's action, when roles come from it

    def security(self) -> list[dict[str, list[str]]]:
        """The OpenAPI security requirements (roles named, as OpenAPI 3.1 allows for http)."""
        if self.public:
            return []
        out: list[dict[str, list[str]]] = []
        if self.office:
            out.append({"officeCredential": []})
        if self.supervisor:
            out.append({"supervisorCredential": list(self.roles or ROLES)})
        return out


PUBLIC = Audience(public=True)
OFFICE = Audience(office=True)


def supervisors_of(*roles: str, authority: str | None = None) -> Audience:
    """Supervisors of ``roles`` (or of the roles the authority table gives ``authority``)."""
    if authority is not None:
        roles = AUTHORITY[authority][0]
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Audience(supervisor=True, roles=tuple(roles), authority=authority)


SUPERVISORS = supervisors_of()
OFFICE_OR_SUPERVISORS = Audience(office=True, supervisor=True)
# an office's record is its own and its overseers' (an agency reports; it does not read records)
OFFICE_OR_OVERSEERS = Audience(
    office=True, supervisor=True, roles=("regulator", "region", "province")
)


@dataclass(frozen=True)
class Header:
    """A request header an operation reads."""

    name: str
    description: str
    required: bool = False
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string", "maxLength": 255})


@dataclass(frozen=True)
class Operation:
    """The declaration of one HTTP operation (see the module's docstring)."""

    method: str
    rule: str
    summary: str
    audience: Audience
    operation_id: str
    tags: tuple[str, ...]
    body: Mapping[str, Any] | None = None
    path: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # default: short strings
    query: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    required_query: tuple[str, ...] = ()
    headers: tuple[Header, ...] = ()
    status: int = 200
    response: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    problems: tuple[type[GatewayError], ...] = ()
    example: Mapping[str, Any] | None = None
    description: str = ""
    forms: bool = False  # also takes an HTML form (the QR page's rating form)
    raw: bool = False  # the handler's pipeline step parses the body itself (``Call.raw``)
    pipeline: bool = False  # the pipeline also authenticates, and records every refusal
    other_content: Mapping[str, str] = field(default_factory=dict)  # media type -> when
    responses: Mapping[int, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)  # path values this rule fixes

    def all_problems(self) -> tuple[type[GatewayError], ...]:
        """The problems this operation may answer: its own, and those of the one path."""
        found: list[type[GatewayError]] = []
        if self.body is not None or self.query:
            found.append(InvalidRequest)
        if self.body is not None and not (self.raw or self.pipeline):
            found += [UnsupportedMediaType, PayloadTooLarge]
        if not self.audience.public:
            found += [Unauthorized, TooManyFailures]
            if self.audience.roles or not (self.audience.office and self.audience.supervisor):
                found.append(Forbidden)
        found += [p for p in self.problems if p not in found]
        return tuple(found)

    def body_checker(self) -> Checker | None:
        return _checker(self, "body")

    def query_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": dict(self.query),
            "required": list(self.required_query),
        }

    def path_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": dict(self.path)}


@dataclass(frozen=True)
class Call:
    """What the one path hands a handler: who called, and the request's validated parts."""

    gateway: Gateway
    operation: Operation
    path: Mapping[str, str]
    query: Mapping[str, Any]
    body: Mapping[str, Any]
    office: offices.OfficeView | None = None
    caller: Scope | None = None  # a supervisor (its access is logged by ``supervisor``)
    form: bool = False
    raw: bytes = b""

    def supervisor(self, action: str, **details: Any) -> Scope:
        """The supervisor's scope, its access logged (``action`` and ``details``) before
        anything is read or changed."""
        if self.caller is None:
            raise Forbidden("this needs a supervisor's credential")
        log_access(self.gateway.store, self.caller, action, details)
        return self.caller

    def the_office(self) -> offices.OfficeView:
        if self.office is None:
            raise Forbidden("this needs an office's credential")
        return self.office

    def header(self, name: str) -> str | None:
        return request.headers.get(name)


Handler = Callable[[Call], Any]
_CHECKERS: dict[tuple[int, str], Checker] = {}


def _checker(op: Operation, part: str) -> Checker | None:
    key = (id(op), part)
    if key not in _CHECKERS:
        schema = {
            "body": op.body,
            "query": op.query_schema(),
            "path": op.path_schema(),
            "response": op.response,
        }[part]
        if schema is None:
            return None
        _CHECKERS[key] = Checker(json.loads(json.dumps(schema)))
    return _CHECKERS[key]


def operations_of(view: Any) -> Operation | None:
    """The declaration behind a registered view function (None for an undeclared one)."""
    return getattr(view, "operation", None)


def operation(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    summary: str,
    audience: Audience,
    tags: tuple[str, ...],
    name: str | None = None,
    **declared: Any,
) -> Callable[[Handler], Handler]:
    """Declare an operation and register its one path on ``bp`` (stackable: one handler may
    serve several declared operations, e.g. ``suspend`` and ``revoke`` with their own roles,
    each fixing a path value through ``fixed``)."""

    def register(handler: Handler) -> Handler:
        endpoint = name or handler.__name__
        op = Operation(
            method=method,
            rule=rule,
            summary=summary,
            audience=audience,
            operation_id=endpoint,
            tags=tags,
            description=(handler.__doc__ or "").strip() if "description" not in declared else "",
            **declared,
        )

        def view(**path: str) -> Response:
            return _one_path(op, handler, path)

        view.operation = op  # type: ignore[attr-defined]
        for mark in ("own_record_lookup", "records_itself"):
            if getattr(handler, mark, False):
                setattr(view, mark, True)
        view.__name__ = endpoint
        view.__doc__ = handler.__doc__
        options: dict[str, Any] = {"defaults": dict(op.fixed)} if op.fixed else {}
        bp.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=[method], **options)
        return handler

    return register


# -- the one path --------------------------------------------------------------------------------


def _one_path(op: Operation, handler: Handler, path: dict[str, str]) -> Response:
    gw = gateway()
    if op.pipeline:
        return _answer(op, handler(Call(gw, op, MappingProxyType(path), _EMPTY, _EMPTY)))
    office, caller = _authenticate(gw, op.audience)
    check_text(path.items())
    check_text(request.args.items(multi=True))
    if op.path:
        _validate(_checker(op, "path"), path)
    query = _query(op)
    if op.raw:
        raw = request.get_data(cache=False)
        call = Call(gw, op, MappingProxyType(path), query, _EMPTY, office, caller, raw=raw)
    else:
        body, form = _body(op)
        call = Call(gw, op, MappingProxyType(path), query, body, office, caller, form)
    return _answer(op, handler(call))


_EMPTY: Mapping[str, Any] = MappingProxyType({})
JSON_SAFE = 2**53 - 1  # the largest integer every JSON reader (and every column) holds exactly


def _authenticate(
    gw: Gateway, audience: Audience
) -> tuple[offices.OfficeView | None, Scope | None]:
    """The caller, as the audience admits it: 401 without a valid credential of an admitted
    kind, 403 for a supervisor whose role is not admitted."""
    if audience.public:
        return None, None
    header = request.headers.get("Authorization")
    token = (header or "").split(" ", 1)[-1].strip().lower()
    is_office = token.startswith(offices.CREDENTIAL_PREFIX + "_")
    if audience.office and (is_office or not audience.supervisor):
        office = offices.authenticate(gw.store, header)
        denials.set_actor(office=office.id)
        return office, None
    scope = supervisors.authenticate(gw.store, header)
    denials.set_actor(supervisor=scope.supervisor_id)
    if audience.authority is not None:
        authorise(scope, audience.authority)  # its refusal says who may, and what to do instead
    elif audience.roles and scope.role not in audience.roles:
        who = " or ".join(audience.roles)
        raise Forbidden(f"only the {who} may do this (you are {scope.label})")
    return None, scope


def _query(op: Operation) -> Mapping[str, Any]:
    """The declared query parameters, typed by their schemas (an integer's digits may be
    Persian), validated; undeclared ones are ignored."""
    values: dict[str, Any] = {}
    for name, schema in op.query.items():
        raw = request.args.get(name)
        if raw is None:
            continue
        values[name] = _typed(raw, schema)
    if op.query:
        _validate(_checker(op, "query"), values)
    return MappingProxyType(values)


def _typed(raw: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        text = ascii_digits(raw.strip())
        digits = text[1:] if text.startswith("-") else text
        if digits.isascii() and digits.isdigit() and abs(int(text)) <= JSON_SAFE:
            return int(text)  # past 2**53 it stays text, and the schema refuses it
    elif kind == "boolean":
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    return raw


def _body(op: Operation) -> tuple[Mapping[str, Any], bool]:
    """The body as a frozen, validated JSON object ({} when none was sent)."""
    if op.body is None:
        return _EMPTY, False
    mime = (request.mimetype or "").lower()
    if op.forms and mime in FORMS:
        # a person's form: every field a string, checked by the domain, whose refusal the
        # handler answers as a page rather than a problem document
        return MappingProxyType(check_json(request.form.to_dict())), True
    raw = request.get_data(cache=True)
    if not raw.strip():
        body: Any = {}
    elif mime != JSON and not (mime.startswith("application/") and mime.endswith("+json")):
        raise UnsupportedMediaType(f"Content-Type is {mime or 'missing'}; send {JSON}")
    else:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InvalidRequest("the body is not valid JSON") from None
        check_json(body)
    _validate(op.body_checker(), body)
    return MappingProxyType(body), False


def _validate(checker: Checker | None, value: Any) -> None:
    if checker is None:
        return
    error = first_error(checker, value)
    if error is not None:
        where, message = error
        raise InvalidRequest(f"{where}: {message}", field=where)


def _answer(op: Operation, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status = op.status
    if isinstance(result, tuple):
        result, status = result
    if current_app.config.get("CHECK_RESPONSES") and 200 <= status < 300:
        error = first_error(_checker(op, "response"), result)  # type: ignore[arg-type]
        if error is not None:
            raise AssertionError(f"{op.operation_id} answered off its schema: {error}")
    return json_response(result, status)


def not_theirs(office: offices.OfficeView, office_id: str) -> None:
    """``NotFound`` when an office asks about an office that is not itself."""
    if office.id != office_id:
        raise NotFound(f"no office {office_id}")
