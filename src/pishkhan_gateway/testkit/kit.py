"""The kit's parts: the examples an agency writes, and a throwaway gateway with its sandbox."""

from __future__ import annotations

import importlib.metadata
import re
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
from pishkhan_gateway.plugins.door import Plugins
from pishkhan_gateway.plugins.manager import ENTRY_POINT_GROUP, load_plugins
from pishkhan_gateway.registry import offices
from pishkhan_gateway.sdk import sandboxkit
from pishkhan_gateway.sdk.contract import read_services
from pishkhan_gateway.sdk.values import CitizenRecord

OPERATOR = "0790419904"  # a well-formed national code for the kit's counter operator
# The tariff the kit's gateway runs under: every service of the plugin priced at this cap, so a
# payment example can charge the office fee at its cap (and a rial over it is refused).
FEE_CAP = 35_000

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


@dataclass(frozen=True)
class Invalid:
    """Params the gateway must refuse before the agency hears of them: ``invalid_params``, by
    the contract's ``params_schema`` or the plugin's own ``pishkhan_check_params`` (a bill id
    whose check digit is wrong, a date in the future, …). ``field`` names the parameter."""

    service: str
    params: Mapping[str, Any]
    citizen: Mapping[str, str] = field(default_factory=dict)
    field: str | None = None


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
        return CitizenRecord(national_code, parse_date(person["birth_date"]), alive=True)

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
    last_request: tuple[dict[str, Any], dict[str, str]] = ({}, {})

    def headers(self, office: str = "kit-metropolis") -> dict[str, str]:
        return dict(self.counters[office])

    def reset(self) -> None:
        for url in self.sandbox_urls.values():
            requests.post(url + "_sandbox/reset", timeout=5)

    def fault(self, agency: str, **knobs: Any) -> None:
        requests.post(
            self.sandbox_urls[agency] + "_sandbox/faults", json=knobs, timeout=5
        ).raise_for_status()

    def with_code(
        self, service: str, citizen: Mapping[str, str], office: str = "kit-metropolis"
    ) -> dict[str, str]:
        """``citizen`` with a one-time code, asked for (``POST /v1/otp``) and read from the SMS,
        when the service is at identity level 3; as given otherwise."""
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
        return citizen

    def transact(
        self,
        service: str,
        params: Mapping[str, Any],
        citizen: Mapping[str, str],
        office: str = "kit-metropolis",
        *,
        office_fee: int = 0,
        key: str | None = None,
        coded: bool = False,
    ) -> Any:
        """``POST /v1/transactions`` as a counter would, asking for a one-time code first when
        the service is at identity level 3 (unless ``coded``: ``citizen`` is from
        ``with_code``)."""
        if not coded:
            citizen = self.with_code(service, citizen, office)
        body = {
            "service": service,
            "params": dict(params),
            "citizen": citizen,
            "office_fee": office_fee,
        }
        headers = self.headers(office)
        if key is not None:
            headers["Idempotency-Key"] = key
        self.last_request = (body, headers)
        return self.client.post("/v1/transactions", json=body, headers=headers)

    def resend(self) -> Any:
        """The last ``POST /v1/transactions`` again, byte for byte (a counter's retry)."""
        body, headers = self.last_request
        return self.client.post("/v1/transactions", json=body, headers=headers)

    @property
    def gateway(self) -> Any:
        """The kit's gateway (``app.extensions["pishkhan"]``)."""
        return self.app.extensions["pishkhan"]

    def state(self, agency: str) -> Any:
        """The sandbox's own ledger (``GET /_sandbox/state``)."""
        reply = requests.get(self.sandbox_urls[agency] + "_sandbox/state", timeout=5)
        reply.raise_for_status()
        return reply.json()

    def reconcile(self, transaction_id: str) -> Any:
        """Run the gateway's reconciliation, as ``pishkhan-gateway reconcile`` does; the
        settlement of ``transaction_id``."""
        from pishkhan_gateway.pipeline.reconcile import reconcile

        with self.app.app_context():
            settlements = {s.transaction_id: s for s in reconcile(self.gateway)}
        assert transaction_id in settlements, f"{transaction_id} was not left unknown"
        return settlements[transaction_id]

    def execute_again(self, example: Any, transaction_id: str) -> Any:
        """Call the plugin's ``pishkhan_execute`` once more with a tracking id the agency has
        seen (through the core's door, as the pipeline calls it): the ``Result``, or the
        ``AgencyRejected`` the agency answered."""
        from pishkhan_gateway.errors import AgencyRejected
        from pishkhan_gateway.sdk.values import Citizen

        registered = self.plugins.service(example.service)
        citizen = example.citizen
        birth = citizen.get("birth_date")
        try:
            return self.plugins.execute(
                service=registered,
                params=example.params,
                citizen=Citizen(
                    national_code=citizen.get("national_code"),
                    birth_date=parse_date(birth) if birth else None,
                    mobile=citizen.get("mobile"),
                    level=registered.service.identity_level,
                ),
                agency=self.gateway.agency(registered.service.agency),
                transaction_id=transaction_id,
                agency_amount=example.agency_amount or 0,
            )
        except AgencyRejected as refused:
            return refused


def _entry_point(name: str) -> importlib.metadata.EntryPoint:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep
    raise pytest.UsageError(f"no {ENTRY_POINT_GROUP} entry point named {name!r}: pip install it")


def contract_dir(plugin: str) -> Path:
    """``contract/`` beside the plugin's module (where its package ships ``contracts/<agency>``)."""
    package = _entry_point(plugin).value.split(":")[0].rsplit(".", 1)[0]
    return Path(str(resources.files(package).joinpath("contract")))


def build(cls: Any, workdir: Path) -> Iterator[Kit]:
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
    gw.tariffs.load(
        {
            "name": "the test kit's tariff",
            "effective": "1390-01-01",
            "caps": {s.service.id: {"all": FEE_CAP} for s in plugins.catalog()},
        }
    )
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


def fault_modes(plugin: str) -> tuple[str, ...]:
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


def is_inquiry(plugin: str, service_id: str) -> bool:
    """Whether the contract declares ``service_id`` an inquiry."""
    contract = read_services(contract_dir(plugin) / "services.json")
    return contract["services"].get(service_id, {}).get("kind") == "inquiry"
