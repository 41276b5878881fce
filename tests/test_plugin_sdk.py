"""The plugin SDK is declared, and plugins keep to it: plugin code imports only names in
``pishkhan_gateway.__all__``; plugin tests may also use the test kit (``pishkhan_gateway.testkit``).
And the hookspec module, the plugin documentation, says only what is true."""

from __future__ import annotations

import ast
import inspect
import re

import pytest

import pishkhan_gateway
from conftest import ROOT, make_app
from pishkhan_gateway.plugins import door, manager
from pishkhan_gateway.sdk import hookspecs

PLUGIN_SOURCES = sorted(
    [*ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("docs/example-plugin/src/**/*.py")]
)
PLUGIN_TESTS = sorted(
    [*ROOT.glob("plugins/*/tests/**/*.py"), *ROOT.glob("docs/example-plugin/tests/**/*.py")]
)
TEST_KIT = "pishkhan_gateway.testkit"
GUIDE = ROOT / "docs" / "writing-a-plugin.md"


def _imports(source: str) -> list[tuple[str, list[str]]]:
    """(module, names) of every import of the gateway in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pishkhan_gateway"):
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pishkhan_gateway"):
                    found.append((alias.name, []))
    return found


def _reaches_deeper(path_or_source, allowed_modules: set[str]) -> list[str]:
    source = path_or_source if isinstance(path_or_source, str) else path_or_source.read_text()
    wrong = []
    for module, names in _imports(source):
        if module not in allowed_modules:
            wrong.append(module)
        elif module == "pishkhan_gateway":
            wrong += [f"pishkhan_gateway.{n}" for n in names if n not in pishkhan_gateway.__all__]
    return wrong


def test_every_name_the_sdk_declares_can_be_imported():
    for name in pishkhan_gateway.__all__:
        assert getattr(pishkhan_gateway, name) is not None, name


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugin_code_imports_only_the_sdk(path):
    assert _reaches_deeper(path, {"pishkhan_gateway"}) == []


@pytest.mark.parametrize("path", PLUGIN_TESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugin_tests_import_only_the_sdk_and_the_test_kit(path):
    assert _reaches_deeper(path, {"pishkhan_gateway", TEST_KIT}) == []


def test_the_guide_shows_only_sdk_imports():
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        assert _reaches_deeper(block, {"pishkhan_gateway", TEST_KIT}) == []


def test_the_sdk_check_catches_a_plugin_reaching_deeper():
    source = "from pishkhan_gateway.pipeline.dispatch import Dispatcher\n"
    assert _reaches_deeper(source, {"pishkhan_gateway"}) == ["pishkhan_gateway.pipeline.dispatch"]
    source = "from pishkhan_gateway import Gateway\n"
    assert _reaches_deeper(source, {"pishkhan_gateway"}) == ["pishkhan_gateway.Gateway"]


# -- the hookspec module is the documentation: keep it honest -------------------------------------

HOOKS = {
    name: function
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("pishkhan_")
}


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_every_hook_passes_the_door(hook):
    """Each hook is called by the core in exactly one place, the door (or the manager, for the
    two declaration hooks), never through ``pm.hook`` elsewhere."""
    callers = inspect.getsource(door) + inspect.getsource(manager)
    assert f'"{hook}"' in callers, f"{hook} is never called through the door"
    core = ROOT / "src" / "pishkhan_gateway"
    for path in core.rglob("*.py"):
        if path.name in {"door.py", "manager.py", "hookspecs.py"}:
            continue
        assert f"hook.{hook}" not in path.read_text(), f"{path} calls {hook} around the door"


class _Recorder:
    """Implements every hook with the spec's full signature and notes what it was given."""

    def __init__(self):
        self.seen: dict[str, set[str]] = {}


def _recorder() -> _Recorder:
    """A plugin whose every hookimpl has exactly the spec's parameters (pluggy passes what an
    implementation names, so each must name them all) and records the ones it received."""
    from pishkhan_gateway import hookimpl

    recorder = _Recorder()
    for name, spec in HOOKS.items():
        params = ", ".join(inspect.signature(spec).parameters)
        namespace: dict = {"seen": recorder.seen}
        exec(f"def {name}({params}):\n    seen[{name!r}] = set(locals())\n", namespace)
        setattr(recorder, name, hookimpl(namespace[name]))
    return recorder


