"""What the pipeline needs of the app, as a protocol: the ``Gateway`` (``gateway.py``) composes
these parts and is passed in; the pipeline never imports it, so the hot path's steps depend on
the parts they use, not on the object that holds every part of the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
    from pishkhan_gateway.crypto.signing import Signer
    from pishkhan_gateway.crypto.vault import Vault
    from pishkhan_gateway.pipeline.admission import Admission
    from pishkhan_gateway.pipeline.dispatch import Dispatcher
    from pishkhan_gateway.pipeline.entitlements import Entitlements
    from pishkhan_gateway.pipeline.identity import IdentityCache
    from pishkhan_gateway.pipeline.otp import OneTimeCodes
    from pishkhan_gateway.pipeline.quotas import Quotas, RefusalSampler
    from pishkhan_gateway.plugins.door import Plugins
    from pishkhan_gateway.pricing.tariffs import Tariffs
    from pishkhan_gateway.registry.counters import CounterCache
    from pishkhan_gateway.sdk.values import AgencyContext
    from pishkhan_gateway.store import Store


class Parts(Protocol):
    """The parts a transaction (``submit``) and a reconciliation run (``reconcile``) use."""

    config: Mapping[str, Any]
    store: Store
    plugins: Plugins
    signer: Signer
    vault: Vault
    pseudonyms: Pseudonymizer
    counters: CounterCache | None
    quotas: Quotas
    refusals: RefusalSampler
    admission: Admission
    tariffs: Tariffs
    entitlements: Entitlements
    identity_cache: IdentityCache
    otps: OneTimeCodes
    dispatcher: Dispatcher

    def agency(self, name: str) -> AgencyContext:
        """How to reach agency ``name`` now."""

    def agencies(self) -> dict[str, AgencyContext]:
        """How to reach every declared agency now."""
