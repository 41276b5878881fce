"""Loading agency plugins, and the typed facade the core calls them through.

``load_plugins()`` builds one plugin manager per app (never a module global): hookspecs, then the
``pishkhan_gateway`` entry-point group, then any plugin objects a caller passes in (tests), then
validation of every declaration. A plugin that fails any step is unregistered and listed in
``Plugins.problems``; the others carry on. The core never touches ``pm.hook`` directly: it calls
``Plugins`` methods, which route per-service hooks to the declaring plugin only and check what
comes back.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import pluggy
import structlog

from pishkhan_gateway import hookspecs
from pishkhan_gateway.agency import KINDS, Agency, AgencyContext, Citizen, CitizenRecord, Result
from pishkhan_gateway.agency import Service as Service
from pishkhan_gateway.errors import AgencyFault

ENTRY_POINT_GROUP = "pishkhan_gateway"
_AGENCY_NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_SERVICE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_HOOK_PREFIX = "pishkhan_"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PluginProblem:
    """Why a plugin (or one of its declarations) was left out."""

    plugin: str
    error: str


@dataclass(frozen=True)
class RegisteredService:
    """A declared service with its compiled validators and the plugin that owns it."""

    service: Service
    plugin: str
    params_validator: jsonschema.protocols.Validator
    result_validator: jsonschema.protocols.Validator | None


class Plugins:
    """What the core may ask of plugins. Every method is called with keyword arguments."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.problems: list[PluginProblem] = []
        self.agencies: dict[str, Agency] = {}
        self.services: dict[str, RegisteredService] = {}
        self._agency_plugin: dict[str, str] = {}
        self._callers: dict[tuple[str, str], Any] = {}

    # -- declarations -------------------------------------------------------------------------

    def service(self, service_id: str) -> RegisteredService | None:
        """The registered service with this id, if any plugin declared it."""
        return self.services.get(service_id)

    def catalog(self) -> list[RegisteredService]:
        """All registered services, ordered by id."""
        return [self.services[k] for k in sorted(self.services)]

    # -- per-service calls (routed to the owning plugin) ---------------------------------------

    def _owned(self, plugin: str, hook: str) -> Any:
        key = (plugin, hook)
        caller = self._callers.get(key)
        if caller is None:
            owner = self.pm.get_plugin(plugin)
            others = [p for p in self.pm.get_plugins() if p is not owner]
            caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
            self._callers[key] = caller
        return caller

    def check_params(self, *, service: RegisteredService, params: Mapping[str, Any]) -> None:
        """Run the owner's ``pishkhan_check_params`` (raises ``InvalidParams``)."""
        self._owned(service.plugin, "pishkhan_check_params")(service=service.service, params=params)

    def quote(
        self, *, service: RegisteredService, params: Mapping[str, Any], agency: AgencyContext
    ) -> int:
        """The agency amount in rials; 0 when the owner does not quote."""
        amount = self._owned(service.plugin, "pishkhan_quote")(
            service=service.service, params=params, agency=agency
        )
        if amount is None:
            return 0
        if type(amount) is not int or amount < 0:
            raise AgencyFault(f"plugin {service.plugin} quoted {amount!r}: not integer rials")
        return amount

    def execute(
        self,
        *,
        service: RegisteredService,
        params: Mapping[str, Any],
        citizen: Citizen,
        agency: AgencyContext,
        transaction_id: str,
        agency_amount: int,
    ) -> Result:
        """Run the owner's ``pishkhan_execute`` and check its result against the contract."""
        result = self._owned(service.plugin, "pishkhan_execute")(
            service=service.service,
            params=params,
            citizen=citizen,
            agency=agency,
            transaction_id=transaction_id,
            agency_amount=agency_amount,
        )
        return self._checked_result(service, result, "pishkhan_execute")

    def reconcile(
        self, *, service: RegisteredService, transaction_id: str, agency: AgencyContext
    ) -> Result | None:
        """Ask the owner what became of an unknown transaction (None: it cannot say)."""
        result = self._owned(service.plugin, "pishkhan_reconcile")(
            service=service.service, transaction_id=transaction_id, agency=agency
        )
        if result is None:
            return None
        return self._checked_result(service, result, "pishkhan_reconcile")

    def health(self, *, agency: AgencyContext) -> Mapping[str, Any] | None:
        """The agency's health as its plugin reports it."""
        plugin = self._agency_plugin.get(agency.name)
        if plugin is None:
            return None
        answers = self._owned(plugin, "pishkhan_health")(agency=agency)
        return answers[0] if answers else None

    @staticmethod
    def _checked_result(service: RegisteredService, result: Any, hook: str) -> Result:
        if not isinstance(result, Result):
            raise AgencyFault(f"{hook} of {service.plugin} returned {type(result).__name__}")
        if service.result_validator is not None:
            error = jsonschema.exceptions.best_match(
                service.result_validator.iter_errors(dict(result.data))
            )
            if error is not None:
                raise AgencyFault(f"{hook} result breaks the service contract: {error.message}")
        return result

    # -- identity (any provider) ---------------------------------------------------------------

    def identity_lookup(
        self, *, national_code: str, agencies: Mapping[str, AgencyContext]
    ) -> CitizenRecord | None:
        """The Civil Registry's record, or None when no plugin provides identity."""
        return self.pm.hook.pishkhan_identity_lookup(national_code=national_code, agencies=agencies)

    def mobile_owner(
        self, *, mobile: str, national_code: str, agencies: Mapping[str, AgencyContext]
    ) -> bool | None:
        """Whether the mobile belongs to the national code; None when no provider."""
        return self.pm.hook.pishkhan_mobile_owner(
            mobile=mobile, national_code=national_code, agencies=agencies
        )

    def send_sms(
        self, *, mobile: str, text: str, agencies: Mapping[str, AgencyContext]
    ) -> bool | None:
        """Send an SMS through whichever plugin provides it; None when none does."""
        return self.pm.hook.pishkhan_send_sms(mobile=mobile, text=text, agencies=agencies)


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
    """Call a declaration hook plugin by plugin so one failure names its plugin only."""
    answers = []
    for impl in getattr(plugins.pm.hook, hook).get_hookimpls():
        try:
            value = impl.function()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the others
            _problem(plugins, impl.plugin_name, f"{hook} raised {exc!r}")
            plugins.pm.unregister(impl.plugin)
            continue
        answers.append((impl.plugin_name, list(value or [])))
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
                result_validator = jsonschema.Draft202012Validator(dict(service.result_schema))
            plugins.services[service.id] = RegisteredService(
                service=service,
                plugin=plugin,
                params_validator=jsonschema.Draft202012Validator(dict(service.params_schema)),
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
    for which in ("params_schema", "result_schema"):
        schema = getattr(service, which)
        if schema is None:
            continue
        try:
            jsonschema.Draft202012Validator.check_schema(dict(schema))
        except jsonschema.SchemaError as exc:
            return f"service {service.id!r}: invalid {which}: {exc.message}"
    return None
