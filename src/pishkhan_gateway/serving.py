"""The production server: ``pishkhan-gateway serve --workers N`` runs granian (a Rust HTTP
server) with the WSGI app in N worker processes.

Why granian, measured in one run on this 2-core machine (BENCHMARKS.md): bare Flask answers
≈ 24,000 req/s under granian against ≈ 3,800 under gunicorn's ``gthread`` workers, so the server
takes a sixth of the CPU it took; the full transaction gains less (its own work dominates).
Granian's I/O is asynchronous (Rust, tokio): a slow client holds a connection, not a thread.
gunicorn with ``gunicorn_conf.py`` still works the same (``wsgi.py`` serves both).

Each worker imports ``pishkhan_gateway.wsgi``, which builds the app, starts its sealer and sets
the GIL switch interval. Requests run on ``PISHKHAN_THREADS`` blocking threads per worker
(default 32: more than ``PISHKHAN_MAX_IN_FLIGHT``, so excess load reaches the gateway's
admission control and is refused there at once). Metrics: ``PROMETHEUS_MULTIPROC_DIR`` is set
(and emptied) here, before the workers start, so a scrape of any worker sums them all. The access
log leaves query strings out: a supervisor's search may carry a national code. A worker that
does not stop within 30 s of SIGTERM is killed.
"""

from __future__ import annotations

import os
import shutil
import tempfile

ACCESS_LOG = '%(addr)s "%(method)s %(path)s" %(status)d %(dt_ms).1fms'


def run(host: str, port: int, workers: int) -> None:
    """Serve until interrupted."""
    from granian import Granian
    from granian.constants import Interfaces

    metrics_dir = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="pishkhan-metrics-")
    )
    shutil.rmtree(metrics_dir, ignore_errors=True)  # stale files would double the counts
    os.makedirs(metrics_dir, exist_ok=True)
    Granian(
        "pishkhan_gateway.wsgi:app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=int(os.environ.get("PISHKHAN_THREADS", "32")),
        respawn_failed_workers=True,
        # A worker that has not stopped 30 s after SIGTERM is killed: granian can hang in its
        # runtime's shutdown (emmett-framework/granian#875; seen once in `make bench`, a worker
        # idle for minutes after the signal). Anything acknowledged is durable already.
        workers_kill_timeout=30,
        log_access=True,
        log_access_format=ACCESS_LOG,
    ).serve()
