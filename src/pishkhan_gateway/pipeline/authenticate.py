"""Step 1: who is at the counter. The office's credential and its registered operator (one
query), then whether the office may serve now (its licence) and has quota left.

A refusal after the credential was accepted still names the office: ``authenticate`` returns the
``Counter`` first and ``admit`` judges it, so the recorded refusal carries the office.
"""

from __future__ import annotations

from dataclasses import dataclass

from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
from pishkhan_gateway.pipeline.quotas import Quotas
from pishkhan_gateway.registry import offices
from pishkhan_gateway.registry.counters import CounterCache
from pishkhan_gateway.store import Store


@dataclass(frozen=True)
class Counter:
    """The office and the operator (by pseudonym) behind a request."""

    office: offices.OfficeView
    operator: str


def authenticate(
    store: Store,
    pseudonyms: Pseudonymizer,
    authorization: str | None,
    operator: str | None,
    cache: CounterCache | None = None,
) -> Counter:
    """The office credential, then the operator registered to that office (one query, or none
    while the registry is unchanged: ``registry/counters.py``).

    ``Unauthorized`` or ``OperatorNotRegistered``; when the credential was good (or merely
    revoked or expired) the error's ``office_id`` names its office.
    """
    office, pseudonym = offices.authenticate_counter(
        store, pseudonyms, authorization, operator, cache
    )
    return Counter(office, pseudonym)


def admit(counter: Counter, quotas: Quotas) -> None:
    """The licence in force (``office_suspended``, ``office_revoked``, ``licence_expired``), then
    one transaction off the office's and operator's quotas (``rate_limited``)."""
    offices.check_licence(counter.office)
    quotas.take(counter.office.id, counter.operator)
