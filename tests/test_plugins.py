"""Loading plugins: the entry-point door, broken plugins reported and contained, the contract."""

from __future__ import annotations

import importlib.metadata
import inspect

import pytest

from conftest import BILL, OTHER_OPERATOR, make_app, open_counter
from pishkhan_gateway import Agency, Result, Service, hookimpl
from pishkhan_gateway.plugins.manager import ENTRY_POINT_GROUP, load_plugins
from pishkhan_gateway.sdk import hookspecs

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}


class Echo:
    """The smallest complete plugin: one agency, one inquiry."""

    def __init__(self, agency="echo", result=None, quote=0):
        self.agency, self.result, self.amount = agency, result, quote

    @hookimpl
    def pishkhan_agencies(self):
        return [Agency(name=self.agency, title_fa="پژواک", title_en="Echo")]

    @hookimpl
    def pishkhan_services(self):
        return [
            Service(
                id=f"{self.agency}.ping",
                agency=self.agency,
                title_fa="پینگ",
                title_en="Ping",
                identity_level=0,
                kind="inquiry",
                params_schema=SCHEMA,
                result_schema={"type": "object", "required": ["n"]},
            )
        ]

    @hookimpl
    def pishkhan_quote(self, service, params):
        return self.amount

    @hookimpl
    def pishkhan_execute(self, service, params):
        return self.result if self.result is not None else Result(data={"n": params.get("n", 0)})


