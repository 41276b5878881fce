"""The one door to plugins: every hook call the core makes goes through ``Plugins._call``.

The core never touches ``pm.hook``: it calls the typed methods here, which route per-service
hooks to the declaring plugin only, and pass each call through one guarded path that turns a
plugin's bug into a coded gateway error (never a 500, always recorded by the caller):

- an exception the hook's contract allows (``AgencyRejected`` from ``pishkhan_execute``,
  ``IdentityMismatch`` from ``pishkhan_identity_lookup``, …) passes through as raised;
- any other exception, a wrong return type, or float money becomes the hook's *fault*:
  ``agency_error`` for agency hooks, ``identity_unavailable`` for identity hooks (identity fails
  closed), and for a payment's or request's ``pishkhan_execute`` ``agency_timeout``, because the
  agency may have acted: the attempt is recorded ``unknown`` and reconciled, never retried.

The declaration hooks (``pishkhan_agencies``, ``pishkhan_services``) pass the same door at start
(``manager.py``), where a fault leaves the plugin out instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy
import structlog

from pishkhan_gateway.errors import (
    AgencyFault,
    AgencyRejected,
    AgencyTimeout,
    AgencyUnavailable,
    CitizenDeceased,
    GatewayError,
    IdentityMismatch,
    IdentityUnavailable,
    InvalidParams,
)
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.schemas import Checker
from pishkhan_gateway.sdk.values import Agency, AgencyContext, Citizen, CitizenRecord, Result
from pishkhan_gateway.sdk.values import Service as Service

log = structlog.get_logger(__name__)

# What each family of hooks may raise on purpose (everything else is a plugin bug).
# ``AgencyFault`` is what the SDK's ``soap.call``/``rest.call`` raise for an unusable reply.
AGENCY_RAISES: tuple[type[GatewayError], ...] = (
    InvalidParams,
    AgencyRejected,
    AgencyUnavailable,
    AgencyTimeout,
    AgencyFault,
)
IDENTITY_RAISES: tuple[type[GatewayError], ...] = (
    IdentityMismatch,
    CitizenDeceased,
    AgencyRejected,
    AgencyUnavailable,
    AgencyTimeout,
    AgencyFault,
)
Fault = Callable[[str], GatewayError]


class PluginBug(Exception):
    """What a plugin returned breaks the hook's contract (the door turns it into the fault)."""


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
    params_validator: Checker
    result_validator: Checker | None


def has_float(value: Any) -> bool:
    """Does a float hide anywhere in ``value``? (Money is integer rials; a float in a result is
    a plugin bug, whatever the key is called.)"""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            return True
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def guarded(
    hook: str,
    plugin: str,
    call: Callable[[], Any],
    *,
    allowed: tuple[type[BaseException], ...],
    fault: Fault,
    check: Callable[[Any], Any] = lambda answer: answer,
) -> Any:
    """Run one hook call: ``allowed`` exceptions pass, ``check`` judges the answer (raising
    ``PluginBug``), and anything else becomes ``fault(detail)``. The one guarded path."""
    try:
        return check(call())
    except AgencyRejected as exc:
        if not isinstance(exc, allowed):
            raise fault(f"the {plugin} plugin raised AgencyRejected in {hook}") from exc
        mask_reason(exc)  # the agency's words reach the counter and the stored reply
        raise
    except allowed:
        raise
    except PluginBug as exc:
        log.error("plugin_contract_broken", hook=hook, plugin=plugin, error=str(exc))
        raise fault(f"the {plugin} plugin broke the contract of {hook}: {exc}") from None
    except Exception as exc:
        log.exception("plugin_error", hook=hook, plugin=plugin)
        raise fault(f"the {plugin} plugin failed in {hook}: {type(exc).__name__}") from exc


def mask_reason(exc: AgencyRejected) -> None:
    """An agency's reason is free text: personal-data-shaped digits in it are masked."""
    exc.reason = exc.detail = redact_text(exc.reason)
    for key in ("agency_reason", "agency_reason_fa"):
        if isinstance(exc.extra.get(key), str):
            exc.extra[key] = redact_text(exc.extra[key])


