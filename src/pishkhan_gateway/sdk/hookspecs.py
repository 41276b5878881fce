"""The agency plugin contract: every hook a plugin may implement, and nothing else.

An agency plugin is a module (or object) registered under the ``pishkhan_gateway`` entry-point
group::

    [project.entry-points.pishkhan_gateway]
    postbank = "pishkhan_postbank.plugin"

whose functions are marked with ``pishkhan_gateway.hookimpl`` and named after the hooks below.
The core calls hooks with keyword arguments only; an implementation may accept fewer arguments than
the spec lists (so the spec can grow without breaking plugins). Built-in and third-party plugins
are loaded through the same entry-point group; a plugin that fails to import, declares a hook that
does not exist, or declares an invalid or duplicate service is reported at start and left out,
and the others keep working.

Routing: hooks that act on one service (``pishkhan_check_params``, ``pishkhan_quote``,
``pishkhan_execute``, ``pishkhan_reconcile``) are called **only on the plugin that declared that
service**, so a plugin never sees another agency's traffic and cannot intercept it.

Money is integer rials everywhere. Never return floats.

What a plugin cannot do, by design: choose which offices it serves (every active office may use
every declared service; only supervisors can cut an office off), set the office's fee (the
regulator's tariff does), or see other agencies' transactions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from pishkhan_gateway.sdk.values import (
    Agency,
    AgencyContext,
    Citizen,
    CitizenRecord,
    Result,
    Service,
)

hookspec = pluggy.HookspecMarker("pishkhan_gateway")


@hookspec
def pishkhan_agencies() -> list[Agency]:
    """Declare the agencies this plugin adapts.

    Called once when the gateway starts. Return a list of ``Agency``; each agency's name must be
    unique across all plugins. An agency's ``sandbox`` factory, if given, is what
    ``pishkhan-gateway sandbox`` serves for it.
    """


@hookspec
def pishkhan_services() -> list[Service]:
    """Declare the services this plugin offers at the counter.

    Called once when the gateway starts. Return a list of ``Service``. Each ``Service.agency`` must
    be an agency this plugin declared in ``pishkhan_agencies``; each id must be unique across all
    plugins and start with ``<agency>.``. Schemas are checked at start; a service with an invalid
    schema is left out and reported.
    """


@hookspec(firstresult=True)
def pishkhan_check_params(service: Service, params: Mapping[str, Any]) -> None:
    """Check what JSON Schema cannot (check digits, cross-field rules) before anything else.

    Called after the params passed ``service.params_schema`` and before identity, tariff and
    dispatch. Raise ``pishkhan_gateway.InvalidParams(detail, field=...)`` naming the bad field;
    return ``None`` when the params are fine. Must not call the agency.
    """


@hookspec(firstresult=True)
def pishkhan_quote(service: Service, params: Mapping[str, Any], agency: AgencyContext) -> int:
    """Return the amount in integer rials the citizen pays *the agency* for this call.

    Called once per transaction after the office's fee passed the tariff, before the Idempotency-Key
    is claimed and before ``pishkhan_execute``. Examples: the bill amount encoded in a payment id, a
    government fee. Return ``0`` for a service the agency does not charge for. The office's own fee
    is not the plugin's business (the regulator's tariff caps it). May call the agency (an inquiry),
    honouring ``agency.timeout``. Not implementing this hook means the agency amount is 0.
    """


@hookspec(firstresult=True)
def pishkhan_execute(
    service: Service,
    params: Mapping[str, Any],
    citizen: Citizen,
    agency: AgencyContext,
    transaction_id: str,
    agency_amount: int,
) -> Result:
    """Perform the service at the agency and return a ``Result``.

    Called once per accepted transaction, after identity and tariff checks passed.
    ``transaction_id`` is unique and stable: send it to the agency as its tracking id so that
    ``pishkhan_reconcile`` can later ask what became of it. Honour ``agency.timeout`` on every
    network call.

    Raise, never return, a failure:

    - ``AgencyRejected(reason, agency_code=...)``: the agency said no (already paid, no such bill).
    - ``AgencyUnavailable``: the agency certainly did not act (connection refused, HTTP 503).
    - ``AgencyTimeout``: no answer in time; it may have acted. For a ``payment`` or ``request``
      the core records the transaction as ``unknown`` and never retries it.
    - ``InvalidParams``: the agency found a parameter invalid.

    Any other exception, a return that is not a ``Result`` or that breaks ``result_schema``,
    or a float anywhere in ``Result.data`` is a plugin bug: ``agency_timeout`` for payments and
    requests (the agency may have acted; the outcome is unknown and reconciled) and
    ``agency_error`` for inquiries. The counter never sees a 500 (``plugins/door.py``).
    """


@hookspec(firstresult=True)
def pishkhan_reconcile(service: Service, transaction_id: str, agency: AgencyContext) -> Result:
    """Ask the agency what became of a transaction whose outcome is ``unknown``.

    Called by ``pishkhan-gateway reconcile`` (and only there), once per unsettled transaction of
    this plugin's services per run. Return the ``Result`` if the agency applied it; raise
    ``AgencyRejected`` if it certainly did not (the core then records it as not applied) — only
    on the code the agency documents for "never seen this tracking id": any other refusal (a
    proxy's 404, an expired token) proves nothing, so raise ``AgencyUnavailable`` or
    ``AgencyTimeout`` for it, which leaves the transaction unknown for the next round. The core
    holds you to it: an ``AgencyRejected`` whose code is not in your ``Agency.not_found_codes``
    (default ``("NOT_FOUND",)``) leaves the transaction unknown too. Must never perform the
    operation.
    """


@hookspec
def pishkhan_service_rated(
    service: Service, transaction_id: str, rating: int, complained: bool, agency: AgencyContext
) -> None:
    """A citizen rated one of this plugin's services (1–5) on the receipt's page.

    Agencies must measure their services' satisfaction online; this hands each rating to the
    agency that owns the service, with the transaction id the agency was given as its tracking
    id. ``complained``: the citizen also complained about the *office* — the complaint goes to
    the office's provincial working group, not to the agency, and its text is not passed on. No
    personal data comes with a rating. Called on the owning plugin only, after the rating is
    recorded and away from the citizen's request; whatever it raises is logged and the rating
    stands. Honour ``agency.timeout``.
    """


@hookspec(firstresult=True)
def pishkhan_identity_lookup(
    national_code: str, agencies: Mapping[str, AgencyContext]
) -> CitizenRecord | None:
    """Look a citizen up in the Civil Registry (identity level 2 and above).

    Implemented by the Civil Registry plugin. Called on every plugin until one answers, for each
    transaction at level 2 or 3, for ``POST /v1/otp`` and for ``POST /v1/operators``. Return a
    ``CitizenRecord``, or ``None`` if this plugin is not an identity provider. Raise
    ``IdentityMismatch`` if the registry has no such person and
    ``AgencyUnavailable``/``AgencyTimeout`` on an outage (the core then refuses with
    ``identity_unavailable``: identity fails closed). ``agencies`` maps agency names to contexts.
    """


@hookspec(firstresult=True)
def pishkhan_mobile_owner(
    mobile: str, national_code: str, agencies: Mapping[str, AgencyContext]
) -> bool | None:
    """Say whether ``mobile`` is registered to ``national_code`` (identity level 3, "Shahkar").

    Implemented by the telecom plugin. Called on every plugin until one answers, for each
    transaction at level 3 and for ``POST /v1/otp``, after ``pishkhan_identity_lookup``. Return
    ``True``/``False``, or ``None`` if this plugin is not a mobile-ownership provider.
    """


@hookspec(firstresult=True)
def pishkhan_send_sms(mobile: str, text: str, agencies: Mapping[str, AgencyContext]) -> bool | None:
    """Send ``text`` to ``mobile`` (one-time codes for identity level 3).

    Called by ``POST /v1/otp`` once the citizen passed level 2 and the mobile's ownership, on every
    plugin until one answers. Return ``True`` once sent, or ``None`` if this plugin does not send
    SMS.
    """


@hookspec
def pishkhan_health(agency: AgencyContext) -> Mapping[str, Any] | None:
    """Report the agency backend's health.

    Called for the supervisor console's agencies page (``/console/agencies``), once per agency this
    plugin declared, each time the page is shown. Return a mapping with at least ``{"ok": bool}``;
    keep it fast (honour ``agency.timeout``).
    """
