"""gunicorn configuration for production::

    gunicorn -c python:pishkhan_gateway.gunicorn_conf 'pishkhan_gateway.wsgi:app'

Any value can be overridden on the command line or in ``GUNICORN_CMD_ARGS``.

Worker model: one process per core (``PISHKHAN_WORKERS``), each with threads (``gthread``,
``PISHKHAN_THREADS``, default 32 — more than ``PISHKHAN_MAX_IN_FLIGHT``, so that excess load
reaches the gateway's admission control and is refused there, fast, instead of waiting unseen in
gunicorn's queue). A transaction mostly waits — on the agency over
the network and on the database commit — and threads overlap that waiting (both release the GIL)
without a process per request. Workers are not preloaded: each opens its own database pool, key
files and sealer thread after the fork. Concurrency is bounded twice: by the threads, and by the
gateway's admission control (``PISHKHAN_MAX_IN_FLIGHT``), which refuses beyond it at once
(503 ``overloaded``) instead of queueing without bound.

Metrics: ``PROMETHEUS_MULTIPROC_DIR`` is set before workers fork so ``/metrics`` from any worker
sums all of them; a dead worker's live gauges are dropped.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("PISHKHAN_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("PISHKHAN_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("PISHKHAN_THREADS", "32"))
backlog = 256
timeout = 60  # longer than any agency timeout plus the database
graceful_timeout = 30
keepalive = 5
max_requests = 20000  # recycle workers now and then: bounded memory over months
max_requests_jitter = 2000
limit_request_line = 8190
limit_request_fields = 64
# above the app's 8 KiB, so most oversized headers get a problem document (431) from the app
limit_request_field_size = 16384
accesslog = "-"
# No query strings in the access log: a supervisor's search may carry a national code.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="pishkhan-metrics-")
)


def post_fork(server: object, worker: object) -> None:
    """Hand the GIL on every ``PISHKHAN_SWITCH_INTERVAL_MS`` (1; CPython's default is 5): a
    request that will only be refused, or whose database commit is done, waits less behind
    threads busy with other transactions. Measured at twice capacity (BENCHMARKS.md): admitted
    p99 ≈ 630 ms instead of 790–1,110, refusals p99 120–230 ms instead of 170–480, peak the
    same."""
    import sys

    sys.setswitchinterval(float(os.environ.get("PISHKHAN_SWITCH_INTERVAL_MS", "1")) / 1000)


def post_worker_init(worker: object) -> None:
    """Start the worker's sealer at once, not on its first request: entries written by the CLI
    (reconcile) or by another host are sealed within the seal interval even with no traffic."""
    app = getattr(worker, "wsgi", None)
    gateway = getattr(app, "extensions", {}).get("pishkhan")
    if gateway is not None:  # not when the app failed to load (gunicorn serves an error app)
        gateway.sealer.ensure_running(float(app.config["SEAL_INTERVAL_SECONDS"]))


def on_starting(server: object) -> None:
    """Start with an empty metrics directory (stale files would double the counts)."""
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    """Forget a dead worker's live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
