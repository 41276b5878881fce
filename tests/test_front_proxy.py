"""Slow clients never starve the gateway: the production server alone (granian's asynchronous I/O
holds a dribbling connection without a thread), and the documented front proxy run as documented
— Debian's nginx with ``docs/deploy/nginx.conf`` (the README's block, verbatim) before the
production server — whose access log never sees a query string. (gunicorn's ``gthread`` workers
alone, the production server until 2026-12-02, time out on ``/v1/health`` under a few hundred.)"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import ROOT, Host, _free_port, start_production

CONF = ROOT / "docs" / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.slow
# Enough to starve gunicorn alone (2 workers x 32 threads): straight at it, /v1/health times out
# (checked by hand: 300 starve it for 5 s and more). The production server alone: ≈ 4 ms.
SLOW_CLIENTS = 300
WITHIN = 0.1  # seconds: what a counter would not notice


def test_the_readme_shows_the_shipped_config_verbatim():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```nginx\n(.*?)```\n", readme, re.S)
    assert block and block.group(1) == CONF.read_text()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    crt, pem = directory / "gateway.crt", directory / "gateway.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, pem


@pytest.fixture
def front(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The production server behind nginx with the documented server block; (nginx's port, its
    access log)."""
    if NGINX is None:
        message = "front-proxy test NOT RUN: no nginx (make test apt-installs it as root)"
        if os.environ.get("PISHKHAN_REQUIRE_NGINX") == "1":
            pytest.fail(message)
        pytest.skip(message)
    # as the README documents behind nginx; a low failure limit for the spoofing test
    host = _production_server(
        tmp_path, PISHKHAN_TRUSTED_PROXIES="1", PISHKHAN_AUTH_FAILURE_LIMIT="5/minute"
    )
    crt, key = _self_signed(tmp_path)
    port, log = _free_port(), tmp_path / "access.log"
    # The documented block, with only what a test host must change: ports, files, the name.
    server = (
        CONF.read_text()
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
        .replace("/etc/ssl/gateway.crt", str(crt))
        .replace("/etc/ssl/gateway.key", str(key))
        .replace("/var/log/nginx/gateway.log", str(log))
        .replace("127.0.0.1:8080", f"127.0.0.1:{host.port}")
    )
    assert str(host.port) in server and str(port) in server
    (tmp_path / "nginx.conf").write_text(
        "user root;\nworker_processes 1;\nerror_log error.log;\npid nginx.pid;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  client_body_temp_path body; proxy_temp_path proxy;\n"
        f"{server}\n}}\n"
    )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", "nginx.conf", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(nginx.stderr.read().decode() if nginx.stderr else "no nginx")
        yield port, log
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        host.stop()


def _production_server(tmp_path: Path, **settings: str) -> Host:
    """The production server on a fresh SQLite database."""
    env = {
        **os.environ,
        "PISHKHAN_DATABASE_URL": f"sqlite:///{tmp_path}/gateway.db",
        "PISHKHAN_DATA_DIR": str(tmp_path),
        **settings,
    }
    command = str(Path(sys.executable).parent / "pishkhan-gateway")
    subprocess.run([command, "db", "upgrade"], env=env, check=True, capture_output=True)
    return start_production(env, tmp_path / "server")


def _slow_client(port: int, stop: threading.Event, tls: bool) -> None:
    """One header line a second, for ever (a slowloris)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with context.wrap_socket(raw) if tls else raw as s:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n")
            while not stop.wait(1.0):
                s.sendall(b"X-Slow: 1\r\n")
    except OSError:
        pass  # the server may drop one: that is its business


def _health_under_slow_clients(url: str, port: int, tls: bool) -> float:
    """The median time of ``/v1/health`` while ``SLOW_CLIENTS`` dribble headers at ``port``."""
    stop = threading.Event()
    slow = [
        threading.Thread(target=_slow_client, args=(port, stop, tls)) for _ in range(SLOW_CLIENTS)
    ]
    for thread in slow:
        thread.start()
    try:
        time.sleep(2)  # every slow client connected and dribbling
        times = []
        for _ in range(10):
            started = time.perf_counter()
            reply = requests.get(f"{url}/v1/health", verify=False, timeout=5)
            times.append(time.perf_counter() - started)
            assert reply.status_code == 200 and reply.json()["status"] == "ok"
            time.sleep(0.2)
        return sorted(times)[len(times) // 2]
    finally:
        stop.set()
        for thread in slow:
            thread.join(timeout=10)


def test_slow_clients_do_not_starve_the_gateway_behind_nginx(front):
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    port, _log = front
    median = _health_under_slow_clients(f"https://127.0.0.1:{port}", port, tls=True)
    assert median < WITHIN, f"/v1/health took {median:.3f} s behind nginx"


def test_the_production_server_alone_holds_slow_clients(tmp_path):
    host = _production_server(tmp_path)
    try:
        median = _health_under_slow_clients(host.url, host.port, tls=False)
    finally:
        host.stop()
    assert median < WITHIN, f"/v1/health took {median:.3f} s with {SLOW_CLIENTS} slow clients"


def test_query_strings_never_reach_the_access_log(front):
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    port, log = front
    requests.get(
        f"https://127.0.0.1:{port}/v1/audit/transactions?national_code=0499370899",
        verify=False,
        timeout=5,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "/v1/audit/transactions" not in log.read_text():
        time.sleep(0.1)
    text = log.read_text()
    assert "/v1/audit/transactions" in text and "0499370899" not in text and "?" not in text


def test_a_client_cannot_spoof_its_address_through_nginx(front):
    """With ``PISHKHAN_TRUSTED_PROXIES=1`` the gateway counts the address nginx saw; nginx
    replaces whatever ``X-Forwarded-For`` the client sent, so rotating it escapes no limit."""
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    port, _log = front
    codes = []
    for i in range(24):  # memory:// counts per worker process: enough to pass 5 in each
        reply = requests.get(
            f"https://127.0.0.1:{port}/v1/services",
            headers={"Authorization": "Bearer pgk_nope.nope", "X-Forwarded-For": f"10.0.0.{i}"},
            verify=False,
            timeout=5,
        )
        codes.append(reply.json()["code"])
    assert codes[0] == "unauthorized" and codes[-1] == "too_many_failures", codes
