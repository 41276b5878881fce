"""HTTP throughput and latency of the gateway against the physical limit of this stack.

    python bench/http_bench.py [--seconds 15] [--no-postgres]

Everything runs on this machine: the servers under the production server (granian, 2 workers,
as ``pishkhan-gateway serve --workers 2``; gunicorn's shipped config for comparison), load from
separate processes — wrk for peak throughput (closed loop), and an open-loop
driver at a fixed offered rate for latency (each request's latency is measured from when it was
*due*, so a stalled server cannot hide its queue). Rows, each against the baseline of this run:

1. bare Flask endpoint returning a receipt-sized JSON (the baseline: the stack's limit);
2. a full L1 inquiry through the gateway with an in-process no-op agency, SQLite
   (``synchronous=FULL``) and PostgreSQL: throughput, then p50/p99 open loop at half and three
   quarters of that peak, then
   twice the measured capacity (how fast the excess is refused, how the admitted fare);
3. the Post Bank SOAP sandbox inquiry through the gateway, beside direct zeep calls to it.

Targets (the performance issue): (2) on SQLite ≥ 0.10 × (1); PostgreSQL ≥ 0.6 × SQLite; open
loop at half the gateway's own peak p99 ≤ 25 ms, at three quarters p99 ≤ 50 ms; at twice the
peak refusals within 50 ms and admitted within 250 ms at p99, no errors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OPERATOR = "0790419904"
CITIZEN = "0499370899"
BILL = {"bill_id": "1117753200140", "payment_id": "12070160"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


class Server:
    """``spec`` served with ``env`` by the production server (granian, as ``pishkhan-gateway
    serve --workers 2`` runs it) or by gunicorn with the shipped config, 2 workers each."""

    def __init__(self, spec: str, env: dict[str, str], log: Path, kind: str = "granian") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if kind == "gunicorn":
            command = [
                sys.executable, "-m", "gunicorn", "-c", "python:pishkhan_gateway.gunicorn_conf",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
                "--access-logfile", "/dev/null", "--chdir", str(HERE), spec,
            ]  # fmt: skip
        else:  # serving.run's settings, without the access log
            command = [
                sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "2",
                "--blocking-threads", env.get("PISHKHAN_THREADS", "32"), "--port", str(self.port),
                "--log-level", "warning", "--working-dir", str(HERE),
                "--workers-kill-timeout", "10", spec,
            ]  # fmt: skip
        self.process = subprocess.Popen(
            command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=str(HERE)
        )
        wait_ready(self.url + "/v1/ready")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def wrk(url: str, seconds: int, body: dict | None, headers: dict[str, str], work: Path) -> float:
    """Peak 2xx answers/s with wrk (2 threads, 32 connections)."""
    script = work / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body or {}))}"]
    for name, value in {"Content-Type": "application/json", **headers}.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    script.write_text("\n".join(lines) + "\n")
    # Warm up first (new gthread workers answer at less than half speed for a second or two).
    warm = ["wrk", "-t2", "-c32", "-d3s", "-s", str(script), url]
    subprocess.run(warm, capture_output=True, check=True)
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    refused = int(non2xx.group(1)) if non2xx else 0
    if refused > total * 0.01:
        print(f"  (wrk: {refused} of {total} answers were not 2xx; counted out)")
    # Only answered transactions count: a fast 503 is not throughput.
    return rate * (total - refused) / total if total else 0.0


def open_loop(
    url: str, body: dict, headers: dict[str, str], rate: float, seconds: float
) -> dict[str, float]:
    """``rate``/s for ``seconds`` from the open-loop driver (``openloop.py``, its own process);
    latency from each request's due time. p50/p99 of the admitted (2xx), the count and p99 of
    refusals (429/503), errors, and what the driver could not send in time."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(body, f)
        f.flush()
        command = [sys.executable, str(HERE / "openloop.py"), url, "--rate", str(rate),
                   "--seconds", str(seconds), "--body-file", f.name,
                   *(f"--header={k}:{v}" for k, v in headers.items())]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def gateway_env(work: Path, db_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "PISHKHAN_DATABASE_URL": db_url,
        "PISHKHAN_DATA_DIR": str(work),
        "PISHKHAN_LOG_LEVEL": "WARNING",
        "PISHKHAN_OFFICE_RATE_LIMIT": "100000000/minute",
        "PISHKHAN_OPERATOR_RATE_LIMIT": "100000000/minute",
        "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
        **(extra or {}),
    }


