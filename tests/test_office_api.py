"""The office's other endpoints: its own history, the catalog, health, readiness, OpenAPI."""

from __future__ import annotations

import concurrent.futures
import threading

import requests
from werkzeug.serving import make_server

from conftest import BILL, BILL_2, open_counter, pay_body


def test_an_office_sees_only_its_own_transactions(client, counter, gw):
    other = open_counter(gw, "office-2")
    mine = client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    theirs = client.post("/v1/transactions", json=pay_body(BILL_2), headers=other.headers())
    mine_id, theirs_id = mine.get_json()["transaction_id"], theirs.get_json()["transaction_id"]

    got = client.get(f"/v1/transactions/{mine_id}", headers=counter.headers())
    assert got.status_code == 200
    assert got.get_json()["receipt"] == mine.get_json()["receipt"]
    denied = client.get(f"/v1/transactions/{theirs_id}", headers=counter.headers())
    assert denied.status_code == 404 and denied.get_json()["code"] == "not_found"

    listed = client.get("/v1/transactions", headers=counter.headers()).get_json()
    assert [t["transaction_id"] for t in listed["items"]] == [mine_id]


def test_history_pages_newest_first_with_a_cursor(client, counter):
    ids = []
    for _ in range(5):
        response = client.post(
            "/v1/transactions",
            headers=counter.headers(),
            json={"service": "postbank.bill.inquiry", "params": BILL},
        )
        ids.append(response.get_json()["transaction_id"])
    first = client.get("/v1/transactions?limit=2", headers=counter.headers()).get_json()
    assert [t["transaction_id"] for t in first["items"]] == ids[::-1][:2]
    second = client.get(
        f"/v1/transactions?limit=2&cursor={first['next_cursor']}", headers=counter.headers()
    ).get_json()
    assert [t["transaction_id"] for t in second["items"]] == ids[::-1][2:4]
    bad = client.get("/v1/transactions?outcome=great", headers=counter.headers())
    assert bad.status_code == 400 and bad.get_json()["field"] == "outcome"


def test_history_needs_a_credential(client):
    response = client.get("/v1/transactions")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_catalog_lists_services_with_this_offices_fee_cap(client, counter, gw):
    village = open_counter(gw, "office-v", category="village", province="Fars")
    catalog = client.get("/v1/services", headers=counter.headers()).get_json()
    by_id = {s["id"]: s for s in catalog["services"]}
    assert by_id["postbank.bill.pay"]["fee_cap"] == 53000
    assert by_id["postbank.bill.pay"]["identity_level"] == 1
    assert by_id["postbank.bill.pay"]["title_fa"] == "پرداخت قبض"
    assert by_id["postbank.bill.inquiry"]["fee_cap"] == 0
    assert catalog["tariff_schedule"]["effective"] == "1405-01-01"
    village_catalog = client.get("/v1/services", headers=village.headers()).get_json()
    assert {s["id"]: s["fee_cap"] for s in village_catalog["services"]}[
        "postbank.bill.pay"
    ] == 40000


def test_health_ready_and_openapi(client):
    health = client.get("/v1/health").get_json()
    assert health["status"] == "ok" and "postbank" in health["plugins"]
    assert health["plugin_problems"] == []
    ready = client.get("/v1/ready")
    assert ready.status_code == 200 and ready.get_json()["checks"]["schema"] == "ok"
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    for path in (
        "/v1/transactions",
        "/v1/transactions/{transaction_id}",
        "/v1/services",
        "/v1/health",
        "/v1/ready",
        "/v1/audit/public-key",
    ):
        assert path in spec["paths"], path
    codes = spec["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert {"tariff_exceeded", "idempotency_conflict", "agency_timeout"} <= set(codes)


def test_request_id_is_echoed_or_made(client):
    given = client.get("/v1/health", headers={"X-Request-Id": "counter-42.a"})
    assert given.headers["X-Request-Id"] == "counter-42.a"
    made = client.get("/v1/health", headers={"X-Request-Id": "bad id with spaces"})
    assert len(made.headers["X-Request-Id"]) == 32


def test_unknown_path_and_method_are_problems(client):
    assert client.get("/v1/nothing").get_json()["code"] == "not_found"
    response = client.delete("/v1/services")
    assert response.status_code == 405 and response.get_json()["code"] == "method_not_allowed"


def test_concurrent_duplicates_execute_once_with_identical_responses(app, counter, sandbox):
    """Many requests with one Idempotency-Key, at once, over real HTTP: one payment."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/v1/transactions"
    barrier = threading.Barrier(12)

    def send(_):
        barrier.wait()
        response = requests.post(
            url, json=pay_body(), headers=counter.headers("same-key"), timeout=30
        )
        return response.status_code, response.content

    try:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            results = list(pool.map(send, range(12)))
    finally:
        server.shutdown()
        server.server_close()
    assert {status for status, _ in results} == {201}, results[0][1].decode()
    assert len({body for _, body in results}) == 1
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1
