"""The hot path's Prometheus instruments (prometheus_client): counted where things happen, served
at ``/metrics`` with the scrape-time figures of ``records.collectors``. A leaf: it imports nothing
of the gateway, so every step may count without pulling supervisors' code in.

Under gunicorn each worker writes its counters to ``PROMETHEUS_MULTIPROC_DIR`` (made here if
missing) and a scrape sums them all.

Counted on the request path: transactions by service, outcome and code, their latency, agency
call latency by agency and kind, refused access by code, breaker state per agency, overload and
unrecorded refusals, the group commit's batch sizes.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram

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