def test_the_door_passes_every_argument_the_spec_documents():
    """What a hookspec lists is what the core passes: a plugin that accepts every documented
    argument receives each of them."""
    from pishkhan_gateway.plugins.door import RegisteredService
    from pishkhan_gateway.plugins.manager import load_plugins
    from pishkhan_gateway.sdk.values import AgencyContext, Citizen, Service

    recorder = _recorder()
    plugins = load_plugins(blocked=["civilregistry", "insurance", "postbank", "telecom"])
    plugins.pm.register(recorder, name="recorder")
    service = Service("rec.x", "rec", "x", "x", 0, "inquiry", {"type": "object"})
    registered = RegisteredService(service, "recorder", None, None)
    agency = AgencyContext(name="rec", url=None, timeout=1.0)
    plugins._agency_plugin["rec"] = "recorder"
    calls = {
        "pishkhan_check_params": lambda: plugins.check_params(service=registered, params={}),
        "pishkhan_quote": lambda: plugins.quote(service=registered, params={}, agency=agency),
        "pishkhan_execute": lambda: plugins.execute(
            service=registered,
            params={},
            citizen=Citizen(),
            agency=agency,
            transaction_id="tx_1",
            agency_amount=0,
        ),
        "pishkhan_reconcile": lambda: plugins.reconcile(
            service=registered, transaction_id="tx_1", agency=agency
        ),
        "pishkhan_service_rated": lambda: plugins.rated(
            service=registered, transaction_id="tx_1", rating=4, complained=False, agency=agency
        ),
        "pishkhan_identity_lookup": lambda: plugins.identity_lookup(
            national_code="0499370899", agencies={}
        ),
        "pishkhan_mobile_owner": lambda: plugins.mobile_owner(
            mobile="09121234567", national_code="0499370899", agencies={}
        ),
        "pishkhan_send_sms": lambda: plugins.send_sms(mobile="09121234567", text="x", agencies={}),
        "pishkhan_health": lambda: plugins.health(agency=agency),
        "pishkhan_agencies": lambda: manager._declared(plugins, "pishkhan_agencies"),
        "pishkhan_services": lambda: manager._declared(plugins, "pishkhan_services"),
    }
    assert set(calls) == set(HOOKS)
    for hook, call in calls.items():
        try:
            call()
        except Exception:  # a recorder answers None everywhere; only what it received matters
            pass
        documented = set(inspect.signature(HOOKS[hook]).parameters)
        assert recorder.seen.get(hook) == documented, hook


ROUTE = re.compile(r"``(GET |POST )?(/(?:v1|console)/[a-z/{}_-]+)")


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_what_a_hook_docstring_claims_is_true(hook, tmp_path, plugins, sandboxes):
    """Every hook says when it is called and what it returns, and a route its docstring names
    exists (``pishkhan_health`` once claimed to feed ``/v1/health``, which never called it)."""
    doc = inspect.getdoc(HOOKS[hook]) or ""
    assert re.search(r"\b(Called|Implemented by)\b", doc), f"{hook}: say when it is called"
    assert re.search(r"\b[Rr]eturn|\b[Rr]aise", doc), f"{hook}: say what it returns"
    assert inspect.signature(HOOKS[hook]).return_annotation != inspect.Signature.empty
    app = make_app(f"sqlite:///{tmp_path}/claims.db", tmp_path, plugins, sandboxes)
    rules = {rule.rule.replace("<", "{").replace(">", "}") for rule in app.url_map.iter_rules()}
    for _, route in ROUTE.findall(doc):
        assert route in rules, f"{hook} names {route}, which does not exist"


def test_the_health_hook_feeds_the_page_it_names(tmp_path, plugins, sandboxes):
    """``pishkhan_health``'s docstring names the console's agencies page: that page asks it."""
    from pishkhan_gateway.web.console import base as console

    assert "plugins.health(" in inspect.getsource(console.agencies)
