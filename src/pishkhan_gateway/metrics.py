"""Prometheus metrics at ``/metrics`` (prometheus_client).

Under gunicorn each worker is a process: ``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR``
before workers start, every worker writes its counters there, and a scrape of any worker sums them
all (``MultiProcessCollector``). Without that variable (the development server, tests) the
process's own registry is served.

Counted on the request path: transactions by service, outcome and code, their latency, agency
call latency by agency and kind, refused access by code, breaker state per agency. Read from the
database at scrape time: log size, signed tree size and sealer lag (entries not yet under a signed
head), licences expiring, the witnesses, and each agency's availability over the last five minutes
from the transaction record (``oversight.agencies.recent``: the same figures as the ledger API).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text

from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.oversight.agencies import recent
from pishkhan_gateway.store import Store

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # a server creates it; a CLI run may come first
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

TRANSACTIONS = Counter(
    "pishkhan_transactions",
    "Counter transactions by service, outcome and code (code empty when succeeded).",
    ["service", "outcome", "code"],
)
TRANSACTION_SECONDS = Histogram(
    "pishkhan_transaction_seconds",
    "Time from request to recorded outcome, by service.",
    ["service"],
    buckets=BUCKETS,
)
AGENCY_SECONDS = Histogram(
    "pishkhan_agency_call_seconds",
    "Agency calls (execute, with retries for inquiries), by agency, kind and result.",
    ["agency", "kind", "result"],
    buckets=BUCKETS,
)
COMMIT_BATCH = Histogram(
    "pishkhan_commit_batch_size",
    "Outcomes recorded per database commit (group commit; 1 when the load is light).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
OVERLOAD_REFUSALS = Counter(
    "pishkhan_overload_refusals", "Transactions refused for want of a free slot."
)
UNRECORDED_REFUSALS = Counter(
    "pishkhan_unrecorded_refusals",
    "Over-quota refusals answered but not written to the log (one per office per window is).",
    ["code"],
)
ACCESS_DENIED = Counter(
    "pishkhan_access_denied",
    "Refused access outside the transaction endpoint (bad credentials, out of scope, not yours).",
    ["code"],
)
BREAKER = Gauge(
    "pishkhan_breaker_state",
    "Circuit breaker per agency: 0 closed, 1 half-open, 2 open (the worst of the workers).",
    ["agency"],
    multiprocess_mode="max",
)


class LogCollector(Collector):
    """Log size, signed tree size and sealer lag, read at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.store.read() as session:
            size = session.execute(text("SELECT size FROM log_state WHERE id = 1")).scalar() or 0
            sealed = session.execute(text("SELECT MAX(tree_size) FROM tree_heads")).scalar() or 0
        yield GaugeMetricFamily("pishkhan_log_entries", "Entries in the transaction log.", size)
        yield GaugeMetricFamily(
            "pishkhan_log_signed_entries", "Entries under the latest signed tree head.", sealed
        )
        yield GaugeMetricFamily(
            "pishkhan_sealer_lag_entries", "Entries not yet under a signed head.", size - sealed
        )


class LicenceCollector(Collector):
    """Licences of offices not revoked that expire within 90, 30 and 7 days, or have expired
    (``pishkhan_licences_expiring{within=…}``), read at scrape time: the renewal warnings."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        today = dt.datetime.now(TEHRAN).date()
        with self.store.read() as session:
            rows = session.execute(text("SELECT expires_on FROM offices WHERE status != 'revoked'"))
            days = [(_date(expires) - today).days for (expires,) in rows]
        family = GaugeMetricFamily(
            "pishkhan_licences_expiring",
            "Licences (not revoked) expiring within the window, or expired.",
            labels=["within"],
        )
        family.add_metric(["expired"], sum(1 for d in days if d < 0))
        for window in (7, 30, 90):
            family.add_metric([str(window)], sum(1 for d in days if 0 <= d <= window))
        yield family


def _date(value: object) -> Any:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


class WitnessCollector(Collector):
    """The newest checkpoint's cosignatures against the quorum, each witness's last cosigned
    size, and whether a witness holds a longer log than this one (a rollback)."""

    def __init__(self, store: Store, quorum: int, rolled_back: dict[str, int]) -> None:
        self.store, self.quorum, self.rolled_back = store, quorum, rolled_back

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.store.read() as session:
            cosigned = session.execute(
                text("SELECT witnesses FROM checkpoints ORDER BY tree_size DESC LIMIT 1")
            ).scalar()
            sizes = session.execute(text("SELECT name, size FROM witness_state")).all()
        yield GaugeMetricFamily(
            "pishkhan_checkpoint_cosignatures",
            "Witness cosignatures on the newest checkpoint.",
            cosigned or 0,
        )
        yield GaugeMetricFamily(
            "pishkhan_witness_quorum_met",
            "1 when the newest checkpoint has the quorum's cosignatures (PISHKHAN_WITNESS_QUORUM).",
            1 if (cosigned or 0) >= self.quorum else 0,
        )
        family = GaugeMetricFamily(
            "pishkhan_witness_cosigned_size",
            "The tree size each witness last cosigned.",
            labels=["witness"],
        )
        for name, size in sizes:
            family.add_metric([name], size)
        yield family
        yield GaugeMetricFamily(
            "pishkhan_log_rolled_back",
            "1 when a witness has cosigned a longer log than this database holds.",
            1 if self.rolled_back else 0,
        )


class AvailabilityCollector(Collector):
    """Each agency's last five minutes from the record: calls that reached it, failures by
    code, p50/p95 latency — outages as a fact on the dashboard, not an excuse."""

    WINDOW = dt.timedelta(minutes=5)

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = recent(self.store, self.WINDOW)
        calls = GaugeMetricFamily(
            "pishkhan_agency_recent_calls",
            "Calls that reached the agency in the last 5 minutes (from the record).",
            labels=["agency"],
        )
        failures = GaugeMetricFamily(
            "pishkhan_agency_recent_failures",
            "The agency's failures in the last 5 minutes, by code (from the record).",
            labels=["agency", "code"],
        )
        latency = GaugeMetricFamily(
            "pishkhan_agency_recent_latency_ms",
            "Latency of calls that reached the agency in the last 5 minutes (from the record).",
            labels=["agency", "quantile"],
        )
        for agency, entry in sorted(figures.items()):
            calls.add_metric([agency], entry["calls"])
            for code, n in sorted(entry["failures"].items()):
                failures.add_metric([agency, code], n)
            for quantile, key in (("0.5", "p50_ms"), ("0.95", "p95_ms")):
                if entry[key] is not None:
                    latency.add_metric([agency, quantile], entry[key])
        yield from (calls, failures, latency)


def exposition(
    store: Store, quorum: int = 0, rolled_back: dict[str, int] | None = None
) -> tuple[bytes, str]:
    """The scrape body and its content type."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for metric in (
            TRANSACTIONS,
            TRANSACTION_SECONDS,
            AGENCY_SECONDS,
            OVERLOAD_REFUSALS,
            UNRECORDED_REFUSALS,
            ACCESS_DENIED,
            BREAKER,
        ):
            registry.register(metric)
    registry.register(LogCollector(store))
    registry.register(LicenceCollector(store))
    registry.register(WitnessCollector(store, quorum, rolled_back or {}))
    registry.register(AvailabilityCollector(store))
    return generate_latest(registry), CONTENT_TYPE_LATEST
