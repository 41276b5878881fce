"""Failed authentications are rate limited per client address and key id, and logged — what
fails is throttled, never a request that authenticates."""

from __future__ import annotations

from conftest import BILL, make_app, open_counter, pay_body


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
    # then that address's guesses are refused before they are looked into ...
    throttled = client.post("/v1/transactions", json=body, headers=wrong)
    assert throttled.status_code == 429
    assert throttled.get_json()["code"] == "too_many_failures"
    assert int(throttled.headers["Retry-After"]) >= 1
    # ... and so is another bad key from it, but a good credential from it still works
    other_guess = {"Authorization": "Bearer pgk_fedcba9876543210.not-the-secret-at-all-xx"}
    assert client.post("/v1/transactions", json=body, headers=other_guess).status_code == 429
    assert client.post("/v1/transactions", json=body, headers=counter.headers()).status_code == 201
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
    assert logged.count('"auth_failed"') == 3 and logged.count('"auth_throttled"') == 2
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
    # the address and the key are over the limit: a stranger's guess at that key is refused,
    # while the office's own valid key (with its registered operator) keeps working
    guess = counter.headers(**{"X-Operator": "0084575948"})
    guess["Authorization"] = guess["Authorization"].rsplit(".", 1)[0] + ".guessed-secret-xxxxxxxxxx"
    assert client.post("/v1/transactions", json=body, headers=guess).status_code == 429
    assert client.post("/v1/transactions", json=body, headers=counter.headers()).status_code == 201
    gw.store.dispose()


