"""The per-app object that holds the gateway's parts (``app.extensions["pishkhan"]``)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pishkhan_gateway import instruments
from pishkhan_gateway.auditlog.sealer import Sealer
from pishkhan_gateway.auditlog.witnessing import Witnessing, parse_witnesses
from pishkhan_gateway.crypto import keyring
from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
from pishkhan_gateway.crypto.signing import Signer, load_secret_ring
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
from pishkhan_gateway.store.version import RegistryVersion


class Gateway:
    """Store, plugins, dispatcher, tariffs, signer, sealer and pseudonymizer of one app."""

    def __init__(self, config: Mapping[str, Any], plugins: Plugins) -> None:
        self.config = config
        self.store = Store(config["DATABASE_URL"], group_commit=bool(config["GROUP_COMMIT"]))
        if self.store.commits is not None:
            self.store.commits.on_batch = instruments.COMMIT_BATCH.observe
        self.plugins = plugins
        self.signer = Signer.from_file(config["SIGNING_KEY_FILE"])
        pseudonym_keys = load_secret_ring(config["PSEUDONYM_KEY_FILE"])
        encryption_keys = load_secret_ring(config["ENCRYPTION_KEY_FILE"])
        self.pseudonyms = Pseudonymizer(pseudonym_keys)
        self.vault = Vault(encryption_keys)
        self.keyrings = {
            "pseudonym": (Path(config["PSEUDONYM_KEY_FILE"]), pseudonym_keys),
            "encryption": (Path(config["ENCRYPTION_KEY_FILE"]), encryption_keys),
        }
        keyring.check(self.store, self.keyrings)  # a host missing a needed key does not start
        self.sealer = Sealer(
            self.store, self.signer, int(config["SEAL_BATCH"]), str(config["LOG_ORIGIN"])
        )
        self.witnessing = Witnessing(
            self.store, parse_witnesses(str(config["WITNESSES"])), int(config["WITNESS_QUORUM"])
        )
        self.sealer.after_seal.append(self.witnessing.after_seal)
        # at start: does any witness hold a longer log than this database? (a rollback)
        self.sealer.on_start.append(self.witnessing.check_rollback)
        self.tariffs = Tariffs(self.store, float(config["TARIFF_CACHE_SECONDS"]))
        self.entitlements = Entitlements(self.store, float(config["TARIFF_CACHE_SECONDS"]))
        # work done for a request but not while it waits (handing a rating to its agency)
        self.background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pishkhan-bg")
        self.identity_cache = IdentityCache(
            float(config["IDENTITY_CACHE_SECONDS"]), self.pseudonyms
        )
        self.refusals = RefusalSampler(float(config["REFUSAL_LOG_WINDOW_SECONDS"]))
        self.counters = (
            CounterCache(RegistryVersion(config["DATABASE_URL"]))
            if config["COUNTER_CACHE"]
            else None
        )
        self.quotas = Quotas(
            str(config["RATE_LIMIT_STORAGE"]),
            str(config["OFFICE_RATE_LIMIT"]),
            str(config["OPERATOR_RATE_LIMIT"]),
        )
        self.admission = Admission(
            int(config["MAX_IN_FLIGHT"]), int(config["ADMISSION_WAIT_MS"]) / 1000
        )
        self.otps = OneTimeCodes(self.store, self.pseudonyms, plugins, config)
        self.dispatcher = Dispatcher(
            plugins,
            failures=int(config["BREAKER_FAILURES"]),
            reset_seconds=float(config["BREAKER_RESET_SECONDS"]),
            inquiry_retries=int(config["INQUIRY_RETRIES"]),
            state_dir=str(config["BREAKER_DIR"]),
        )

    def agency(self, name: str) -> AgencyContext:
        """How to reach agency ``name`` now: configuration first, then the plugin's defaults.

        Read at call time, so ``demo`` can point agencies at sandboxes it has just started.
        """
        declared = self.plugins.agencies[name]
        settings = dict(self.config.get("AGENCIES", {}).get(name, {}))
        timeout = float(settings.pop("timeout", declared.timeout))
        url = settings.pop("url", declared.default_url)
        return AgencyContext(name=name, url=url, timeout=timeout, settings=settings)

    def agencies(self) -> dict[str, AgencyContext]:
        """Contexts of every declared agency (for identity hooks)."""
        return {name: self.agency(name) for name in self.plugins.agencies}
