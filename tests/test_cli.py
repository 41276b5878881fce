"""The pishkhan-gateway commands, through the app's CLI runner (and the real executable once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import TARIFFS, pay_body
from pishkhan_gateway.registry import offices


def add_office(runner, office_id="cli-1", **extra):
    args = [
        "offices",
        "add",
        "--id",
        office_id,
        "--licence",
        f"L-{office_id}",
        "--name",
        "دفتر آزمایشی",
        "--type",
        "pishkhan",
        "--province",
        "Isfahan",
        "--city",
        "Isfahan",
        "--category",
        "metropolis",
    ]
    for key, value in extra.items():
        args += [f"--{key}", value]
    return runner.invoke(args=args)


def test_offices_add_show_and_list(runner):
    assert add_office(runner, expires="1409-01-01").exit_code == 0
    shown = runner.invoke(args=["offices", "show", "cli-1"])
    office = json.loads(shown.stdout)
    assert office["status"] == "active" and office["expires_on"] == "2030-03-21"
    assert "cli-1" in runner.invoke(args=["offices", "list"]).stdout


def test_licence_runs_five_years_by_default(runner):
    add_office(runner, issued="2026-01-10")
    office = json.loads(runner.invoke(args=["offices", "show", "cli-1"]).stdout)
    assert office["expires_on"] == "2031-01-10"


def test_issue_key_prints_only_the_credential_and_it_works(runner, client):
    add_office(runner)
    assert runner.invoke(args=["operators", "add", "cli-1", "0790419904"]).exit_code == 0
    result = runner.invoke(args=["offices", "issue-key", "cli-1"])
    credential = result.stdout.strip()
    assert result.exit_code == 0 and "\n" not in credential and credential.startswith("pgk_")
    headers = {"Authorization": f"Bearer {credential}", "X-Operator": "0790419904"}
    assert client.post("/v1/transactions", json=pay_body(), headers=headers).status_code == 201
    revoked = runner.invoke(args=["offices", "revoke-key", credential.split(".")[0]])
    assert revoked.exit_code == 0
    response = client.post("/v1/transactions", json=pay_body(), headers=headers)
    assert response.status_code == 401


def test_commands_refuse_bad_input_with_a_message(runner):
    add_office(runner)
    duplicate = add_office(runner)
    assert duplicate.exit_code == 2 and "already exists" in duplicate.stderr
    bad = runner.invoke(args=["operators", "add", "cli-1", "1234567890"])
    assert bad.exit_code == 2 and "national_code" in bad.stderr
    missing = runner.invoke(args=["offices", "issue-key", "nobody"])
    assert missing.exit_code == 2 and missing.stdout == ""


def test_operator_national_code_is_stored_as_a_pseudonym_only(runner, gw):
    add_office(runner)
    runner.invoke(args=["operators", "add", "cli-1", "0790419904"])
    from pishkhan_gateway.store.tables import Operator

    with gw.store.read() as session:
        stored = [o.national_code_hmac for o in session.query(Operator).all()]
    assert stored and "0790419904" not in stored[0]


def test_tariffs_load_refuses_a_second_schedule_for_the_same_date(runner):
    again = runner.invoke(args=["tariffs", "load", str(TARIFFS / "sample-1405.toml")])
    assert again.exit_code == 2 and "already loaded" in again.stderr
    listed = runner.invoke(args=["tariffs", "list"]).stdout
    assert "1404-01-01" in listed and "1405-01-01" in listed


def test_tariffs_load_names_the_bad_field(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\neffective = "1406-01-01"\n[caps]\n"a.b" = { all = 1.5 }\n')
    result = runner.invoke(args=["tariffs", "load", str(bad)])
    assert result.exit_code == 2 and "caps/a.b/all" in result.stderr


def test_the_executable_reads_the_environment(tmp_path):
    env = {**os.environ, "PISHKHAN_DATA_DIR": str(tmp_path)}
    exe = [sys.executable, "-m", "pishkhan_gateway.cli"]
    subprocess.run([*exe, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [
            *exe,
            "offices",
            "add",
            "--id",
            "x-1",
            "--licence",
            "L1",
            "--name",
            "x",
            "--type",
            "rural_ict",
            "--province",
            "Fars",
            "--city",
            "Kamfiruz",
            "--category",
            "village",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    issued = subprocess.run(
        [*exe, "offices", "issue-key", "x-1"], env=env, check=True, capture_output=True, text=True
    )
    assert issued.stdout.count("\n") == 1 and issued.stdout.startswith("pgk_")
    assert (tmp_path / "pishkhan.db").exists()
    assert oct((tmp_path / "signing-key.pem").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "pseudonym.key").stat().st_mode & 0o777) == "0o600"


def test_offices_helper_refuses_unknown_category(gw):
    import pytest

    from pishkhan_gateway.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        offices.add_office(
            gw.store,
            id="x",
            licence_no="x",
            name="x",
            type="pishkhan",
            province="p",
            city="c",
            category="megacity",
        )


def test_supervisors_add_and_issue_key(runner, client):
    assert (
        runner.invoke(
            args=["supervisors", "add", "--id", "wg", "--role", "province", "--scope", "Fars"]
        ).exit_code
        == 0
    )
    bad = runner.invoke(args=["supervisors", "add", "--id", "x", "--role", "province"])
    assert bad.exit_code == 2 and "scope" in bad.stderr
    key = runner.invoke(args=["supervisors", "issue-key", "wg"]).stdout.strip()
    assert key.startswith("psk_") and "\n" not in key
    response = client.get("/v1/audit/transactions", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200


def test_audit_seal_and_verify(runner, client, counter):
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    sealed = json.loads(runner.invoke(args=["audit", "seal"]).stdout)
    assert sealed["tree_size"] == 1
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "OK: 1 entries, 1 signed heads" in result.output


def test_offices_add_records_the_licence_holder(runner):
    add_office(runner, holder="مریم احمدی")
    office = json.loads(runner.invoke(args=["offices", "show", "cli-1"]).stdout)
    assert office["holder"] == "مریم احمدی"


def test_the_development_servers_access_log_is_json_without_query_or_colour(app):
    """``serve`` and ``demo`` log each request as a structured event: the path without its query
    string (it may carry a national code), no ANSI colour codes inside the JSON."""
    import threading

    import requests
    import structlog
    from werkzeug.serving import make_server

    from pishkhan_gateway.commands.running import _Requests

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Requests)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with structlog.testing.capture_logs() as logs:
            url = f"http://127.0.0.1:{server.server_port}/v1/audit/transactions"
            requests.get(url, params={"national_code": "0499370899"}, timeout=5)
    finally:
        server.shutdown()
    (event,) = [e for e in logs if e["event"] == "http_request"]
    assert event["path"] == "/v1/audit/transactions" and event["status"] in (401, "401")
    assert "0499370899" not in repr(logs) and "\x1b[" not in repr(logs)