def prepare(db_url: str, work: Path) -> dict[str, str]:
    """Migrate, load the sample tariffs, open an office: the counter's headers."""
    sys.path.insert(0, str(HERE))
    from pishkhan_gateway.app import create_app
    from pishkhan_gateway.pricing.tariffs import read_schedule_file
    from pishkhan_gateway.registry import offices

    app = create_app({"DATABASE_URL": db_url, "DATA_DIR": str(work), "LOG_LEVEL": "WARNING"})
    gw = app.extensions["pishkhan"]
    gw.store.upgrade()
    for path in sorted((ROOT / "contracts" / "tariffs").glob("*.toml")):
        gw.tariffs.load(read_schedule_file(path))
    offices.add_office(
        gw.store, id="bench", licence_no="B-1", name="دفتر سنجش", type="pishkhan",
        province="Tehran", city="Tehran", category="metropolis",
    )  # fmt: skip
    offices.add_operator(gw.store, gw.pseudonyms, "bench", OPERATOR)
    key = offices.issue_key(gw.store, "bench")
    gw.store.dispose()
    return {"Authorization": f"Bearer {key}", "X-Operator": OPERATOR}


def start_postgres(work: Path) -> tuple[str, callable] | None:
    """A throwaway PostgreSQL cluster (as the tests start one), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        return None
    bindir = found[-1].parent
    base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    data = base / "data"
    run = lambda *c: subprocess.run([*prefix, *c], check=True, capture_output=True)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o", options,
        "start")  # fmt: skip
    run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench")

    def stop() -> None:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench", stop


def zeep_rate(url: str, seconds: float) -> float:
    """Direct zeep BillInquiry calls per second to the sandbox (one client thread)."""
    from pishkhan_gateway.sdk import soap
    from pishkhan_postbank.terms import BINDING, WSDL

    proxy = soap.client(WSDL, BINDING, url, 5.0)
    calls, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        proxy.BillInquiry(BillId=BILL["bill_id"], PaymentId=BILL["payment_id"])
        calls += 1
    return calls / seconds


def print_goals(baseline: float, measured: dict[str, dict]) -> None:
    """The performance issue's goals beside this run's figures: met or MISSED."""
    print("\n| goal | figure | verdict |\n| --- | --- | --- |")

    def line(goal: str, figure: str, met: bool) -> None:
        print(f"| {goal} | {figure} | {'met' if met else 'MISSED'} |")

    for name, m in measured.items():
        ratio = m["peak"] / baseline
        if name == "SQLite":
            line("(2) SQLite ≥ 0.10 × (1)", f"{ratio:.3f}", ratio >= 0.10)
        elif "SQLite" in measured:
            share = m["peak"] / measured["SQLite"]["peak"]
            line("(2) PostgreSQL ≥ 0.6 × SQLite", f"{share:.2f}", share >= 0.6)
        half, three, twice = m[0.5], m[0.75], m[2]
        line(f"{name}: p99 ≤ 25 ms at 50 % of peak", f"{half['p99']:.1f} ms", half["p99"] <= 25)
        line(f"{name}: p99 ≤ 50 ms at 75 %", f"{three['p99']:.1f} ms", three["p99"] <= 50)
        line(
            f"{name}: at 2×, refusals p99 ≤ 50 ms",
            f"{twice['refused_p99']:.1f} ms",
            twice["refused_p99"] <= 50,
        )
        line(f"{name}: at 2×, admitted p99 ≤ 250 ms", f"{twice['p99']:.1f} ms", twice["p99"] <= 250)
        errors = sum(int(m[k]["errors"]) for k in (0.5, 0.75, 2))
        line(f"{name}: no errors at any rate", str(errors), errors == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (make bench installs Debian's wrk)")
    work = Path(tempfile.mkdtemp(prefix="pishkhan-http-bench-"))
    rows: list[tuple[str, str, str]] = []
    noop = {"service": "bench.noop.inquiry", "citizen": {"national_code": CITIZEN},
            "params": {"q": "x"}}  # fmt: skip
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    bare_env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(work / "m0")}
    bare = Server("bare_app:app", bare_env, work / "bare.log")
    try:
        baseline = wrk(bare.url + "/v1/transactions", args.seconds, noop, {}, work)
    finally:
        bare.stop()
    rows.append(("(1) bare Flask, receipt-sized JSON, granian", f"{baseline:,.0f} req/s",
                 "1.00 (baseline: the fastest server measured)"))  # fmt: skip
    print(rows[-1])
    bare = Server("bare_app:app", bare_env, work / "bare-gunicorn.log", kind="gunicorn")
    try:
        slower = wrk(bare.url + "/v1/transactions", args.seconds, noop, {}, work)
    finally:
        bare.stop()
    rows.append(("(1) … gunicorn gthread (the shipped config)", f"{slower:,.0f} req/s",
                 f"{slower / baseline:.2f}"))  # fmt: skip
    print(rows[-1])

    measured: dict[str, dict] = {}  # per database: peak, and the open-loop figures
    databases = [("SQLite", f"sqlite:///{work / 'gateway.db'}", None)]
    if not args.no_postgres:
        pg = start_postgres(work)
        if pg:
            databases.append(("PostgreSQL", pg[0], pg[1]))
    for name, db_url, stop in databases:
        data = work / name
        data.mkdir()
        headers = prepare(db_url, data)
        # Before/after in the same run: each lever off, one at a time.
        levers = [
            ("under gunicorn instead of granian", {}, "gunicorn"),
            ("without the counter cache", {"PISHKHAN_COUNTER_CACHE": "false"}, "granian"),
            ("without group commit", {"PISHKHAN_GROUP_COMMIT": "false"}, "granian"),
        ]
        for label, extra, kind in levers:
            server = Server(
                "noop_app:app", gateway_env(data, db_url, extra), work / f"noop-{name}.log", kind
            )
            try:
                before = wrk(server.url + "/v1/transactions", args.seconds, noop, headers, work)
            finally:
                server.stop()
            rows.append((f"(2) … {label}, {name}", f"{before:,.0f} req/s",
                         f"{before / baseline:.2f}"))  # fmt: skip
            print(rows[-1])
        server = Server("noop_app:app", gateway_env(data, db_url), work / f"noop-{name}.log")
        try:
            url = server.url + "/v1/transactions"
            peak = wrk(url, args.seconds, noop, headers, work)
            measured[name] = {"peak": peak}
            rows.append((f"(2) L1 inquiry, no-op agency, {name}", f"{peak:,.0f} req/s",
                         f"{peak / baseline:.2f}"))  # fmt: skip
            print(rows[-1])
            for share in (0.5, 0.75):
                f = open_loop(url, noop, headers, share * peak, args.seconds)
                measured[name][share] = f
                figure = f"p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms"
                note = f"errors {f['errors']}, refused {f['refused']} of {f['sent']}"
                rows.append((f"    open loop {share:.0%} of peak ({share * peak:.0f}/s), {name}",
                             figure, note))  # fmt: skip
                print(rows[-1])
            d = open_loop(url, noop, headers, 2 * peak, args.seconds)
            measured[name][2] = d
            figure = f"admitted p99 {d['p99']:.1f} ms"
            note = (
                f"refused {d['refused']} of {d['sent']} (p99 {d['refused_p99']:.1f} ms), "
                f"errors {d['errors']}, not sent (every connection waiting, or the driver "
                f"2 s behind) {d['unsent']}"
            )
            rows.append((f"    open loop 2× capacity ({2 * peak:.0f}/s), {name}", figure, note))
            print(rows[-1])
        finally:
            server.stop()
            if stop:
                stop()

    data = work / "soap"
    data.mkdir()
    db_url = f"sqlite:///{data / 'gateway.db'}"
    headers = prepare(db_url, data)
    sandbox_port = free_port()
    sandbox = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "pishkhan-gateway"),
            "sandbox",
            "--base-port",
            str(sandbox_port),
        ],
        env={k: v for k, v in gateway_env(data, db_url).items() if "PROMETHEUS" not in k},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    urls: dict[str, str] = {}
    while len(urls) < 4:  # "name<TAB>url" per agency; anything else on stdout is a log line
        line = sandbox.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox command exited before listing its agencies")
        parts = line.strip().split("\t")
        if len(parts) == 2:
            urls[parts[0]] = parts[1]
    postbank = urls["postbank"]
    server = Server("noop_app:app",
                    gateway_env(data, db_url, {"PISHKHAN_AGENCY_POSTBANK_URL": postbank}),
                    work / "soap.log")  # fmt: skip
    try:
        body = {"service": "postbank.bill.inquiry", "params": BILL}
        peak = wrk(server.url + "/v1/transactions", args.seconds, body, headers, work)
        direct = zeep_rate(postbank, min(args.seconds, 5))
        rows.append(("(3) Post Bank SOAP inquiry via gateway, SQLite", f"{peak:,.0f} req/s",
                     f"{peak / baseline:.2f}; direct zeep to the sandbox: {direct:,.0f} calls/s "
                     "(one client thread)"))  # fmt: skip
        print(rows[-1])
    finally:
        server.stop()
        sandbox.terminate()
        sandbox.wait(timeout=10)

    print("\n| measurement | figure | against the baseline |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {row[0].strip()} | {row[1]} | {row[2]} |")
    print_goals(baseline, measured)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
