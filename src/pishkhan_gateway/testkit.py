"""The agency plugin test kit: a pytest plugin (entry point ``pytest11: pishkhan``) that an agency
runs in its own repository to prove its adapter against its contract.

Subclass ``AgencyPluginTests`` in a test module, name your plugin's entry point and give one
example per service; pytest then collects these checks::

    from pishkhan_gateway.testkit import AgencyPluginTests, Example, Refusal

    class TestMyAgency(AgencyPluginTests):
        plugin = "myagency"  # its name under [project.entry-points.pishkhan_gateway]
        examples = [Example("myagency.case.inquiry", {"case_no": "12"}, expect={"status": "open"})]
        refusals = [Refusal("myagency.case.inquiry", {"case_no": "0"}, agency_code="NOT_FOUND")]

- **loads cleanly**: the entry point imports, every ``pishkhan_*`` function is a known hook marked
  ``@hookimpl``, and every agency and service declaration is valid;
- **matches the contract**: the services declared equal ``contract/services.json`` (titles, identity
  level, kind, schemas), every WSDL in the contract loads offline with DTDs, entities and network
  access forbidden, and the sandbox serves the contract's own WSDL / OpenAPI file;
- **every service works**: each ``Example`` runs through a real gateway (``POST /v1/transactions``
  on a throwaway SQLite database) against the agency's sandbox, is recorded as succeeded, returns
  what ``expect`` says and charges ``agency_amount``; inquiries give the same answer to a metropolis
  pishkhan office and a village ICT office (every office is served alike);
- **errors map as documented**: every fault knob of the sandbox, on the first inquiry and the first
  payment/request example, yields the gateway code and outcome in ``FAULT_OUTCOMES``; each
  ``Refusal`` yields ``agency_rejected`` with the agency's own code.

Citizens for identity levels 2 and 3 come from the examples: a stand-in registry and
mobile-ownership check answer for them, unless the plugin under test is itself that provider.
One-time codes are read from whatever SMS hook sends them. The sandbox comes from the plugin's
``Agency.sandbox``; set ``sandbox_url`` to test against an agency test server instead.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import requests

from pishkhan_gateway import hookimpl
from pishkhan_gateway.errors import IdentityMismatch
from pishkhan_gateway.jalali import parse_date
from pishkhan_gateway.plugins import ENTRY_POINT_GROUP, Plugins, load_plugins
from pishkhan_gateway.registry import offices
from pishkhan_gateway.sdk import sandboxkit
from pishkhan_gateway.sdk.contract import FIELDS, read_services
from pishkhan_gateway.sdk.values import CitizenRecord

OPERATOR = "0790419904"  # a well-formed national code for the kit's counter operator

# The documented mapping of agency faults (sandbox knob) to the gateway's code and outcome, for an
# inquiry and for a payment or request (whose outcome may be unknown: reconcile settles it).
FAULT_OUTCOMES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "http500": (("agency_error", "failed"), ("agency_timeout", "unknown")),
    "http503": (("agency_unavailable", "failed"), ("agency_unavailable", "failed")),
    "soap_fault": (("agency_unavailable", "failed"), ("agency_unavailable", "failed")),
    "malformed": (("agency_error", "failed"), ("agency_timeout", "unknown")),
    "hang": (("agency_timeout", "failed"), ("agency_timeout", "unknown")),
    "slow_reply": (("agency_timeout", "failed"), ("agency_timeout", "unknown")),
    "drop_after_apply": (("agency_error", "failed"), ("agency_timeout", "unknown")),
    "oversized": (("agency_error", "failed"), ("agency_timeout", "unknown")),
    "xxe": (("agency_error", "failed"), ("agency_timeout", "unknown")),
    "xxe_http": (("agency_error", "failed"), ("agency_timeout", "unknown")),
    "dtd": (("agency_error", "failed"), ("agency_timeout", "unknown")),
    "deep_xml": (("agency_error", "failed"), ("agency_timeout", "unknown")),
}


@dataclass(frozen=True)
class Example:
    """One successful call of a service. ``citizen``: ``national_code``, ``birth_date`` (Jalali),
    ``mobile`` as the service's identity level needs. ``expect``: fields the result must carry.
    ``call``: a fragment of the agency call ``pishkhan_execute`` makes (SOAP operation or path),
    so fault tests break that call and not an identity or quote call before it."""

    service: str
    params: Mapping[str, Any]
    citizen: Mapping[str, str] = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)
    agency_amount: int | None = None
    call: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A call the agency refuses: the gateway must answer ``code`` with ``agency_code``."""

    service: str
    params: Mapping[str, Any]
    citizen: Mapping[str, str] = field(default_factory=dict)
    agency_code: str | None = None
    code: str = "agency_rejected"


def _jalali(text: str) -> dt.date:
    return parse_date(text)


