"""Running the gateway: the development server, the sandbox agencies, and the demo that
``make run`` starts (sandboxes, sample data, a printed curl that works as printed)."""

from __future__ import annotations

import json
import secrets
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import click
import structlog
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import WSGIRequestHandler, make_server

from pishkhan_gateway.crypto import keyring
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.pipeline import replays
from pishkhan_gateway.pricing.tariffs import read_schedule_file
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.sdk import sandboxkit
from pishkhan_gateway.store.tables import Supervisor

SAMPLE_OPERATOR = "0790419904"
SAMPLE_CITIZEN = "0499370899"
SAMPLE_BILL = {"bill_id": "1117753200140", "payment_id": "12070160"}

log = structlog.get_logger(__name__)


class _Requests(WSGIRequestHandler):
    """The development server's access log as structured events: the path without its query
    string (it may carry a national code), no terminal colours inside the JSON."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("http_request", method=self.command, path=urlsplit(self.path).path, status=code)


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Run the production server (granian) with this many worker processes (one per core).",
)
def serve(host: str, port: int, workers: int | None) -> None:
    """Without --workers the development server (threaded, one process); with it the
    production server (granian, ``serving.py``)."""
    click.echo(f"serving on http://{host}:{port}/", err=True)
    if workers is not None:
        from pishkhan_gateway import serving

        serving.run(host, port, workers)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    make_server(host, port, app, threaded=True, request_handler=_Requests).serve_forever()


def _start_sandboxes(
    app: Flask, host: str, base_port: int | None
) -> list[sandboxkit.RunningSandbox]:
    """Each agency's sandbox on the port of its ``default_url`` (so a gateway started later with
    no configuration finds it), or on consecutive ports from ``base_port`` in name order."""
    gw: Gateway = app.extensions["pishkhan"]
    agencies = [a for _, a in sorted(gw.plugins.agencies.items()) if a.sandbox]
    ports = None
    if base_port is None:
        ports = {a.name: urlsplit(a.default_url).port or 0 for a in agencies if a.default_url}
    apps = [(a.name, a.sandbox()) for a in agencies]  # type: ignore[misc]
    running = sandboxkit.serve(apps, host, base_port or 0, ports)
    for sandbox in running:
        app.config["AGENCIES"].setdefault(sandbox.name, {})["url"] = sandbox.url
    return running


@click.command("sandbox")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--base-port",
    default=None,
    type=int,
    help="First port; agencies take consecutive ports in name order "
    "[default: each agency's default_url port]",
)
def sandbox(host: str, base_port: int | None) -> None:
    """Run every installed agency's sandbox until interrupted."""
    running = _start_sandboxes(current_app._get_current_object(), host, base_port)  # type: ignore[attr-defined]
    for s in running:
        click.echo(f"{s.name}\t{s.url}")
    threading.Event().wait()


@click.command("demo")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--sandbox-port",
    default=None,
    type=int,
    help="First sandbox port [default: each agency's default_url port]",
)
def demo(host: str, port: int, sandbox_port: int | None) -> None:
    """Sandboxes + sample office, operator, tariffs + the gateway: what `make run` starts."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    gw: Gateway = app.extensions["pishkhan"]
    gw.store.upgrade()
    keyring.check(gw.store, gw.keyrings)
    replays.seal_plain(gw.store, gw.vault)
    running = _start_sandboxes(app, host, sandbox_port)
    contracts = Path(app.config["CONTRACTS_DIR"])
    loaded = {s.effective_jalali for s in gw.tariffs.schedules()}
    for path in sorted((contracts / "tariffs").glob("*.toml")):
        document = read_schedule_file(path)
        if document["effective"] not in loaded:
            gw.tariffs.load(document)
    samples = [
        (
            "demo-tehran-1",
            "P-1405-0001",
            "دفتر پیشخوان نمونه تهران",
            "pishkhan",
            "Tehran",
            "Tehran",
            "metropolis",
        ),
        (
            "demo-village-1",
            "R-1405-0001",
            "دفتر ICT روستایی نمونه",
            "rural_ict",
            "Fars",
            "Kamfiruz",
            "village",
        ),
    ]
    keys = {}
    for office_id, licence, name, kind, province, city, category in samples:
        if offices.get_office(gw.store, office_id) is None:
            offices.add_office(
                gw.store,
                id=office_id,
                licence_no=licence,
                name=name,
                type=kind,
                province=province,
                city=city,
                category=category,
            )
            offices.add_operator(gw.store, gw.pseudonyms, office_id, SAMPLE_OPERATOR)
        keys[office_id] = offices.issue_key(gw.store, office_id)
    with gw.store.read() as session:
        has_regulator = session.get(Supervisor, "demo-regulator") is not None
    if not has_regulator:
        supervisors.add(gw.store, "demo-regulator", "regulator", None)
    regulator = supervisors.issue_key(gw.store, "demo-regulator")
    base = f"http://{host}:{port}"
    body = json.dumps(
        {
            "service": "postbank.bill.pay",
            "citizen": {"national_code": SAMPLE_CITIZEN},
            "params": SAMPLE_BILL,
            "office_fee": 40000,
        }
    )
    click.echo("\nPishkhan Gateway demo (SQLite, sandbox agencies)\n")
    for s in running:
        click.echo(f"  sandbox {s.name:<14} {s.url}")
    click.echo(f"  gateway                {base}/   (OpenAPI: {base}/openapi.json)\n")
    for office_id, key in keys.items():
        click.echo(f"  office {office_id:<16} credential: {key}")
    click.echo(f"  operator national code: {SAMPLE_OPERATOR}\n")
    click.echo("Pay a sample bill (run it twice: the Idempotency-Key makes it pay once):\n")
    click.echo(
        f"curl -sS -X POST {base}/v1/transactions \\\n"
        f"  -H 'Authorization: Bearer {keys['demo-tehran-1']}' \\\n"
        f"  -H 'X-Operator: {SAMPLE_OPERATOR}' \\\n"
        f"  -H 'Idempotency-Key: demo-{secrets.token_hex(4)}' \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'\n"
    )
    click.echo(
        f"The catalog: curl -sS {base}/v1/services "
        f"-H 'Authorization: Bearer {keys['demo-tehran-1']}'\n"
    )
    telecom = next((s.url for s in running if s.name == "telecom"), None)
    click.echo(
        f"Sample citizen for identity levels 2 and 3: {SAMPLE_CITIZEN}, born 1369-05-12, "
        "mobile 09121234567."
    )
    if telecom:
        click.echo(
            "Level-3 services need POST /v1/otp first; the sandbox SMS lands in "
            f"{telecom}_sandbox/state (outbox).\n"
        )
    click.echo(
        f"As the regulator: curl -sS {base}/v1/audit/transactions "
        f"-H 'Authorization: Bearer {regulator}'\n"
        f"The signed tree head: curl -sS {base}/v1/audit/tree-head\n"
        f"The supervisor console: {base}/console/ (sign in with the regulator's key above)\n"
    )
    # Commands run beside it (pishkhan-gateway reconcile, audit verify, …) read the environment,
    # not this process: the sandboxes' ports must be given to them, or they try the defaults.
    exports = [f"PISHKHAN_DATA_DIR={app.config['DATA_DIR']}"] + [
        f"PISHKHAN_AGENCY_{s.name.upper()}_URL={s.url}" for s in running
    ]
    click.echo("For pishkhan-gateway commands beside this demo, in another shell:")
    click.echo("  export " + " ".join(exports) + "\n")
    sys.stdout.flush()
    make_server(host, port, app, threaded=True, request_handler=_Requests).serve_forever()