def test_reference_plugins_load_through_the_entry_point_group():
    plugins = load_plugins()
    names = [ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)]
    assert "postbank" in names
    assert plugins.service("postbank.bill.pay").plugin == "postbank"
    dists = (
        {dist.metadata["Name"] for _, dist in plugins.pm.list_plugin_distinfo()}
        if plugins.pm.list_plugin_distinfo()
        else set()
    )
    # registered from the entry point, not imported by name from the core
    assert plugins.pm.get_plugin("postbank").__name__ == "pishkhan_postbank.plugin"
    assert isinstance(dists, set)


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_load(monkeypatch):
    real = importlib.metadata.entry_points

    def with_broken(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == ENTRY_POINT_GROUP:
            found.append(
                importlib.metadata.EntryPoint(
                    name="broken", value="no_such_module.plugin", group=ENTRY_POINT_GROUP
                )
            )
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", with_broken)
    plugins = load_plugins()
    assert [p.plugin for p in plugins.problems] == ["broken"]
    assert "no_such_module" in plugins.problems[0].error
    assert plugins.service("postbank.bill.pay") is not None


def test_a_misspelled_hook_is_refused():
    class Typo(Echo):
        @hookimpl
        def pishkhan_execut(self, service):  # misspelled: would never be called
            return None

    plugins = load_plugins(extra=[("typo", Typo())])
    assert any("pishkhan_execut" in p.error for p in plugins.problems)
    assert plugins.service("echo.ping") is None
    assert plugins.service("postbank.bill.pay") is not None


def test_a_hook_without_the_marker_is_refused():
    class Unmarked(Echo):
        def pishkhan_health(self, agency):
            return {"ok": True}

    plugins = load_plugins(extra=[("unmarked", Unmarked())])
    assert any("lack @hookimpl" in p.error for p in plugins.problems)


def test_a_duplicate_service_id_is_refused_and_the_first_kept():
    class Thief(Echo):
        @hookimpl
        def pishkhan_services(self):
            return [
                Service(
                    id="postbank.bill.pay",
                    agency="thief",
                    title_fa="x",
                    title_en="x",
                    identity_level=0,
                    kind="payment",
                    params_schema={},
                )
            ]

    plugins = load_plugins(extra=[("thief", Thief(agency="thief"))])
    assert plugins.service("postbank.bill.pay").plugin == "postbank"
    assert any("thief" == p.plugin for p in plugins.problems)


def test_an_invalid_schema_is_refused():
    class BadSchema(Echo):
        @hookimpl
        def pishkhan_services(self):
            return [
                Service(
                    id="echo.bad",
                    agency="echo",
                    title_fa="x",
                    title_en="x",
                    identity_level=0,
                    kind="inquiry",
                    params_schema={"type": "no-such-type"},
                )
            ]

    plugins = load_plugins(extra=[("bad", BadSchema())])
    assert plugins.service("echo.bad") is None
    assert any("invalid params_schema" in p.error for p in plugins.problems)


def test_a_plugin_whose_declaration_raises_is_unregistered():
    class Raises(Echo):
        @hookimpl
        def pishkhan_services(self):
            raise RuntimeError("boom")

    plugins = load_plugins(extra=[("raises", Raises())])
    assert plugins.pm.get_plugin("raises") is None
    assert plugins.service("postbank.bill.pay") is not None


def test_blocked_plugins_are_not_loaded():
    plugins = load_plugins(blocked=["postbank"])
    assert plugins.service("postbank.bill.pay") is None and plugins.problems == []


def test_two_apps_have_their_own_plugin_managers(tmp_path, sandboxes):
    first = make_app(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a", load_plugins(), sandboxes)
    second = make_app(
        f"sqlite:///{tmp_path / 'b.db'}",
        tmp_path / "b",
        load_plugins(extra=[("echo", Echo())]),
        sandboxes,
    )
    assert first.extensions["pishkhan"].plugins.service("echo.ping") is None
    assert second.extensions["pishkhan"].plugins.service("echo.ping") is not None


def test_execute_is_routed_only_to_the_declaring_plugin(db_url, tmp_path, sandboxes, sandbox):
    class Interceptor(Echo):
        @hookimpl(tryfirst=True)
        def pishkhan_execute(self, service, params):
            return Result(data={"stolen": True})

    plugins = load_plugins(extra=[("interceptor", Interceptor(agency="interceptor"))])
    app = make_app(db_url, tmp_path, plugins, sandboxes)
    counter = open_counter(app.extensions["pishkhan"], "office-1")
    response = app.test_client().post(
        "/v1/transactions",
        headers=counter.headers(),
        json={"service": "postbank.bill.inquiry", "params": BILL},
    )
    assert response.status_code == 201
    assert "stolen" not in response.get_json()["result"]


def test_a_result_breaking_the_service_contract_is_agency_error(db_url, tmp_path, sandboxes):
    plugins = load_plugins(extra=[("echo", Echo(result=Result(data={"wrong": 1})))])
    app = make_app(db_url, tmp_path, plugins, sandboxes)
    counter = open_counter(app.extensions["pishkhan"], "office-1")
    response = app.test_client().post(
        "/v1/transactions",
        headers=counter.headers(),
        json={"service": "echo.ping", "params": {"n": 1}},
    )
    assert response.status_code == 502 and response.get_json()["code"] == "agency_error"


def test_a_float_quote_is_refused_as_agency_error(db_url, tmp_path, sandboxes):
    plugins = load_plugins(extra=[("echo", Echo(quote=1000.5))])
    app = make_app(db_url, tmp_path, plugins, sandboxes)
    counter = open_counter(app.extensions["pishkhan"], "office-1")
    response = app.test_client().post(
        "/v1/transactions",
        headers=counter.headers(),
        json={"service": "echo.ping", "params": {"n": 1}},
    )
    assert response.get_json()["code"] == "agency_error"


HOOKS = [
    name
    for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("pishkhan_")
]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    """hookspecs.py is the plugin documentation: every hook says when, what, and returns."""
    function = getattr(hookspecs, hook)
    doc = inspect.getdoc(function) or ""
    assert len(doc) > 80, f"{hook} needs a real docstring"
    assert function.__annotations__.get("return"), f"{hook} needs a return annotation"


class _Spy:
    """An agency that records everything the core tells it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    @hookimpl
    def pishkhan_agencies(self):
        return [
            Agency(name="spy", title_fa="جاسوس", title_en="Spy", default_url="http://127.0.0.1:9/")
        ]

    @hookimpl
    def pishkhan_services(self):
        schema = {"type": "object", "properties": {"q": {"type": "string"}}}
        return [Service("spy.look", "spy", "نگاه", "Look", 1, "inquiry", schema)]

    @hookimpl
    def pishkhan_check_params(self, service, params):
        self.calls.append(("check_params", {"service": service.id, "params": dict(params)}))

    @hookimpl
    def pishkhan_quote(self, service, params, agency):
        self.calls.append(("quote", {"params": dict(params), "agency": agency}))
        return 0

    @hookimpl
    def pishkhan_execute(self, service, params, citizen, agency, transaction_id, agency_amount):
        seen = {"params": dict(params), "citizen": citizen, "agency": agency}
        self.calls.append(("execute", seen))
        return Result(data={"ok": True})


def test_a_plugin_cannot_tell_offices_apart(db_url, tmp_path, sandboxes, sandbox):
    """Non-discrimination by construction: nothing a plugin receives names the office, so two
    offices making the same request look identical to it (and both are served)."""
    spy = _Spy()
    app = make_app(db_url, tmp_path, load_plugins(extra=[("spy", spy)]), sandboxes)
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    tehran = open_counter(gw, "tehran-1", category="metropolis", province="Tehran")
    village = open_counter(
        gw, "fars-village-9", category="village", province="Fars", operator=OTHER_OPERATOR
    )
    body = {"service": "spy.look", "citizen": {"national_code": "0499370899"}, "params": {"q": "x"}}
    views = []
    for counter in (tehran, village):
        spy.calls.clear()
        reply = client.post("/v1/transactions", json=body, headers=counter.headers())
        assert reply.status_code == 201, reply.get_json()
        views.append(list(spy.calls))
        text = repr(spy.calls)
        for office_fact in (counter.office_id, f"L-{counter.office_id}", counter.credential):
            assert office_fact not in text
        assert counter.operator not in text
    assert views[0] == views[1]
    gw.store.dispose()
