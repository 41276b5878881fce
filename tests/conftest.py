"""Fixtures: a fresh database per test on SQLite *and* a throwaway PostgreSQL server, real
sandbox agencies on loopback, and a socket guard that fails any non-loopback connection."""

from __future__ import annotations

import glob
import ipaddress
import itertools
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from pishkhan_gateway.app import create_app
from pishkhan_gateway.plugins.door import Plugins
from pishkhan_gateway.plugins.manager import load_plugins
from pishkhan_gateway.pricing.tariffs import read_schedule_file
from pishkhan_gateway.registry import offices
from pishkhan_gateway.sdk import sandboxkit
from pishkhan_gateway.store import Store

ROOT = Path(__file__).resolve().parents[1]
TARIFFS = ROOT / "contracts" / "tariffs"
OPERATOR = "0790419904"
OTHER_OPERATOR = "0084575948"
CITIZEN = "0499370899"
BILL = {"bill_id": "1117753200140", "payment_id": "12070160"}  # 120,000 rials, landline
BILL_2 = {"bill_id": "1177809000142", "payment_id": "570108"}  # 5,000 rials
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise OSError(f"tests may only connect to loopback, not {host}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection leaving this machine (as zeep's own test suite does)."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


# -- PostgreSQL --------------------------------------------------------------------------------


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Host:
    """A gateway under the production server or gunicorn, on a port of its own."""

    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_gunicorn(env: dict[str, str], workdir: Path, workers: int = 2) -> Host:
    """Start gunicorn with ``env`` (its own metrics directory under ``workdir``) and wait until
    it answers ``/v1/ready``; its output goes to ``workdir/gunicorn.log``."""
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:pishkhan_gateway.gunicorn_conf"]
    app = ["--workers", str(workers), "pishkhan_gateway.wsgi:app"]
    return _start(
        lambda port: [*gunicorn, "--bind", f"127.0.0.1:{port}", *app], env, workdir / "gunicorn.log"
    )


def start_production(env: dict[str, str], workdir: Path, workers: int = 2) -> Host:
    """Start ``pishkhan-gateway serve --workers N`` (granian, the production server) with
    ``env`` and wait until it answers ``/v1/ready``; its output goes to ``workdir/serve.log``."""
    serve = [str(Path(sys.executable).parent / "pishkhan-gateway"), "serve"]
    return _start(
        lambda port: [*serve, "--port", str(port), "--workers", str(workers)],
        env,
        workdir / "serve.log",
    )


def _start(command: Callable[[int], list[str]], env: dict[str, str], log: Path) -> Host:
    """Run ``command(port)`` with ``env`` (and a metrics directory beside ``log``) until it
    answers ``/v1/ready``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(log.parent / "metrics"), **env}
    process = subprocess.Popen(
        command(port), env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/ready", timeout=5).status_code == 200:
                return Host(process, port)
        except requests.RequestException:  # not up yet, or still importing
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"{log.name}: the server did not start: {log.read_text()[-2000:]}")


@dataclass
class PostgresServer:
    """A throwaway cluster; each test gets a database copied from a migrated template."""

    base_url: str
    counter: itertools.count

    def admin(self) -> psycopg.Connection:
        url = self.base_url.replace("postgresql+psycopg://", "postgresql://") + "postgres"
        return psycopg.connect(url, autocommit=True)

    def new_database(self) -> str:
        name = f"t{os.getpid()}_{next(self.counter)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE pishkhan_template')
        return name


def _unavailable(why: str) -> None:
    message = f"PostgreSQL half NOT RUN: {why}"
    if os.environ.get("PISHKHAN_REQUIRE_POSTGRES") == "1":
        pytest.fail(message)
    print(f"\n{'!' * 78}\n{message}\n{'!' * 78}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Start a PostgreSQL cluster in a temp directory on a free loopback port."""
    bindir = _pg_bindir()
    if bindir is None:
        _unavailable("no PostgreSQL server binaries (make test installs Debian's postgresql)")
    base = Path(tempfile.mkdtemp(prefix="pishkhan-pg-"))
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", _free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=300"
        )
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(base / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(base, ignore_errors=True)
        _unavailable(f"could not start it: {exc} {detail.decode(errors='replace')[-500:]}")
    server = PostgresServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/", itertools.count())
    with server.admin() as conn:
        conn.execute("CREATE DATABASE pishkhan_template")
    template = Store(server.base_url + "pishkhan_template")
    template.upgrade()
    template.dispose()
    yield server
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session; each test gets a copy (a file copy is
    ~0.5 ms where running every migration is ~130 ms, times a thousand tests)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "gateway.db"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    store.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: SQLite file, or a PostgreSQL database from the template."""
    if request.param == "sqlite":
        copy = tmp_path / "gateway.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), copy)
        yield f"sqlite:///{copy}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = server.new_database()
    yield server.base_url + name
    with server.admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- plugins, sandboxes, app -------------------------------------------------------------------


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    """The installed plugins, found through the entry-point group (loaded once)."""
    return load_plugins()


@pytest.fixture(scope="session")
def sandboxes(plugins: Plugins) -> Iterator[dict[str, str]]:
    """Every installed agency's sandbox, served on loopback threads: {agency: url}."""
    apps = [(a.name, a.sandbox()) for a in plugins.agencies.values() if a.sandbox]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per sandbox call is noise
    running = sandboxkit.serve(apps)
    yield {s.name: s.url for s in running}
    for s in running:
        s.stop()


@pytest.fixture
def sandbox(sandboxes: dict[str, str]) -> Iterator[SandboxControl]:
    """Fault knobs and ledgers of the sandboxes, reset before and after each test."""
    control = SandboxControl(sandboxes)
    control.reset()
    yield control
    control.reset()


class SandboxControl:
    """Talks to the sandboxes' /_sandbox/ endpoints."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls

    def reset(self) -> None:
        for url in self.urls.values():
            requests.post(url + "_sandbox/reset", timeout=5).raise_for_status()

    def faults(self, agency: str, **knobs: Any) -> None:
        requests.post(
            self.urls[agency] + "_sandbox/faults", json=knobs, timeout=5
        ).raise_for_status()

    def state(self, agency: str) -> dict[str, Any]:
        return requests.get(self.urls[agency] + "_sandbox/state", timeout=5).json()


def make_app(
    db_url: str, data_dir: Path, plugins: Plugins, sandboxes: dict[str, str], **overrides: Any
) -> Any:
    """An app on ``db_url`` with the sample tariffs loaded and agencies at their sandboxes."""
    config = {
        "DATABASE_URL": db_url,
        "DATA_DIR": str(data_dir),
        "TARIFF_CACHE_SECONDS": 0,
        "IDEMPOTENCY_WAIT_SECONDS": 15,
        "BREAKER_RESET_SECONDS": 30,
        "SEAL_INTERVAL_SECONDS": 0,  # tests seal explicitly, so what they check is deterministic
        "AUTH_FAILURE_LIMIT": "100000/minute",  # tests refuse many on purpose; see test_throttle
        "OFFICE_RATE_LIMIT": "100000/minute",
        "OPERATOR_RATE_LIMIT": "100000/minute",
        "AGENCIES": {name: {"url": url, "timeout": "5"} for name, url in sandboxes.items()},
        "CHECK_RESPONSES": True,  # every JSON success answer checked against its declaration
    }
    config.update(overrides)
    app = create_app(config, plugins=plugins)
    gw = app.extensions["pishkhan"]
    gw.store.upgrade()  # a no-op on the fixtures' migrated databases
    if not gw.tariffs.schedules():
        for path in sorted(TARIFFS.glob("*.toml")):
            gw.tariffs.load(read_schedule_file(path))
    return app


@pytest.fixture
def app(
    db_url: str,
    tmp_path: Path,
    plugins: Plugins,
    sandboxes: dict[str, str],
    sandbox: SandboxControl,
) -> Iterator[Any]:
    """The gateway on a fresh database (SQLite and PostgreSQL), sandboxes reset."""
    app = make_app(db_url, tmp_path, plugins, sandboxes)
    yield app
    app.extensions["pishkhan"].store.dispose()


@pytest.fixture
def gw(app: Any) -> Any:
    """The app's Gateway object."""
    return app.extensions["pishkhan"]


@pytest.fixture
def client(app: Any) -> Any:
    """Flask test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    """Flask CLI runner."""
    return app.test_cli_runner()


@dataclass
class Counter:
    """An office with a credential and a registered operator, ready to transact."""

    office_id: str
    credential: str
    operator: str = OPERATOR

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.credential}", "X-Operator": self.operator}
        if key is not None:
            headers["Idempotency-Key"] = key
        headers.update(extra)
        return headers


def open_counter(
    gw: Any,
    office_id: str,
    category: str = "metropolis",
    province: str = "Tehran",
    operator: str = OPERATOR,
    **fields: Any,
) -> Counter:
    """Register an office with an operator and a credential."""
    offices.add_office(
        gw.store,
        id=office_id,
        licence_no=f"L-{office_id}",
        name=f"دفتر {office_id}",
        type="pishkhan",
        province=province,
        city=province,
        category=category,
        **fields,
    )
    offices.add_operator(gw.store, gw.pseudonyms, office_id, operator)
    return Counter(office_id, offices.issue_key(gw.store, office_id), operator)


@pytest.fixture
def counter(gw: Any) -> Counter:
    """A metropolis office in Tehran, ready to transact."""
    return open_counter(gw, "office-1")


def pay_body(bill: dict[str, str] | None = None, fee: Any = 40000, **extra: Any) -> dict:
    """A bill payment request body."""
    body = {
        "service": "postbank.bill.pay",
        "citizen": {"national_code": CITIZEN},
        "params": dict(bill or BILL),
        "office_fee": fee,
    }
    body.update(extra)
    return body
