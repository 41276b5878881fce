"""Failed authentications are rate limited per client address, and logged."""

from __future__ import annotations

from conftest import BILL, make_app, open_counter


def test_a_client_guessing_credentials_is_refused_then_let_back(
    db_url, tmp_path, plugins, sandboxes, sandbox, capfd
):
    app = make_app(db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="3/minute")
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    counter = open_counter(gw, "office-1")
    body = {"service": "postbank.bill.inquiry", "params": BILL}
    wrong = {"Authorization": "Bearer pgk_0123456789abcdef.not-the-secret-at-all-xx"}
    for _ in range(3):
        reply = client.post("/v1/transactions", json=body, headers=wrong)
        assert reply.get_json()["code"] == "unauthorized"
    # then everything from that address is refused, even a good credential
    throttled = client.post("/v1/transactions", json=body, headers=counter.headers())
    assert throttled.status_code == 429
    assert throttled.get_json()["code"] == "too_many_failures"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert client.get("/v1/audit/tree-head").status_code == 200  # public reads stay open
    # another client address is not affected
    other = client.post(
        "/v1/transactions",
        json=body,
        headers=counter.headers(),
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other.status_code == 201
    logged = capfd.readouterr().err
    assert logged.count('"auth_failed"') == 3 and '"auth_throttled"' in logged
    gw.store.dispose()


def test_unregistered_operators_count_as_failures(db_url, tmp_path, plugins, sandboxes, sandbox):
    app = make_app(db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="2/minute")
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    counter = open_counter(gw, "office-1")
    body = {"service": "postbank.bill.inquiry", "params": BILL}
    for _ in range(2):
        reply = client.post(
            "/v1/transactions", json=body, headers=counter.headers(**{"X-Operator": "0084575948"})
        )
        assert reply.get_json()["code"] == "operator_not_registered"
    assert client.post("/v1/transactions", json=body, headers=counter.headers()).status_code == 429
    gw.store.dispose()
