"""The layout keeps the architecture it draws: the import graph has no circle and no upward
arrow, only ``web/`` and the command line speak HTTP, handlers hold no SQL, no package re-exports
what its modules define, modules stay small enough to read, and the README's map is the tree."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

import pytest

from conftest import ROOT

SRC = ROOT / "src"
PACKAGE = SRC / "pishkhan_gateway"
PLUGIN_SOURCES = sorted((ROOT / "plugins").glob("*/src"))

# Each room may import its own layer and the layers below it, never one above (bottom first).
LAYERS = [
    {"jalali", "persian", "errors", "ids", "schemas", "logs", "instruments", "config", "serving"},
    {"store", "crypto"},
    {"sdk", "plugins", ""},  # "" is the package root: the plugin SDK's public names
    {"auditlog"},
    {"registry"},
    {"pricing"},
    {"regulation"},
    {"citizens"},
    {"records"},
    {"pipeline"},
    {"gateway"},  # the parts of one app, composed; nothing below takes it whole
    {"web", "commands"},
    {"app", "cli", "wsgi", "gunicorn_conf", "testkit"},
]
LAYER_OF = {room: level for level, rooms in enumerate(LAYERS) for room in rooms}
SPEAKS_HTTP = {"web", "commands", "app", "cli"}  # the only rooms that may import Flask
ASSEMBLERS = {  # package __init__ files that import their modules on purpose, and why
    "pishkhan_gateway": "the plugin SDK: the one import surface plugins may use",
    "pishkhan_gateway.web.console": "importing the console assembles its blueprint's pages",
    "pishkhan_gateway.testkit": "the test kit's public names, what an agency's tests import",
}


def _module_files() -> dict[str, Path]:
    """Every module of ``src/`` and the reference plugins, by dotted name (no migrations)."""
    found = {}
    for base in [SRC, *PLUGIN_SOURCES]:
        for path in base.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _module_files()


def _imports(name: str) -> set[str]:
    """The modules ``name`` imports anywhere in its text (inside functions and ``TYPE_CHECKING``
    too: a circle held apart by a late import is still a circle)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES} - {name}


GRAPH = {name: _imports(name) for name in MODULES}


def _room(name: str) -> str:
    parts = name.split(".")
    return parts[1] if parts[0] == "pishkhan_gateway" and len(parts) > 1 else ""


OURS = sorted(n for n in MODULES if n.split(".")[0] == "pishkhan_gateway")


def test_the_import_graph_has_no_circle():
    try:
        graphlib.TopologicalSorter(GRAPH).prepare()
    except graphlib.CycleError as circle:
        pytest.fail(f"an import circle: {' <- '.join(circle.args[1])}")


def test_every_room_has_its_layer():
    assert {_room(n) for n in OURS} - set(LAYER_OF) == set()


@pytest.mark.parametrize("name", OURS)
def test_no_upward_import(name):
    """Supervisors' code never reaches into the web, the record never into the hot path's
    composition, the pipeline never into the office's record: each arrow points down."""
    mine = LAYER_OF[_room(name)]
    upward = {
        m for m in GRAPH[name] if m.startswith("pishkhan_gateway") and LAYER_OF[_room(m)] > mine
    }
    assert upward == set(), f"{name} imports {sorted(upward)} from above its layer"


@pytest.mark.parametrize("name", OURS)
def test_only_the_web_and_the_command_line_import_flask(name):
    if _room(name) in SPEAKS_HTTP:
        return
    text = MODULES[name].read_text()
    assert not re.search(r"^\s*(from|import) flask\b", text, re.M), name


WEB = sorted(n for n in OURS if _room(n) == "web")


@pytest.mark.parametrize("name", WEB)
def test_handlers_hold_no_sql_and_no_sealing(name):
    """Handlers parse and respond: queries, encryption and proofs live in the domain modules."""
    source = MODULES[name].read_text()
    assert not {
        m for m in GRAPH[name] if m.startswith(("sqlalchemy", "pishkhan_gateway.store.tables"))
    }
    assert not re.search(r"^\s*(from|import) sqlalchemy\b", source, re.M), name
    for marker in ("select(", ".encrypt(", ".decrypt(", "session.execute", ".scalar("):
        assert marker not in source, f"{name} does {marker}"


@pytest.mark.parametrize("name", OURS)
def test_no_module_takes_another_modules_private_names(name):
    """What a module keeps to itself (a leading underscore) stays there: a helper two modules
    need is public in the one place it is written."""
    taken = [
        alias.name
        for node in ast.walk(ast.parse(MODULES[name].read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pishkhan_")
        for alias in node.names
        if alias.name.startswith("_") and alias.name != "__version__"
    ]
    assert taken == [], f"{name} imports private {taken}"


def test_no_endpoint_names_in_domain_code():
    for name in OURS:
        if _room(name) not in SPEAKS_HTTP:
            assert "request.endpoint" not in MODULES[name].read_text(), name


@pytest.mark.parametrize(
    "name", [n for n in OURS if MODULES[n].name == "__init__.py" and n not in ASSEMBLERS]
)
def test_no_package_re_exports_its_modules(name):
    """A package's ``__init__`` is its docstring and, at most, code of its own: importing a
    package never drags in the rest of it (the hot path must not load the supervisors' reads)."""
    tree = ast.parse(MODULES[name].read_text())
    imported = {
        alias.asname or alias.name.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    used = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    } | {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    assert imported - used - {"annotations"} == set(), f"{name} re-exports {imported - used}"


LONG_MODULES = {  # what a split would not make easier to read; see the closing note
    "errors.py",  # the catalogue of every public code: one class each, nothing else
    "sandboxkit.py",  # the sandbox server and its fault knobs, one idea
    "tables.py",  # the schema: one class per table, nothing else
    "verify.py",  # audit verify: one algorithm in its passes
}


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_modules_stay_readable(path):
    if "migrations" in path.parts or path.name in LONG_MODULES:
        return
    assert len(path.read_text().splitlines()) <= 420, f"{path} is two ideas"


def _readme_map() -> dict[str, str]:
    """The README's layout block under ``src/pishkhan_gateway/``: each path it names, from its
    indentation (two spaces a level; a name ends at two spaces, a description follows)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    named: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    inside = False
    for line in block.splitlines():
        if line.startswith("src/pishkhan_gateway/"):
            inside, stack = True, [(-1, "")]
            continue
        if not inside or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            break  # the next top-level folder of the repository
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        if not re.fullmatch(r"[\w./]+(\s[\w./]+)*", names) or not re.search(r"\.py|/", names):
            continue  # a description's continuation
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        for name in names.split():
            named[parent + name] = line
        if names.endswith("/") and " " not in names:
            stack.append((indent, parent + names))
    return named


def test_the_readme_maps_the_tree():
    """Every module and folder the README names exists, and every module of the package (its
    migrations aside) is named — the map cannot drift from the house."""
    named = _readme_map()
    missing = sorted(p for p in named if not (PACKAGE / p).exists())
    assert missing == [], f"the README names what is not there: {missing}"
    unnamed = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        and path.name != "__init__.py"
        and str(path.relative_to(PACKAGE)) not in named
    )
    assert unnamed == [], f"the README's layout does not name {unnamed}"