class _StandIns:
    """Identity providers for the kit, answering for the examples' citizens only; and a wrapper
    that reads every SMS so one-time codes can be typed in."""

    def __init__(self, citizens: Sequence[Mapping[str, str]]) -> None:
        self.people = {c["national_code"]: c for c in citizens if "national_code" in c}
        self.texts: list[str] = []

    def lookup(self, national_code: str) -> CitizenRecord:
        person = self.people.get(national_code)
        if person is None or "birth_date" not in person:
            raise IdentityMismatch()
        return CitizenRecord(national_code, _jalali(person["birth_date"]), alive=True)

    def plugins(self, provided: set[str]) -> tuple[object, object]:
        """Plugin objects: the stand-ins the plugin under test does not provide itself, and
        a hook wrapper that reads every SMS, whoever sends it."""
        stand_ins = self
        namespace: dict[str, Any] = {}
        if "pishkhan_identity_lookup" not in provided:

            @hookimpl
            def pishkhan_identity_lookup(national_code: str, agencies: Any) -> CitizenRecord:
                return stand_ins.lookup(national_code)

            namespace["pishkhan_identity_lookup"] = staticmethod(pishkhan_identity_lookup)
        if "pishkhan_mobile_owner" not in provided:

            @hookimpl
            def pishkhan_mobile_owner(mobile: str, national_code: str, agencies: Any) -> bool:
                return stand_ins.people.get(national_code, {}).get("mobile") == mobile

            namespace["pishkhan_mobile_owner"] = staticmethod(pishkhan_mobile_owner)
        if "pishkhan_send_sms" not in provided:

            @hookimpl
            def pishkhan_send_sms(mobile: str, text: str, agencies: Any) -> bool:
                return True

            namespace["pishkhan_send_sms"] = staticmethod(pishkhan_send_sms)

        @hookimpl(wrapper=True)
        def read_sms(mobile: str, text: str, agencies: Any) -> Any:
            stand_ins.texts.append(text)
            return (yield)

        reader = type("SmsReader", (), {"pishkhan_send_sms": staticmethod(read_sms)})
        return type("StandIns", (), namespace)(), reader()


@dataclass
class Kit:
    """A gateway on a throwaway database with the plugin under test and its sandbox."""

    plugin: str
    plugins: Plugins
    app: Any
    client: Any
    sandbox_urls: dict[str, str]
    stand_ins: _StandIns
    counters: dict[str, dict[str, str]]

    def headers(self, office: str = "kit-metropolis") -> dict[str, str]:
        return dict(self.counters[office])

    def reset(self) -> None:
        for url in self.sandbox_urls.values():
            requests.post(url + "_sandbox/reset", timeout=5)

    def fault(self, agency: str, **knobs: Any) -> None:
        requests.post(
            self.sandbox_urls[agency] + "_sandbox/faults", json=knobs, timeout=5
        ).raise_for_status()

    def transact(
        self, service: str, params: Mapping[str, Any], citizen: Mapping[str, str], office: str
    ) -> Any:
        """``POST /v1/transactions`` as a counter would, asking for a one-time code first when
        the service is at identity level 3."""
        citizen = dict(citizen)
        registered = self.plugins.service(service)
        if registered is not None and registered.service.identity_level == 3:
            sent = self.client.post(
                "/v1/otp",
                json={"service": service, "citizen": citizen},
                headers=self.headers(office),
            )
            assert sent.status_code == 202, f"POST /v1/otp failed: {sent.get_json()}"
            citizen["otp"] = re.findall(r"[0-9]{6}", self.stand_ins.texts[-1])[0]
        body = {"service": service, "params": dict(params), "citizen": citizen, "office_fee": 0}
        return self.client.post("/v1/transactions", json=body, headers=self.headers(office))


def _entry_point(name: str) -> importlib.metadata.EntryPoint:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep
    raise pytest.UsageError(f"no {ENTRY_POINT_GROUP} entry point named {name!r}: pip install it")


def contract_dir(plugin: str) -> Path:
    """``contract/`` beside the plugin's module (where its package ships ``contracts/<agency>``)."""
    package = _entry_point(plugin).value.split(":")[0].rsplit(".", 1)[0]
    return Path(str(resources.files(package).joinpath("contract")))