def test_behind_a_trusted_proxy_the_address_counted_is_the_one_it_forwards(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    app = make_app(
        db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="2/minute", TRUSTED_PROXIES=1
    )
    client = app.test_client()
    tries = iter(range(100))

    def guess(address: str) -> str:
        wrong = f"Bearer pgk_{next(tries):016x}.not-the-secret-at-all-xx"  # a new key each time
        headers = {"Authorization": wrong, "X-Forwarded-For": address}
        return client.get("/v1/services", headers=headers).get_json()["code"]

    assert [guess("10.0.0.1") for _ in range(3)] == ["unauthorized"] * 2 + ["too_many_failures"]
    assert guess("10.0.0.2") == "unauthorized"  # another citizen behind the same proxy
    app.extensions["pishkhan"].store.dispose()


def test_garbage_from_one_address_does_not_lock_out_a_valid_office(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    """A thousand bad keys from the address an honest office shares (a NAT, a province's proxy):
    the stranger is throttled from the fourth on; the office, from the same address, is never
    refused between them."""
    app = make_app(db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="3/minute")
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    counter = open_counter(gw, "office-1")
    answers: dict[int, int] = {}
    for i in range(1000):
        bad = {"Authorization": f"Bearer pgk_{i:016x}.garbage-garbage-garbage"}
        status = client.get("/v1/services", headers=bad).status_code
        answers[status] = answers.get(status, 0) + 1
        if i % 100 == 0:
            assert client.get("/v1/services", headers=counter.headers()).status_code == 200
    assert answers == {401: 3, 429: 997}
    paid = client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    assert paid.status_code == 201
    gw.store.dispose()


def test_a_supervisor_signs_in_to_the_console_from_a_throttled_address(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    from pishkhan_gateway.registry import supervisors

    app = make_app(db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="2/minute")
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    supervisors.add(gw.store, "reg", "regulator", None)
    key = supervisors.issue_key(gw.store, "reg")
    for _ in range(3):
        client.post("/console/signin", data={"credential": "psk_0123456789abcdef.wrong-wrong-x"})
    refused = client.post("/console/signin", data={"credential": "psk_0123456789abcdef.wrong-xx"})
    assert refused.status_code == 429
    assert client.post("/console/signin", data={"credential": key}).status_code == 302
    gw.store.dispose()


def test_offices_and_operators_have_quotas(db_url, tmp_path, plugins, sandboxes, sandbox):
    app = make_app(
        db_url,
        tmp_path,
        plugins,
        sandboxes,
        OFFICE_RATE_LIMIT="3/minute",
        OPERATOR_RATE_LIMIT="2/minute",
        REFUSAL_LOG_WINDOW_SECONDS=0,  # every refusal recorded (the cap: the test below)
    )
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    counter = open_counter(gw, "office-1")
    from pishkhan_gateway.registry import offices

    offices.add_operator(gw.store, gw.pseudonyms, "office-1", "0084575948")
    second = {"X-Operator": "0084575948"}
    body = {"service": "postbank.bill.inquiry", "params": BILL}

    def send(**headers):
        return client.post("/v1/transactions", json=body, headers=counter.headers(**headers))

    assert [send().status_code for _ in range(2)] == [201, 201]
    limited = send()  # the operator's quota
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    assert "operator" in limited.get_json()["detail"] and int(limited.headers["Retry-After"]) > 0
    assert send(**second).status_code == 201  # another operator, same office: third of three
    office_limited = send(**second).get_json()
    assert office_limited["code"] == "rate_limited" and "office" in office_limited["detail"]
    recorded = client.get(
        f"/v1/transactions/{office_limited['transaction_id']}", headers=counter.headers()
    )
    assert recorded.get_json()["code"] == "rate_limited"  # refusals are recorded
    gw.store.dispose()


def test_an_office_hammering_past_its_quota_cannot_flood_the_log(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    """The first over-quota refusal in each window is recorded; the rest are answered (429,
    ``recorded: false``) and counted, and their number is written as one entry."""
    import json
    import time

    from sqlalchemy import func, select

    from pishkhan_gateway.store.tables import LogEntry

    app = make_app(
        db_url,
        tmp_path,
        plugins,
        sandboxes,
        OFFICE_RATE_LIMIT="1/minute",
        REFUSAL_LOG_WINDOW_SECONDS=0.5,
    )
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    counter = open_counter(gw, "office-1")
    body = {"service": "postbank.bill.inquiry", "params": BILL}
    answers = [
        client.post("/v1/transactions", json=body, headers=counter.headers()) for _ in range(40)
    ]
    assert answers[0].status_code == 201
    refused = [a.get_json() for a in answers[1:]]
    assert {a["code"] for a in refused} == {"rate_limited"}
    assert "transaction_id" in refused[0] and all(a["recorded"] is False for a in refused[1:])
    with gw.store.read() as session:
        assert session.scalar(select(func.count()).select_from(LogEntry)) == 2
    time.sleep(0.6)  # a new window: the count of the last one, then this refusal in full
    again = client.post("/v1/transactions", json=body, headers=counter.headers()).get_json()
    assert again["code"] == "rate_limited" and "transaction_id" in again
    with gw.store.read() as session:
        entries = [json.loads(bytes(e)) for e in session.scalars(select(LogEntry.entry))]
    (count,) = [e for e in entries if e.get("type") == "refusal_count"]
    assert (count["office"], count["count"]) == ("office-1", 38)  # none unaccounted
    assert len(entries) == 4
    gw.store.dispose()


def test_guesses_at_one_key_are_throttled_from_any_address_and_the_key_still_works(
    db_url, tmp_path, plugins, sandboxes, sandbox
):
    """Guessing the secret of a known key id from many addresses counts against the key id;
    its holder, presenting the real secret, is not refused."""
    app = make_app(db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="3/minute")
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    counter = open_counter(gw, "office-1")
    key_id = counter.credential.split(".", 1)[0]
    statuses = [
        client.get(
            "/v1/services",
            headers={"Authorization": f"Bearer {key_id}.guess-number-{i:04d}-xxxxxx"},
            environ_base={"REMOTE_ADDR": f"10.9.0.{i}"},
        ).status_code
        for i in range(6)
    ]
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert client.get("/v1/services", headers=counter.headers()).status_code == 200
    gw.store.dispose()


def test_the_memory_the_failures_take_is_capped(
    db_url, tmp_path, plugins, sandboxes, sandbox, monkeypatch
):
    from pishkhan_gateway.web import throttle

    monkeypatch.setattr(throttle, "MAX_TRACKED", 10)
    app = make_app(db_url, tmp_path, plugins, sandboxes, AUTH_FAILURE_LIMIT="3/minute")
    client = app.test_client()
    for i in range(40):  # 40 addresses × 2 buckets (address, key id)
        client.get(
            "/v1/services",
            headers={"Authorization": f"Bearer pgk_{i:016x}.garbage-garbage-garbage"},
            environ_base={"REMOTE_ADDR": f"10.8.{i}.1"},
        )
    storages = [
        cell.cell_contents
        for hook in app.after_request_funcs[None]
        for cell in (hook.__closure__ or ())
        if isinstance(cell.cell_contents, throttle.MemoryStorage)
    ]
    assert storages and all(len(s.events) <= 11 for s in storages)
    app.extensions["pishkhan"].store.dispose()
