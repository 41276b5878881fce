"""What ``/metrics`` reads from the database at scrape time, and the scrape itself.

Read at scrape time: log size, signed tree size and sealer lag (entries not yet under a signed
head), licences expiring, the witnesses, and each agency's availability over the last five minutes
from the transaction record (``records.agencies.recent``: the same figures as the ledger API).
The hot path's counters are ``instruments``. Under gunicorn each worker is a process:
``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before workers start, every worker writes
its counters there, and a scrape of any worker sums them all (``MultiProcessCollector``); without
it (the development server, tests) the process's own registry is served.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text

from pishkhan_gateway.instruments import (
    ACCESS_DENIED,
    AGENCY_SECONDS,
    BREAKER,
    OVERLOAD_REFUSALS,
    TRANSACTION_SECONDS,
    TRANSACTIONS,
    UNRECORDED_REFUSALS,
)
from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.records.agencies import recent
from pishkhan_gateway.store import Store


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
