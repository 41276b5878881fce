"""Pishkhan Gateway: one endpoint between government service counters and the agencies.

Plugins import what they need from here and nothing deeper::

    from pishkhan_gateway import hookimpl, Agency, Service, Result, AgencyRejected
"""

import pluggy

from pishkhan_gateway.agency import Agency, AgencyContext, Citizen, CitizenRecord, Result, Service
from pishkhan_gateway.errors import (
    AgencyRejected,
    AgencyTimeout,
    AgencyUnavailable,
    CitizenDeceased,
    IdentityMismatch,
    InvalidParams,
)

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("pishkhan_gateway")

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
    "Result",
    "Service",
    "__version__",
    "hookimpl",
]
