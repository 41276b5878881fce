"""The agency plugin test kit: a pytest plugin (entry point ``pytest11: pishkhan``) that an agency
runs in its own repository to prove its adapter against its contract.

Subclass ``AgencyPluginTests`` in a test module, name your plugin's entry point and give one
example per service, a refusal per payment or request service, and params your plugin refuses;
pytest then collects these checks::

    from pishkhan_gateway.testkit import AgencyPluginTests, Example, Invalid, Refusal

    class TestMyAgency(AgencyPluginTests):
        plugin = "myagency"  # its name under [project.entry-points.pishkhan_gateway]
        examples = [Example("myagency.case.inquiry", {"case_no": "12"}, expect={"status": "open"})]
        refusals = [Refusal("myagency.case.inquiry", {"case_no": "0"}, agency_code="NOT_FOUND")]
        invalid = [Invalid("myagency.case.inquiry", {"case_no": "x"}, field="case_no")]

- **loads cleanly**: the entry point imports, every ``pishkhan_*`` function is a known hook marked
  ``@hookimpl``, and every agency and service declaration is valid;
- **matches the contract**: the services declared equal ``contract/services.json`` (titles, identity
  level, kind, schemas), every WSDL in the contract loads offline with DTDs, entities and network
  access forbidden, and the sandbox serves the contract's own WSDL / OpenAPI file;
- **every service works**: each ``Example`` runs through a real gateway (``POST /v1/transactions``
  on a throwaway SQLite database) against the agency's sandbox, is recorded as succeeded, returns
  what ``expect`` says and charges ``agency_amount``, in integer rials (a float anywhere in a
  result is the plugin's bug); inquiries give the same answer to a metropolis pishkhan office and
  a village ICT office (every office is served alike);
- **errors map as documented**: every fault knob of the sandbox, on every example, yields the
  gateway code and outcome in ``FAULT_OUTCOMES``; each ``Refusal`` yields ``agency_rejected``
  with the agency's own code;
- **the money paths** (``moneypaths``): refusals given for every payment and request, the fee at
  its cap, charged once (a replayed key, a tracking id sent again), reconcile right both ways,
  and invalid params (``Invalid``, and each example without a required parameter) refused before
  the agency hears of them.

Citizens for identity levels 2 and 3 come from the examples: a stand-in registry and
mobile-ownership check answer for them, unless the plugin under test is itself that provider.
One-time codes are read from whatever SMS hook sends them. The sandbox comes from the plugin's
``Agency.sandbox``; set ``sandbox_url`` to test against an agency test server instead. The
kit's gateway prices every service of the plugin at ``FEE_CAP`` rials.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pishkhan_gateway.testkit.checks import AgencyPluginTests
from pishkhan_gateway.testkit.kit import (
    FAULT_OUTCOMES,
    FEE_CAP,
    Example,
    Invalid,
    Kit,
    Refusal,
    build,
    contract_dir,
)

__all__ = [
    "FAULT_OUTCOMES",
    "FEE_CAP",
    "AgencyPluginTests",
    "Example",
    "Invalid",
    "Kit",
    "Refusal",
    "contract_dir",
]


@pytest.fixture(scope="class")
def pishkhan_kit(request: pytest.FixtureRequest) -> Iterator[Kit]:
    """The kit for the ``AgencyPluginTests`` subclass being run."""
    with tempfile.TemporaryDirectory(prefix="pishkhan-kit-") as workdir:
        yield from build(request.cls, Path(workdir))


@pytest.fixture
def kit(pishkhan_kit: Kit) -> Iterator[Kit]:
    """The class's kit with its sandboxes reset before the test."""
    pishkhan_kit.reset()
    yield pishkhan_kit


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the kit's tests over the subclass's examples, refusals, invalid params and
    fault knobs."""
    cls = metafunc.cls
    if cls is None or not issubclass(cls, AgencyPluginTests):
        return
    if "example" in metafunc.fixturenames:
        metafunc.parametrize("example", cls.examples, ids=[e.service for e in cls.examples])
    if "payment" in metafunc.fixturenames:
        payments = cls.payments()
        metafunc.parametrize("payment", payments, ids=[e.service for e in payments])
    if "refusal" in metafunc.fixturenames:
        ids = [f"{r.service}-{r.agency_code}" for r in cls.refusals]
        metafunc.parametrize("refusal", cls.refusals, ids=ids)
    if "invalid" in metafunc.fixturenames:
        cases = cls.invalid_cases()
        ids = [
            f"{c.service}-{'without-' if c.field not in c.params else ''}{c.field or i}"
            for i, c in enumerate(cases)
        ]
        metafunc.parametrize("invalid", cases, ids=ids)
    if "fault_case" in metafunc.fixturenames:
        cases = cls.fault_cases()
        metafunc.parametrize("fault_case", cases, ids=[f"{m}-{e.service}" for m, e, _ in cases])
