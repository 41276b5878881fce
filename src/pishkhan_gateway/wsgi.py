"""The production entry point, for ``pishkhan-gateway serve --workers N`` (granian, ``serving.py``)
and for ``gunicorn -c python:pishkhan_gateway.gunicorn_conf 'pishkhan_gateway.wsgi:app'``.

Imported once in each worker process: the app is built, its sealer started (entries written by
the CLI or another host are sealed within the seal interval even with no traffic), and the GIL
handed on every ``PISHKHAN_SWITCH_INTERVAL_MS`` (1; CPython's default is 5: a request that will
only be refused, or whose commit is done, waits less behind busy threads — BENCHMARKS.md).
"""

import os
import sys

from pishkhan_gateway.app import create_app

sys.setswitchinterval(float(os.environ.get("PISHKHAN_SWITCH_INTERVAL_MS", "1")) / 1000)
app = create_app()
app.extensions["pishkhan"].sealer.ensure_running(float(app.config["SEAL_INTERVAL_SECONDS"]))
