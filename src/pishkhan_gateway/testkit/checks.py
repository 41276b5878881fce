"""The kit's checks of an adapter against its contract (the money paths are in ``moneypaths``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import requests

from pishkhan_gateway.sdk.contract import FIELDS, read_services
from pishkhan_gateway.testkit.kit import (
    FAULT_OUTCOMES,
    Example,
    Invalid,
    Kit,
    Refusal,
    contract_dir,
    fault_modes,
    is_inquiry,
)
from pishkhan_gateway.testkit.moneypaths import MoneyPathChecks


class AgencyPluginTests(MoneyPathChecks):
    """Subclass in your tests (name it ``Test…``); see the module docstring."""

    plugin: str = ""
    examples: Sequence[Example] = ()
    refusals: Sequence[Refusal] = ()
    invalid: Sequence[Invalid] = ()
    sandbox_url: str | None = None
    timeout: float = 1.0  # the agency timeout the kit's gateway uses (faults stall past it)

    @classmethod
    def fault_cases(cls) -> list[tuple[str, Example, int]]:
        """(mode, example, 0 inquiry / 1 payment or request) for every knob of the sandbox on
        every example."""
        kinds = [(e, 0 if is_inquiry(cls.plugin, e.service) else 1) for e in cls.examples]
        return [(mode, e, i) for mode in fault_modes(cls.plugin) for e, i in kinds]

    @classmethod
    def payments(cls) -> list[Example]:
        """The payment and request examples (the money paths run on these)."""
        return [e for e in cls.examples if not is_inquiry(cls.plugin, e.service)]

    @classmethod
    def invalid_cases(cls) -> list[Invalid]:
        """The ``Invalid`` examples given, and from each example one without each of its
        service's required parameters."""
        schemas = {
            service_id: spec["params_schema"]
            for service_id, spec in read_services(contract_dir(cls.plugin) / "services.json")[
                "services"
            ].items()
        }
        made = []
        for example in cls.examples:
            for name in schemas.get(example.service, {}).get("required", []):
                params = {k: v for k, v in example.params.items() if k != name}
                made.append(Invalid(example.service, params, example.citizen, name))
        return [*cls.invalid, *made]

    def test_plugin_loads_cleanly(self, pishkhan_kit: Kit) -> None:
        problems = [p for p in pishkhan_kit.plugins.problems if p.plugin == self.plugin]
        assert not problems, problems
        assert pishkhan_kit.plugins.agencies, "the plugin declares no agency"

    def test_declarations_match_the_contract(self, pishkhan_kit: Kit) -> None:
        contract = read_services(contract_dir(self.plugin) / "services.json")
        declared = {
            s.service.id: s.service
            for s in pishkhan_kit.plugins.catalog()
            if s.plugin == self.plugin
        }
        assert set(declared) == set(contract["services"]), "services differ from services.json"
        for service_id, spec in contract["services"].items():
            service = declared[service_id]
            assert service.agency == contract["agency"]
            for name in FIELDS:
                assert getattr(service, name) == spec[name], f"{service_id}: {name} differs"
            assert service.result_schema == spec.get("result_schema"), service_id

    def test_every_service_has_an_example(self, pishkhan_kit: Kit) -> None:
        missing = {s.service.id for s in pishkhan_kit.plugins.catalog()} - {
            e.service for e in self.examples
        }
        assert not missing, f"no Example for {sorted(missing)}"

    def test_contract_files_load_offline_and_are_what_the_sandbox_serves(
        self, pishkhan_kit: Kit
    ) -> None:
        import zeep

        from pishkhan_gateway.sdk.soap import HARDENED

        class Offline(zeep.Transport):
            def load(self, url: str) -> bytes:
                if "://" in url and not url.startswith("file://"):
                    raise AssertionError(f"the WSDL makes zeep fetch {url}")
                return super().load(url)

        contract = contract_dir(self.plugin)
        for wsdl in sorted(contract.glob("*.wsdl")):
            zeep.Client(str(wsdl), transport=Offline(), settings=HARDENED)
            for url in pishkhan_kit.sandbox_urls.values():
                served = requests.get(url + "?wsdl", timeout=5).content
                assert served == wsdl.read_bytes(), f"the sandbox serves another {wsdl.name}"
        for openapi in sorted(contract.glob("openapi.json")):
            spec = json.loads(openapi.read_text(encoding="utf-8"))
            assert spec.get("openapi", "").startswith("3."), "not an OpenAPI 3 document"
            for url in pishkhan_kit.sandbox_urls.values():
                served = requests.get(url + "openapi.json", timeout=5).content
                assert served == openapi.read_bytes(), "the sandbox serves another openapi.json"

    def test_example_succeeds(self, kit: Kit, example: Example) -> None:
        reply = kit.transact(example.service, example.params, example.citizen, "kit-metropolis")
        body = reply.get_json()
        assert reply.status_code == 201, body
        for key, value in example.expect.items():
            assert body["result"].get(key) == value, f"result[{key!r}] = {body['result']}"
        if example.agency_amount is not None:
            assert body["agency_amount"] == example.agency_amount
        assert isinstance(body["agency_amount"], int) and isinstance(body["total"], int)
        if is_inquiry(self.plugin, example.service):
            other = kit.transact(example.service, example.params, example.citizen, "kit-village")
            assert other.status_code == 201, other.get_json()
            assert other.get_json()["result"] == body["result"], "offices are served differently"

    def test_refusal_maps_to_agency_rejected(self, kit: Kit, refusal: Refusal) -> None:
        reply = kit.transact(refusal.service, refusal.params, refusal.citizen, "kit-metropolis")
        body = reply.get_json()
        assert body["code"] == refusal.code, body
        if refusal.agency_code is not None:
            assert body.get("agency_code") == refusal.agency_code, body
        assert body["transaction_id"]

    def test_fault_maps_to_documented_code(
        self, kit: Kit, fault_case: tuple[str, Example, int]
    ) -> None:
        mode, example, change = fault_case
        agency = kit.plugins.service(example.service).service.agency
        code, outcome = FAULT_OUTCOMES[mode][change]
        kit.fault(
            agency,
            mode=mode,
            times=1,
            hang_seconds=self.timeout + 1.0,
            only=example.call if change else None,
        )
        reply = kit.transact(example.service, example.params, example.citizen, "kit-metropolis")
        body = reply.get_json()
        assert (body.get("code"), body.get("outcome")) == (code, outcome), body
