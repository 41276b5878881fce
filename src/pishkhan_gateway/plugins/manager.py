"""Building the plugin manager: hookspecs, the entry-point group, extra plugins, validation.

``load_plugins()`` builds one plugin manager per app (never a module global): hookspecs, then the
``pishkhan_gateway`` entry-point group, then any plugin objects a caller passes in (tests), then
validation of every declaration. A plugin that fails any step is unregistered and listed in
``Plugins.problems``; the others carry on.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable
from typing import Any

import jsonschema
import pluggy
import structlog

from pishkhan_gateway.errors import AgencyFault
from pishkhan_gateway.plugins.door import (
    PluginBug,
    PluginProblem,
    Plugins,
    RegisteredService,
    guarded,
)
from pishkhan_gateway.schemas import Checker
from pishkhan_gateway.sdk import hookspecs
from pishkhan_gateway.sdk.values import KINDS, Agency, Service

ENTRY_POINT_GROUP = "pishkhan_gateway"
_AGENCY_NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_SERVICE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_REGISTRY_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_HOOK_PREFIX = "pishkhan_"

log = structlog.get_logger(__name__)


def load_plugins(blocked: Iterable[str] = (), extra: Iterable[tuple[str, object]] = ()) -> Plugins:
    """Build the plugin manager: hookspecs, entry points, ``extra`` plugins, then validation.

    ``blocked`` names plugins (entry-point names) not to load (``PISHKHAN_DISABLED_PLUGINS``).
    ``extra`` registers plugin objects directly, as tests do; they pass the same checks.
    """
    pm = pluggy.PluginManager("pishkhan_gateway")
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm)
    for name in blocked:
        pm.set_blocked(name)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(ep.name):
            log.info("plugin_blocked", plugin=ep.name)
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import failure must name the plugin
            _problem(plugins, ep.name, f"cannot import {ep.value}: {exc!r}")
            continue
        _register(plugins, ep.name, obj)
    for name, obj in extra:
        _register(plugins, name, obj)
    _collect_declarations(plugins)
    log.info(
        "plugins_loaded",
        plugins=sorted(n for n, _ in pm.list_name_plugin()),
        services=len(plugins.services),
        problems=len(plugins.problems),
    )
    return plugins


def _problem(plugins: Plugins, plugin: str, error: str) -> None:
    plugins.problems.append(PluginProblem(plugin, error))
    log.error("plugin_problem", plugin=plugin, error=error)


def _register(plugins: Plugins, name: str, obj: object) -> None:
    pm = plugins.pm
    try:
        pm.register(obj, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        _problem(plugins, name, f"cannot register: {exc}")
        return
    unknown = [hc.name for hc in pm.get_hookcallers(obj) or [] if not hc.has_spec()]
    unmarked = [
        attr
        for attr in dir(obj)
        if attr.startswith(_HOOK_PREFIX)
        and callable(getattr(obj, attr, None))
        and pm.parse_hookimpl_opts(obj, attr) is None
    ]
    if unknown or unmarked:
        pm.unregister(obj)
        why = []
        if unknown:
            why.append(f"implements hooks that do not exist: {', '.join(sorted(unknown))}")
        if unmarked:
            why.append(f"functions named like hooks lack @hookimpl: {', '.join(sorted(unmarked))}")
        _problem(plugins, name, "; ".join(why))


def _declared(plugins: Plugins, hook: str) -> list[tuple[str, list[Any]]]:
    """Call a declaration hook plugin by plugin, through the door, so one failure leaves out
    its plugin only."""

    def as_list(value: Any) -> list[Any]:
        if value is not None and not isinstance(value, list | tuple):
            raise PluginBug(f"returned {type(value).__name__}, expected a list")
        return list(value or [])

    answers = []
    for impl in getattr(plugins.pm.hook, hook).get_hookimpls():
        try:
            value = guarded(
                hook, impl.plugin_name, impl.function, allowed=(), fault=AgencyFault, check=as_list
            )
        except AgencyFault as exc:
            _problem(plugins, impl.plugin_name, exc.detail)
            plugins.pm.unregister(impl.plugin)
            continue
        answers.append((impl.plugin_name, value))
    return answers


def _collect_declarations(plugins: Plugins) -> None:
    for plugin, agencies in _declared(plugins, "pishkhan_agencies"):
        for agency in agencies:
            if not isinstance(agency, Agency) or not _AGENCY_NAME.match(agency.name):
                _problem(plugins, plugin, f"invalid agency declaration {agency!r}")
            elif agency.name in plugins.agencies:
                _problem(
                    plugins,
                    plugin,
                    f"agency {agency.name!r} is already declared by "
                    f"{plugins._agency_plugin[agency.name]}",
                )
            else:
                plugins.agencies[agency.name] = agency
                plugins._agency_plugin[agency.name] = plugin
    for plugin, services in _declared(plugins, "pishkhan_services"):
        if plugins.pm.get_plugin(plugin) is None:
            continue
        for service in services:
            error = _service_error(plugins, plugin, service)
            if error:
                _problem(plugins, plugin, error)
                continue
            result_validator = None
            if service.result_schema is not None:
                result_validator = Checker(dict(service.result_schema))
            plugins.services[service.id] = RegisteredService(
                service=service,
                plugin=plugin,
                params_validator=Checker(dict(service.params_schema)),
                result_validator=result_validator,
            )


def _service_error(plugins: Plugins, plugin: str, service: Any) -> str | None:
    if not isinstance(service, Service):
        return f"pishkhan_services returned {service!r}, not a Service"
    if not _SERVICE_ID.match(service.id):
        return f"service id {service.id!r} is not dotted lowercase"
    if plugins._agency_plugin.get(service.agency) != plugin:
        return f"service {service.id!r} names agency {service.agency!r} this plugin did not declare"
    if not service.id.startswith(service.agency + "."):
        return f"service id {service.id!r} must start with {service.agency + '.'!r}"
    if service.id in plugins.services:
        return (
            f"duplicate service id {service.id!r} (already declared by "
            f"{plugins.services[service.id].plugin})"
        )
    if service.identity_level not in (0, 1, 2, 3):
        return f"service {service.id!r}: identity_level must be 0..3"
    if service.kind not in KINDS:
        return f"service {service.id!r}: kind must be one of {KINDS}"
    if service.registry_id is not None and not _REGISTRY_ID.match(str(service.registry_id)):
        return f"service {service.id!r}: registry_id is letters, digits, '.', '_', '-' (≤ 40)"
    for which in ("params_schema", "result_schema"):
        schema = getattr(service, which)
        if schema is None:
            continue
        try:
            jsonschema.Draft202012Validator.check_schema(dict(schema))
        except jsonschema.SchemaError as exc:
            return f"service {service.id!r}: invalid {which}: {exc.message}"
    return None