def _build(cls: type[AgencyPluginTests], workdir: Path) -> Iterator[Kit]:
    from pishkhan_gateway.app import create_app

    module = _entry_point(cls.plugin).load()
    provided = {name for name in dir(module) if name.startswith("pishkhan_")}
    citizens = [e.citizen for e in (*cls.examples, *cls.refusals)]
    stand_ins = _StandIns(citizens)
    others = [
        ep.name
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.name != cls.plugin
    ]
    stand_in, reader = stand_ins.plugins(provided)
    plugins = load_plugins(
        blocked=others, extra=[("testkit-stand-ins", stand_in), ("testkit-sms", reader)]
    )
    agencies = {name: a for name, a in plugins.agencies.items()}
    running: list[sandboxkit.RunningSandbox] = []
    if cls.sandbox_url:
        urls = {name: cls.sandbox_url for name in agencies}
    else:
        apps = [(a.name, a.sandbox()) for a in agencies.values() if a.sandbox]
        running = sandboxkit.serve(apps)
        urls = {s.name: s.url for s in running}
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'kit.db'}",
            "DATA_DIR": str(workdir),
            "SEAL_INTERVAL_SECONDS": 0,
            "INQUIRY_RETRIES": 0,
            # the kit checks the plugin's mapping, not the core's breaker or OTP rate limit
            "BREAKER_FAILURES": 1_000_000,
            "OTP_SENDS_PER_WINDOW": 1_000_000,
            "OFFICE_RATE_LIMIT": "1000000/minute",
            "OPERATOR_RATE_LIMIT": "1000000/minute",
            "TARIFF_CACHE_SECONDS": 0,
            "AGENCIES": {
                name: {"url": url, "timeout": str(cls.timeout)} for name, url in urls.items()
            },
        },
        plugins=plugins,
    )
    gw = app.extensions["pishkhan"]
    gw.store.upgrade()
    counters = {}
    for office_id, kind, category in (
        ("kit-metropolis", "pishkhan", "metropolis"),
        ("kit-village", "rural_ict", "village"),
    ):
        offices.add_office(
            gw.store,
            id=office_id,
            licence_no=f"KIT-{office_id}",
            name=office_id,
            type=kind,
            province="Tehran" if category == "metropolis" else "Fars",
            city="Tehran" if category == "metropolis" else "Kamfiruz",
            category=category,
        )
        offices.add_operator(gw.store, gw.pseudonyms, office_id, OPERATOR)
        counters[office_id] = {
            "Authorization": f"Bearer {offices.issue_key(gw.store, office_id)}",
            "X-Operator": OPERATOR,
        }
    yield Kit(cls.plugin, plugins, app, app.test_client(), urls, stand_ins, counters)
    for sandbox in running:
        sandbox.stop()
    gw.store.dispose()


@pytest.fixture(scope="class")
def pishkhan_kit(request: pytest.FixtureRequest) -> Iterator[Kit]:
    """The kit for the ``AgencyPluginTests`` subclass being run."""
    with tempfile.TemporaryDirectory(prefix="pishkhan-kit-") as workdir:
        yield from _build(request.cls, Path(workdir))


@pytest.fixture
def kit(pishkhan_kit: Kit) -> Iterator[Kit]:
    """The class's kit with its sandboxes reset before the test."""
    pishkhan_kit.reset()
    yield pishkhan_kit


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the kit's tests over the subclass's examples, refusals and fault knobs."""
    cls = metafunc.cls
    if cls is None or not issubclass(cls, AgencyPluginTests):
        return
    if "example" in metafunc.fixturenames:
        metafunc.parametrize("example", cls.examples, ids=[e.service for e in cls.examples])
    if "refusal" in metafunc.fixturenames:
        ids = [f"{r.service}-{r.agency_code}" for r in cls.refusals]
        metafunc.parametrize("refusal", cls.refusals, ids=ids)
    if "fault_case" in metafunc.fixturenames:
        cases = cls.fault_cases()
        metafunc.parametrize("fault_case", cases, ids=[f"{m}-{e.service}" for m, e, _ in cases])


def _modes(plugin: str) -> tuple[str, ...]:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == plugin:
            for agency in _declared_agencies(ep.load()):
                if agency.sandbox is not None:
                    app = agency.sandbox()
                    return tuple(m for m in getattr(app, "MODES", ()) if m in FAULT_OUTCOMES)
    return ()


def _declared_agencies(module: Any) -> list[Any]:
    """What a plugin module's ``pishkhan_agencies`` declares (without a plugin manager)."""
    declare = getattr(module, "pishkhan_agencies", None)
    return list(declare() or []) if declare else []


class AgencyPluginTests:
    """Subclass in your tests (name it ``Test…``); see the module docstring."""

    plugin: str = ""
    examples: Sequence[Example] = ()
    refusals: Sequence[Refusal] = ()
    sandbox_url: str | None = None
    timeout: float = 1.0  # the agency timeout the kit's gateway uses (faults stall past it)

    @classmethod
    def fault_cases(cls) -> list[tuple[str, Example, int]]:
        """(mode, example, 0 inquiry / 1 payment or request) for every knob of the sandbox."""
        chosen = []
        for wanted in (True, False):
            for example in cls.examples:
                if _is_inquiry(cls.plugin, example.service) == wanted:
                    chosen.append((example, 0 if wanted else 1))
                    break
        return [(mode, e, i) for mode in _modes(cls.plugin) for e, i in chosen]

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
        if _is_inquiry(self.plugin, example.service):
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


def _is_inquiry(plugin: str, service_id: str) -> bool:
    contract = read_services(contract_dir(plugin) / "services.json")
    return contract["services"].get(service_id, {}).get("kind") == "inquiry"
