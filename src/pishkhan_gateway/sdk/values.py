"""The values that cross the plugin contract (see ``hookspecs.py`` for when each is used).

Plugins build ``Agency`` and ``Service`` to declare themselves, receive ``AgencyContext`` and
``Citizen`` in calls, and return ``Result`` and ``CitizenRecord``. All are frozen dataclasses: the
core never lets a plugin's object change under it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["inquiry", "payment", "request"]
KINDS: tuple[str, ...] = ("inquiry", "payment", "request")


@dataclass(frozen=True)
class Agency:
    """An agency a plugin adapts.

    ``name`` is a short lowercase word (``postbank``) used in service ids, configuration
    (``PISHKHAN_AGENCY_POSTBANK_URL``) and supervisor scopes (``agency:postbank``).
    ``default_url`` is where its backend lives when configuration says nothing.
    ``sandbox`` builds the WSGI application of the agency's sandbox (deterministic sample data and
    fault knobs) that ``pishkhan-gateway sandbox``, ``demo`` and the tests serve on loopback.
    ``not_found_codes``: the agency's own codes that mean "I never saw this tracking id". Only an
    ``AgencyRejected`` from ``pishkhan_reconcile`` carrying one of them settles a payment
    ``not_applied``; any other refusal (an auth error, a proxy's 404) proves nothing and leaves it
    ``unknown`` for the next round.
    """

    name: str
    title_fa: str
    title_en: str
    default_url: str | None = None
    timeout: float = 10.0
    sandbox: Callable[[], Callable[..., Any]] | None = None
    not_found_codes: tuple[str, ...] = ("NOT_FOUND",)


@dataclass(frozen=True)
class Service:
    """A counter service, as it appears in the catalog.

    ``id`` is ``<agency>.<dotted.name>`` and must start with the agency's name.
    ``identity_level``: 0 none, 1 national code well formed, 2 matched against the Civil Registry,
    3 plus mobile ownership and a one-time code. ``kind``: ``inquiry`` (reads, safe to retry),
    ``payment`` (moves money) or ``request`` (changes state at the agency); only inquiries are ever
    retried. ``params_schema`` (JSON Schema 2020-12) is enforced by the core before any hook sees
    the params; ``result_schema``, if given, is enforced on what ``pishkhan_execute`` returns.
    ``registry_id``, if given, is the service's id in the national service registry (letters,
    digits, ``.``, ``_``, ``-``; at most 40): the catalog and the coverage report show it.
    """

    id: str
    agency: str
    title_fa: str
    title_en: str
    identity_level: int
    kind: Kind
    params_schema: Mapping[str, Any]
    result_schema: Mapping[str, Any] | None = None
    description: str = ""
    registry_id: str | None = None


@dataclass(frozen=True)
class AgencyContext:
    """How to reach the agency's backend right now: from configuration, else the declaration."""

    name: str
    url: str | None
    timeout: float
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Citizen:
    """The citizen at the counter, as verified by the core (``level`` reached).

    ``national_code`` is normalised to ASCII digits; it is personal data: a plugin may send it to
    its agency but must never log it.
    """

    national_code: str | None = None
    birth_date: dt.date | None = None
    mobile: str | None = None
    level: int = 0


@dataclass(frozen=True)
class Result:
    """What the agency did: ``data`` is the service result shown to the office (validated against
    ``result_schema``), ``reference`` the agency's own tracking number for the receipt."""

    data: Mapping[str, Any]
    reference: str | None = None


@dataclass(frozen=True)
class CitizenRecord:
    """The Civil Registry's answer for a national code (used at identity level 2)."""

    national_code: str
    birth_date: dt.date
    alive: bool
    first_name: str | None = None
    last_name: str | None = None
