"""Pishkhan Gateway: one endpoint between government service counters and the agencies.

This module is the plugin SDK: an agency plugin imports what it needs from here and nothing
deeper (``tests/test_plugin_sdk.py`` fails a plugin that reaches further); its tests also use
the test kit, ``pishkhan_gateway.testkit``. The contract itself, every hook and when it is
called, is ``pishkhan_gateway/sdk/hookspecs.py``::

    from pishkhan_gateway import Agency, Result, Service, hookimpl, declared_services, soap

- values crossing the contract: ``Agency``, ``Service``, ``AgencyContext``, ``Citizen``,
  ``Result``, ``CitizenRecord``;
- what a plugin may raise: ``InvalidParams``, ``AgencyRejected``, ``AgencyUnavailable``,
  ``AgencyTimeout``, and for identity providers ``IdentityMismatch``, ``CitizenDeceased``;
- calling the agency: ``soap`` (a hardened zeep client, ``soap.call``) and ``rest``
  (``rest.call``), both ending on the agency's deadline and mapping transport failures;
- the contract files: ``declared_services`` (``services.json`` → ``Service`` values);
- sandboxes: ``Sandbox``, ``SoapSandbox``, ``SoapFault``, ``JsonSandbox``, ``JsonError``;
- typed dates and digits: ``parse_date`` (Jalali, any digits), ``ascii_digits``.

Heavier parts (zeep, the sandbox server) load on first use, so importing the package is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

import pluggy

from pishkhan_gateway.errors import (
    AgencyRejected,
    AgencyTimeout,
    AgencyUnavailable,
    CitizenDeceased,
    IdentityMismatch,
    InvalidParams,
)
from pishkhan_gateway.jalali import ascii_digits, parse_date
from pishkhan_gateway.sdk.values import (
    Agency,
    AgencyContext,
    Citizen,
    CitizenRecord,
    Result,
    Service,
)

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("pishkhan_gateway")

# name → (module, attribute or None for the module itself), loaded on first access
_LAZY = {
    "soap": ("pishkhan_gateway.sdk.soap", None),
    "rest": ("pishkhan_gateway.sdk.rest", None),
    "declared_services": ("pishkhan_gateway.sdk.contract", "declared_services"),
    "Sandbox": ("pishkhan_gateway.sdk.sandboxkit", "Sandbox"),
    "SoapSandbox": ("pishkhan_gateway.sdk.sandboxkit", "SoapSandbox"),
    "SoapFault": ("pishkhan_gateway.sdk.sandboxkit", "SoapFault"),
    "JsonSandbox": ("pishkhan_gateway.sdk.sandboxkit", "JsonSandbox"),
    "JsonError": ("pishkhan_gateway.sdk.sandboxkit", "JsonError"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pishkhan_gateway' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    loaded = importlib.import_module(module)
    value = loaded if attribute is None else getattr(loaded, attribute)
    globals()[name] = value
    return value


__all__ = [
    "Agency",
    "AgencyContext",
    "AgencyRejected",
    "AgencyTimeout",
    "AgencyUnavailable",
    "Citizen",
    "CitizenDeceased",
    "CitizenRecord",
    "IdentityMismatch",
    "InvalidParams",
    "JsonError",
    "JsonSandbox",
    "Result",
    "Sandbox",
    "Service",
    "SoapFault",
    "SoapSandbox",
    "__version__",
    "ascii_digits",
    "declared_services",
    "hookimpl",
    "parse_date",
    "rest",
    "soap",
]
