"""The supervisor console over the test client: sign-in, every page, scope, CSRF, licence
actions, revocation ending a session. (The browser drives it in test_console_browser.py.)"""

from __future__ import annotations

import re

import pytest

from conftest import OTHER_OPERATOR, open_counter, pay_body
from pishkhan_gateway.registry import supervisors


@pytest.fixture
def desk(app, gw, client, counter):
    """Two offices in two provinces with traffic, and three supervisors."""
    fars = open_counter(gw, "fars-1", province="Fars", category="village", operator=OTHER_OPERATOR)
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    client.post("/v1/transactions", json=pay_body(fee=999_999), headers=counter.headers())
    inquiry = {"service": "postbank.bill.inquiry", "params": pay_body()["params"]}
    client.post("/v1/transactions", json=inquiry, headers=fars.headers())
    gw.sealer.seal_all()
    keys = {}
    for sid, role, scope in (
        ("reg", "regulator", None),
        ("fars", "province", "Fars"),
        ("pb", "agency", "postbank"),
    ):
        supervisors.add(gw.store, sid, role, scope)
        keys[sid] = supervisors.issue_key(gw.store, sid)
    return keys


def sign_in(client, key):
    reply = client.post("/console/signin", data={"credential": key})
    assert reply.status_code == 302, reply.data
    return client


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()


def test_pages_render_in_persian_for_the_regulator(client, desk):
    sign_in(client, desk["reg"])
    page = client.get("/console/transactions")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'dir="rtl"' in text and "جستجوی تراکنش‌ها" in text
    assert "office-1" in text and "fars-1" in text
    assert re.search(r"۱۴۰[۰-۹]/", text)  # Jalali dates in Persian digits
    tx = re.search(r"/console/transactions/(tx_[0-9a-f]+)", text).group(1)
    detail = client.get(f"/console/transactions/{tx}").get_data(as_text=True)
    assert "data-path=" in detail and "گواهی درج" in detail
    for path in (
        "/console/offices",
        "/console/offices/office-1",
        "/console/agencies",
        "/console/integrity",
    ):
        assert client.get(path).status_code == 200, path
    office = client.get("/console/offices/office-1").get_data(as_text=True)
    assert "بیش از سقف" in office and "<svg" in office and "تعلیق" in office
    csv = client.get("/console/export.csv?office=office-1")
    assert csv.mimetype == "text/csv" and b"fars-1" not in csv.data


def test_a_province_sees_only_its_province(client, desk):
    sign_in(client, desk["fars"])
    text = client.get("/console/transactions").get_data(as_text=True)
    assert "fars-1" in text and "office-1" not in text
    assert client.get("/console/offices/office-1").status_code == 404
    assert "office-1" not in client.get("/console/offices").get_data(as_text=True)
    assert b"office-1" not in client.get("/console/export.csv").data


def test_an_agency_cannot_act_on_a_licence(client, desk, gw):
    sign_in(client, desk["pb"])
    page = client.get("/console/offices/office-1")
    assert page.status_code == 200 and b'id="actions"' not in page.data
    token = csrf(page.data)
    reply = client.post(
        "/console/offices/office-1/suspend", data={"reason": "no reason at all", "csrf": token}
    )
    assert reply.status_code == 403
    from pishkhan_gateway.registry import offices

    assert offices.get_office(gw.store, "office-1").status == "active"


def test_suspending_needs_the_form_token_and_takes_effect(client, desk, gw, counter):
    sign_in(client, desk["reg"])
    page = client.get("/console/offices/office-1")
    forged = client.post("/console/offices/office-1/suspend", data={"reason": "forged form"})
    assert forged.status_code == 400
    done = client.post(
        "/console/offices/office-1/suspend",
        data={"reason": "overcharging, case 17", "csrf": csrf(page.data)},
    )
    assert done.status_code == 302
    refused = gw_app_client = client.application.test_client()
    reply = gw_app_client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    assert reply.get_json()["code"] == "office_suspended"
    assert refused is gw_app_client


def test_revoking_the_credential_ends_the_session(client, desk, gw, runner):
    """The regulator revokes a province's key from the console; that province's open session
    ends on its next request, and the revocation is recorded with its reason."""
    province = client.application.test_client()
    sign_in(province, desk["fars"])
    assert province.get("/console/transactions").status_code == 200
    sign_in(client, desk["reg"])
    page = client.get("/console/supervisors")
    credential_id = desk["fars"].split(".")[0]
    assert page.status_code == 200 and credential_id in page.get_data(as_text=True)
    assert desk["fars"].split(".")[1] not in page.get_data(as_text=True)  # never the secret
    reply = client.post(
        "/console/supervisors/revoke",
        data={"csrf": csrf(page.data), "credential": credential_id, "reason": "key leaked"},
    )
    assert reply.status_code == 302
    gone = province.get("/console/transactions")
    assert gone.status_code == 302 and "/console/signin" in gone.location
    assert client.get("/console/agencies").status_code == 200  # the regulator's own goes on