def _agency_fault(detail: str) -> GatewayError:
    return AgencyFault(detail)


def _unknown_fault(detail: str) -> GatewayError:
    return AgencyTimeout(f"{detail}; the outcome at the agency is unknown and will be reconciled")


def _identity_fault(detail: str) -> GatewayError:
    return IdentityUnavailable(detail)


def _expect(types: type | tuple[type, ...], what: str) -> Callable[[Any], Any]:
    def check(answer: Any) -> Any:
        if answer is not None and not isinstance(answer, types):
            raise PluginBug(f"returned {type(answer).__name__}, expected {what}")
        return answer

    return check


class Plugins:
    """What the core may ask of plugins. Every method is called with keyword arguments and goes
    through ``guarded`` (see the module docstring for what becomes of a plugin's bug)."""

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

    def agency_plugin(self, agency: str) -> str | None:
        """The plugin that declared ``agency``."""
        return self._agency_plugin.get(agency)

    # -- the door -----------------------------------------------------------------------------

    def _owned(self, plugin: str, hook: str) -> Any:
        key = (plugin, hook)
        caller = self._callers.get(key)
        if caller is None:
            owner = self.pm.get_plugin(plugin)
            others = [p for p in self.pm.get_plugins() if p is not owner]
            caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
            self._callers[key] = caller
        return caller

    def _call(
        self,
        hook: str,
        plugin: str | None,
        kwargs: Mapping[str, Any],
        *,
        allowed: tuple[type[BaseException], ...],
        fault: Fault,
        check: Callable[[Any], Any] = lambda answer: answer,
    ) -> Any:
        """Call ``hook`` on ``plugin`` only (or on every plugin, first answer wins, when None)."""
        caller = getattr(self.pm.hook, hook) if plugin is None else self._owned(plugin, hook)
        return guarded(
            hook,
            plugin or "provider",
            lambda: caller(**kwargs),
            allowed=allowed,
            fault=fault,
            check=check,
        )

    # -- per-service calls (routed to the owning plugin) ---------------------------------------

    def check_params(self, *, service: RegisteredService, params: Mapping[str, Any]) -> None:
        """Run the owner's ``pishkhan_check_params`` (raises ``InvalidParams``)."""

        def check(answer: Any) -> None:
            if answer is not None:
                raise PluginBug(f"returned {answer!r}; raise InvalidParams to refuse")

        self._call(
            "pishkhan_check_params",
            service.plugin,
            {"service": service.service, "params": params},
            allowed=(InvalidParams,),
            fault=_agency_fault,
            check=check,
        )

    def quote(
        self, *, service: RegisteredService, params: Mapping[str, Any], agency: AgencyContext
    ) -> int:
        """The agency amount in integer rials; 0 when the owner does not quote."""

        def check(amount: Any) -> int:
            if amount is None:
                return 0
            if type(amount) is not int or amount < 0:
                raise PluginBug(f"quoted {amount!r}: not integer rials")
            return amount

        return self._call(
            "pishkhan_quote",
            service.plugin,
            {"service": service.service, "params": params, "agency": agency},
            allowed=AGENCY_RAISES,
            fault=_agency_fault,
            check=check,
        )

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
        """Run the owner's ``pishkhan_execute`` and check its result against the contract. A
        bug in a payment's or request's plugin is ``agency_timeout`` (it may have acted)."""
        return self._call(
            "pishkhan_execute",
            service.plugin,
            {
                "service": service.service,
                "params": params,
                "citizen": citizen,
                "agency": agency,
                "transaction_id": transaction_id,
                "agency_amount": agency_amount,
            },
            allowed=AGENCY_RAISES,
            fault=_agency_fault if service.service.kind == "inquiry" else _unknown_fault,
            check=lambda result: self._checked_result(service, result),
        )

    def reconcile(
        self, *, service: RegisteredService, transaction_id: str, agency: AgencyContext
    ) -> Result | None:
        """Ask the owner what became of an unknown transaction (None: it cannot say). A plugin
        bug is ``agency_error``: the transaction stays unknown for the next round."""
        return self._call(
            "pishkhan_reconcile",
            service.plugin,
            {"service": service.service, "transaction_id": transaction_id, "agency": agency},
            allowed=(AgencyRejected, AgencyUnavailable, AgencyTimeout, AgencyFault),
            fault=_agency_fault,
            check=lambda result: None if result is None else self._checked_result(service, result),
        )

    def rated(
        self,
        *,
        service: RegisteredService,
        transaction_id: str,
        rating: int,
        complained: bool,
        agency: AgencyContext,
    ) -> bool:
        """Hand a citizen's rating to the service's owner; False (logged) if its hook failed."""
        try:
            self._call(
                "pishkhan_service_rated",
                service.plugin,
                {
                    "service": service.service,
                    "transaction_id": transaction_id,
                    "rating": rating,
                    "complained": complained,
                    "agency": agency,
                },
                allowed=(),
                fault=_agency_fault,
            )
        except GatewayError as exc:
            log.warning("rating_not_delivered", plugin=service.plugin, error=exc.detail)
            return False
        return True

    def health(self, *, agency: AgencyContext) -> Mapping[str, Any]:
        """The agency's health as its plugin reports it: ``{"ok": bool, …}``; a plugin that
        does not report says nothing (``{}``), one that fails is ``{"ok": False}``."""
        plugin = self._agency_plugin.get(agency.name)
        if plugin is None:
            return {}

        def check(answers: Any) -> Mapping[str, Any]:
            answer = answers[0] if answers else {}
            if not isinstance(answer, Mapping):
                raise PluginBug(f"returned {type(answer).__name__}, expected a mapping")
            return answer

        try:
            return self._call(
                "pishkhan_health",
                plugin,
                {"agency": agency},
                allowed=(),
                fault=_agency_fault,
                check=check,
            )
        except AgencyFault as exc:
            return {"ok": False, "error": exc.detail}

    def _checked_result(self, service: RegisteredService, result: Any) -> Result:
        if not isinstance(result, Result):
            raise PluginBug(f"returned {type(result).__name__}, not a Result")
        if not isinstance(result.data, Mapping):
            raise PluginBug(f"Result.data is {type(result.data).__name__}, not a mapping")
        if result.reference is not None and not isinstance(result.reference, str):
            raise PluginBug("Result.reference is not a string")
        if has_float(result.data):
            raise PluginBug("a float in the result (money is integer rials)")
        if service.result_validator is not None:
            error = service.result_validator.best_error(dict(result.data))
            if error is not None:
                raise PluginBug(f"the result breaks the service contract: {error.message}")
        return result

    # -- identity (any provider) ---------------------------------------------------------------

    def identity_lookup(
        self, *, national_code: str, agencies: Mapping[str, AgencyContext]
    ) -> CitizenRecord | None:
        """The Civil Registry's record, or None when no plugin provides identity."""
        return self._call(
            "pishkhan_identity_lookup",
            None,
            {"national_code": national_code, "agencies": agencies},
            allowed=IDENTITY_RAISES,
            fault=_identity_fault,
            check=_expect(CitizenRecord, "a CitizenRecord or None"),
        )

    def mobile_owner(
        self, *, mobile: str, national_code: str, agencies: Mapping[str, AgencyContext]
    ) -> bool | None:
        """Whether the mobile belongs to the national code; None when no provider."""
        return self._call(
            "pishkhan_mobile_owner",
            None,
            {"mobile": mobile, "national_code": national_code, "agencies": agencies},
            allowed=IDENTITY_RAISES,
            fault=_identity_fault,
            check=_expect(bool, "True, False or None"),
        )

    def send_sms(
        self, *, mobile: str, text: str, agencies: Mapping[str, AgencyContext]
    ) -> bool | None:
        """Send an SMS through whichever plugin provides it; None when none does."""
        return self._call(
            "pishkhan_send_sms",
            None,
            {"mobile": mobile, "text": text, "agencies": agencies},
            allowed=(AgencyRejected, AgencyUnavailable, AgencyTimeout, AgencyFault),
            fault=_identity_fault,
            check=_expect(bool, "True or None"),
        )