def test_only_the_regulator_revokes_supervisor_credentials(client, desk):
    sign_in(client, desk["fars"])
    assert client.get("/console/supervisors").status_code == 403
    page = client.get("/console/transactions")
    reply = client.post(
        "/console/supervisors/revoke",
        data={"csrf": csrf(page.data), "credential": desk["reg"].split(".")[0], "reason": "x" * 5},
    )
    assert reply.status_code == 403


def test_a_wrong_key_is_refused_and_pages_need_sign_in(client, desk):
    assert client.get("/console/transactions").status_code == 302
    reply = client.post(
        "/console/signin", data={"credential": "psk_0000000000000000.nope-nope-nope-nope-nope"}
    )
    assert reply.status_code == 401 and "پذیرفته نشد" in reply.get_data(as_text=True)


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(client, desk, gw, counter):
    """A cookie saved before sign-out lists nothing and acts on nothing afterwards."""
    sign_in(client, desk["reg"])
    page = client.get("/console/transactions")
    assert page.status_code == 200
    saved = client.get_cookie("session", path="/console")
    token = csrf(page.data)
    client.post("/console/signout", data={"csrf": token})
    thief = client.application.test_client()
    thief.set_cookie("session", saved.value, path="/console")
    listed = thief.get("/console/transactions")
    assert listed.status_code == 302 and "/console/signin" in listed.location
    acted = thief.post(
        f"/console/offices/{counter.office_id}/suspend", data={"csrf": token, "reason": "replayed"}
    )
    assert acted.status_code in (302, 400)  # to the sign-in page, or its form has expired
    reply = client.application.test_client().post(
        "/v1/transactions", json=pay_body(), headers=counter.headers()
    )
    assert reply.get_json().get("code") != "office_suspended"  # nothing was done


@pytest.mark.parametrize(
    ("column", "age"), [("last_seen_at", {"minutes": 31}), ("created_at", {"hours": 9})]
)
def test_an_idle_or_old_session_ends(client, desk, gw, column, age):
    """30 minutes without a click, or 8 hours after sign-in, and the session is over."""
    import datetime as dt

    from sqlalchemy import update

    from pishkhan_gateway.store.tables import ConsoleSession

    sign_in(client, desk["reg"])
    assert client.get("/console/transactions").status_code == 200
    with gw.store.write() as session:
        session.execute(
            update(ConsoleSession).values({column: dt.datetime.now(dt.UTC) - dt.timedelta(**age)})
        )
    reply = client.get("/console/transactions")
    assert reply.status_code == 302 and "/console/signin" in reply.location


def test_codes_services_and_receipts_read_in_persian(client, desk):
    """No raw refusal code, service id or ``\\u`` escape in what a supervisor reads: codes by
    their Persian names (the API's ``message_fa``), services by catalog title."""
    sign_in(client, desk["reg"])
    listing = client.get("/console/transactions").get_data(as_text=True)
    visible = re.sub(r"<[^>]+>", " ", listing)
    assert "tariff_exceeded" not in visible and "postbank.bill.pay" not in visible
    assert "کارمزد دفتر بیش از تعرفه مصوب است" in visible and "پرداخت قبض" in visible
    receipts = 0
    for tx in re.findall(r"/console/transactions/(tx_[0-9a-f]+)", listing):
        detail = client.get(f"/console/transactions/{tx}").get_data(as_text=True)
        assert "\\u06" not in detail
        if "<h2>رسید امضاشده</h2>" in detail:
            receipts += 1
            panel = detail.split("<h2>رسید امضاشده</h2>")[1].split("</pre>")[0]
            assert re.search("(پرداخت|استعلام) قبض", panel)  # service_title_fa, as Persian
    assert receipts >= 1


def test_no_console_page_shows_a_raw_code_or_an_escape(client, desk, gw):
    """Every page a supervisor reads, in visible text: no refusal code, no service id, no
    ``\\u`` escape — the one table (``consolewords.CODE_FA``) names them all in Persian."""
    from pishkhan_gateway.errors import all_errors
    from pishkhan_gateway.web.console.words import CODE_FA

    assert set(CODE_FA) == {cls.code for cls in all_errors()}
    assert all(CODE_FA[code] and CODE_FA[code] != code for code in CODE_FA)
    sign_in(client, desk["reg"])
    listing = client.get("/console/transactions").get_data(as_text=True)
    pages = [
        "/console/transactions",
        *(
            f"/console/transactions/{tx}"
            for tx in re.findall(r"/console/transactions/(tx_\w+)", listing)
        ),
        "/console/offices",
        "/console/offices/office-1",
        "/console/offices/fars-1",
        "/console/agencies",
        "/console/supervisors",
        "/console/integrity",
        "/console/evaluations",
        "/console/appointments",
    ]
    services = [s.service.id for s in gw.plugins.catalog()]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        visible = re.sub(r"<(script|pre|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
        visible = re.sub(r"<[^>]+>", " ", visible)
        assert "\\u" not in html, path
        for raw in (*CODE_FA, *services):
            assert not re.search(rf"(?<![\w.]){re.escape(raw)}(?![\w.])", visible), (path, raw)
