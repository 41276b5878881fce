"""The console in a real browser: Debian's Chromium driven by Playwright (never a downloaded
browser). Signs in, searches, opens a transaction and verifies its inclusion proof with WebCrypto,
suspends an office with a reason, and checks a province sees only its own. Screenshots of the main
pages go to ``$PISHKHAN_SCREENSHOTS`` (the README's are made this way) or the test's temp dir."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from conftest import OTHER_OPERATOR, make_app, open_counter, pay_body
from pishkhan_gateway.auditlog import verify as auditing
from pishkhan_gateway.registry import supervisors

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _need_browser() -> None:
    if CHROMIUM is None:
        message = "console browser tests NOT RUN: no chromium (make test apt-installs it as root)"
        if os.environ.get("PISHKHAN_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def site(tmp_path, plugins, sandboxes, sandbox) -> Iterator[dict[str, Any]]:
    """The gateway on SQLite, served on a loopback port, with traffic in two provinces."""
    app = make_app(f"sqlite:///{tmp_path / 'console.db'}", tmp_path, plugins, sandboxes)
    from pishkhan_gateway.store import Store

    Store(app.config["DATABASE_URL"]).upgrade()
    gw = app.extensions["pishkhan"]
    client = app.test_client()
    tehran = open_counter(gw, "tehran-1", province="Tehran")
    fars = open_counter(gw, "fars-1", province="Fars", category="village", operator=OTHER_OPERATOR)
    client.post("/v1/transactions", json=pay_body(), headers=tehran.headers())
    client.post("/v1/transactions", json=pay_body(fee=999_999), headers=tehran.headers())
    inquiry = {"service": "postbank.bill.inquiry", "params": pay_body()["params"]}
    for _ in range(2):
        client.post("/v1/transactions", json=inquiry, headers=fars.headers())
    gw.sealer.seal_all()
    auditing.record_run(gw.store, auditing.verify_store(gw.store, gw.signer.public_key))
    keys = {}
    for sid, role, scope in (("reg", "regulator", None), ("fars", "province", "Fars")):
        supervisors.add(gw.store, sid, role, scope)
        keys[sid] = supervisors.issue_key(gw.store, sid)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shots = Path(os.environ.get("PISHKHAN_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    yield {"url": f"http://127.0.0.1:{server.server_port}", "keys": keys, "gw": gw, "shots": shots}
    server.shutdown()
    gw.store.dispose()


def _sign_in(browser: Any, site: dict[str, Any], who: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fa-IR")
    page.goto(site["url"] + "/console/")
    page.fill("#credential", site["keys"][who])
    page.click("button[type=submit]")
    page.wait_for_url("**/console/transactions")
    return page


def test_regulator_searches_verifies_and_suspends(browser, site):
    page = _sign_in(browser, site, "reg")
    assert page.get_attribute("html", "dir") == "rtl"
    page.screenshot(path=str(site["shots"] / "console-transactions.png"), full_page=True)
    page.fill("input[name=office]", "tehran-1")
    page.click("#search button[type=submit]")
    page.wait_for_url("**office=tehran-1**")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 2 and "fars-1" not in page.inner_text("#results")
    assert "۱۴۰" in page.inner_text("#results")  # Jalali years in Persian digits
    rows.first.locator("a").click()
    page.click("#verify-inclusion")
    page.wait_for_selector("#inclusion-result[data-verdict]")
    assert page.get_attribute("#inclusion-result", "data-verdict") == "ok", page.inner_text(
        "#inclusion-result"
    )
    page.screenshot(path=str(site["shots"] / "console-transaction.png"), full_page=True)
    # the check is real: alter one byte of the entry in the page and it fails
    page.evaluate(
        "() => { const s = document.getElementById('inclusion');"
        " const e = atob(s.dataset.entry);"
        " s.dataset.entry = btoa(e.replace('tehran-1', 'tehran-2')); }"
    )
    page.click("#verify-inclusion")
    page.wait_for_function("document.getElementById('inclusion-result').dataset.verdict === 'bad'")

    page.goto(site["url"] + "/console/offices/tehran-1")
    assert "بیش از سقف" in page.inner_text("#scorecard")
    page.screenshot(path=str(site["shots"] / "console-office.png"), full_page=True)
    page.fill("input[data-action=suspend]", "گران‌فروشی؛ پرونده ۱۷")
    page.click("button[value=suspend]")
    page.wait_for_selector("#done")
    assert page.inner_text("#licence-status") == "تعلیق"
    from pishkhan_gateway.registry import offices

    office = offices.get_office(site["gw"].store, "tehran-1")
    assert office.status == "suspended" and "۱۷" in office.status_reason

    page.goto(site["url"] + "/console/agencies")
    assert "postbank" in page.inner_text("#agencies")
    page.screenshot(path=str(site["shots"] / "console-agencies.png"), full_page=True)
    page.goto(site["url"] + "/console/integrity")
    page.click("#verify-head")
    page.wait_for_selector("#head-result[data-verdict]")
    assert page.get_attribute("#head-result", "data-verdict") == "ok"
    page.screenshot(path=str(site["shots"] / "console-integrity.png"), full_page=True)
    page.close()


def test_a_province_sees_only_its_own(browser, site):
    page = _sign_in(browser, site, "fars")
    listing = page.inner_text("#results")
    assert "fars-1" in listing and "tehran-1" not in listing
    page.goto(site["url"] + "/console/offices")
    assert "tehran-1" not in page.inner_text("main")
    response = page.goto(site["url"] + "/console/offices/tehran-1")
    assert response.status == 404
    assert "actions" not in page.content() or page.locator("#actions").count() == 0
    page.goto(site["url"] + "/console/offices/fars-1")
    assert page.locator("#actions").count() == 1  # its own province: may act
    page.close()


def test_the_office_record_and_the_actions_each_role_may_take(browser, site):
    """A renewal through the console: the office asks (API), the province recommends, the
    regulator approves; the province sees no revoke button, only the request to revoke; a
    region sees the violation form and no suspension; the record shows it all in Persian."""
    import datetime as dt

    from pishkhan_gateway.pricing import licencefees
    from pishkhan_gateway.registry import offices
    from pishkhan_gateway.regulation import lifecycle
    from pishkhan_gateway.store.tables import Office

    gw = site["gw"]
    licencefees.load(
        gw.store,
        licencefees.read_file(
            Path(__file__).parent.parent / "contracts" / "licences" / "fees-1398.toml"
        ),
    )
    with gw.store.write() as session:
        session.get(Office, "fars-1").expires_on = offices.today() + dt.timedelta(days=20)
    lifecycle.ask(gw.store, "fars-1", "renewal", {})
    supervisors.add(gw.store, "region-7", "region", "7")
    site["keys"]["region-7"] = supervisors.issue_key(gw.store, "region-7")

    page = _sign_in(browser, site, "fars")
    page.goto(site["url"] + "/console/offices/fars-1")
    assert "هشدار ۳۰ روزه" in page.inner_text("#licence-warning")
    assert page.locator("button[value=revoke]").count() == 0  # a province cannot revoke
    assert page.locator("button[value=revocation_request]").count() == 1  # it may ask
    assert page.locator("button[value=approve]").count() == 0
    page.fill("input[data-action=recommend]", "دفتر فعال و بدون پرونده باز")
    page.click("button[value=recommend]")
    page.wait_for_selector("#done")
    assert "با نظر استان" in page.inner_text("#requests")
    page.close()

    page = _sign_in(browser, site, "reg")
    page.goto(site["url"] + "/console/offices/fars-1")
    assert page.locator("button[value=revoke]").count() == 1
    page.fill("input[data-action=approve]", "شرایط تمدید فراهم است")
    page.click("button[value=approve]")
    page.wait_for_selector("#done")
    requests = page.inner_text("#requests")
    assert "تأیید شده" in requests and "۵۰۰٬۰۰۰" in requests  # a tenth of a village's 5,000,000
    history = page.inner_text("#history")
    assert "تمدید پروانه" in history and "نظر استان درباره تمدید" in history
    page.screenshot(path=str(site["shots"] / "console-office-record.png"), full_page=True)
    page.close()

    page = _sign_in(browser, site, "region-7")
    page.goto(site["url"] + "/console/offices/fars-1")
    assert page.locator("#new-case").count() == 1
    assert page.locator("button[value=suspend]").count() == 0
    assert page.locator("input[name=suspend]").count() == 0
    page.fill("#new-case input[name=complaint]", "شکایت ۱۲۳")
    page.fill("#new-case input[name=points]", "۵")
    page.fill("#new-case input[name=fine]", "۱۰٬۰۰۰٬۰۰۰")
    page.fill("#new-case input[name=reason]", "دریافت وجه اضافه با رسید")
    page.click("#new-case button[type=submit]")
    page.wait_for_selector("#done")
    assert "۱۰٬۰۰۰٬۰۰۰" in page.inner_text("#cases")
    assert "۵" in page.inner_text("#standing")
    outside = page.goto(site["url"] + "/console/offices/tehran-1")  # Tehran is region 1's
    assert outside.status == 404
    page.close()


def test_the_integrity_page_accepts_a_checkpoint_only_with_the_quorum(browser, site, tmp_path):
    """Two witnesses, a quorum of two: while one has cosigned, the in-browser check (WebCrypto,
    C2SP signed note and cosignature/v1) refuses the checkpoint; once both have, it accepts."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pishkhan_gateway.auditlog import notes
    from pishkhan_gateway.auditlog.witness import State, Witness
    from pishkhan_gateway.auditlog.witnessing import Witnessing, WitnessRef
    from pishkhan_gateway.web.api.witness import make_app as witness_app

    gw = site["gw"]
    log_key = [notes.Verifier(gw.sealer.origin, notes.ED25519, gw.signer.public_key)]
    servers, refs = [], []
    for name in ("tehran.example/witness", "fars.example/witness"):
        witness = Witness(
            Ed25519PrivateKey.generate(), name, {gw.sealer.origin: log_key},
            State(tmp_path / f"{name.split('.')[0]}.db"),
        )  # fmt: skip
        server = make_server("127.0.0.1", 0, witness_app(witness), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        refs.append(WitnessRef(f"http://127.0.0.1:{server.server_port}", witness.verifier))
    try:
        gw.witnessing = Witnessing(gw.store, refs[:1], 2)  # only Tehran's is asked at first
        gw.witnessing.submit_latest()
        gw.witnessing = Witnessing(gw.store, refs, 2)
        page = _sign_in(browser, site, "reg")
        page.goto(site["url"] + "/console/integrity")
        assert "tehran.example/witness" in page.inner_text("#witnesses")
        page.click("#verify-checkpoint")
        page.wait_for_selector("#checkpoint-result[data-verdict]")
        assert page.get_attribute("#checkpoint-result", "data-verdict") == "bad"
        assert "حد نصاب" in page.inner_text("#checkpoint-result")
        gw.witnessing.submit_latest()  # Fars's cosigns too
        page.goto(site["url"] + "/console/integrity")
        page.click("#verify-checkpoint")
        page.wait_for_selector("#checkpoint-result[data-verdict]")
        assert page.get_attribute("#checkpoint-result", "data-verdict") == "ok", page.inner_text(
            "#checkpoint-result"
        )
        page.screenshot(path=str(site["shots"] / "console-integrity-witnesses.png"), full_page=True)
        page.close()
    finally:
        for server in servers:
            server.shutdown()


def test_a_citizen_rates_a_receipt_on_a_phone(browser, site):
    """The receipt's QR page on a phone-sized screen: the check, then a rating and a complaint
    with large touch targets, no sign-in; the complaint becomes the province's case."""
    import json as _json

    from sqlalchemy import select

    from pishkhan_gateway.citizens import receipts
    from pishkhan_gateway.store.tables import Transaction, ViolationCase

    gw = site["gw"]
    with gw.store.read() as session:
        receipt = _json.loads(
            session.scalars(
                select(Transaction.receipt).where(Transaction.receipt.is_not(None))
            ).first()
        )
    url = receipts.check_url(site["url"], receipt)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="fa-IR"
    )
    page = phone.new_page()
    page.goto(url)
    assert "این رسید اصل است" in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    star = page.locator("form.rate .stars label").nth(3)
    box = star.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # a thumb-sized target
    star.tap()
    page.select_option("#complaint_type", "overcharging")
    page.fill("#complaint", "۲۰ هزار تومان بیشتر از رسید گرفتند")
    page.screenshot(path=str(site["shots"] / "receipt-rating.png"), full_page=True)
    page.click("form.rate button[type=submit]")
    page.wait_for_selector("p.ok")
    assert "شکایت شما به کارگروه استان فرستاده شد" in page.inner_text("body")
    page.goto(url)
    assert page.locator("form.rate").count() == 0
    with gw.store.read() as session:
        case = session.scalars(
            select(ViolationCase).where(ViolationCase.opened_by == "citizen")
        ).one()
    assert case.type == "overcharging" and case.office_id == receipt["office_id"]
    phone.close()


def test_the_ranking_page_in_persian(browser, site):
    """A province's working group opens the evaluations and its ranking: provisional in the
    objection window, per location category, Persian names and digits, no raw codes."""
    import datetime as dt

    from pishkhan_gateway.jalali import format_date
    from pishkhan_gateway.registry import offices as registry
    from pishkhan_gateway.registry.supervisors import Scope
    from pishkhan_gateway.regulation import evaluation

    gw = site["gw"]
    start = registry.today() - dt.timedelta(days=36)  # the objection window is open today
    body = {
        "name": "ارزیابی نیمه نخست ۱۴۰۵",
        "period_from": format_date(start - dt.timedelta(days=180), "-"),
        "period_to": format_date(registry.today(), "-"),
        "opens": format_date(start, "-"),
    }
    evaluation.open_evaluation(gw.store, Scope("reg", "regulator"), body)
    page = _sign_in(browser, site, "fars")
    page.goto(site["url"] + "/console/evaluations")
    assert "اعتراض" in page.inner_text("#evaluations")
    page.click("#evaluations a")
    page.wait_for_selector("#ranking-state")
    text = page.inner_text("main")
    assert "رتبه‌بندی موقت" in text and "استان فارس" in text and "روستا" in text
    assert page.locator("table.ranking tr[data-office=fars-1]").count() == 1
    for raw in ("village", "metropolis", "over_cap", "evaluation_window", "\\u"):
        assert raw not in text
    page.screenshot(path=str(site["shots"] / "console-ranking.png"), full_page=True)
    page.close()


def test_a_citizen_books_confirms_shows_and_cancels_on_a_phone(browser, site, sandbox):
    """The appointment pages on a phone: a service and a province, an office with its fee and
    next slots, a slot and a mobile, the code from the SMS, the booking with its QR, cancel."""
    import re as _re

    from pishkhan_gateway.citizens import slots

    gw = site["gw"]
    week = {str(d): ["08:00", "14:00"] for d in range(7)}
    slots.set_capacity(gw.store, "tehran-1", {"counters": 1, "slot_minutes": 30, "days": week})
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="fa-IR"
    )
    page = phone.new_page()
    page.goto(site["url"] + "/appointments")
    page.select_option("#service", "postbank.bill.pay")
    page.select_option("#province", "Tehran")
    page.click("#choose button[type=submit]")
    page.wait_for_selector("#offices")
    assert "کارت ملی" in page.inner_text("#bring") or "کد ملی" in page.inner_text("#bring")
    assert "کارمزد دفتر حداکثر" in page.inner_text("#offices")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(site["shots"] / "appointments-offices.png"), full_page=True)
    page.click("#offices a")
    page.wait_for_selector("#slots")
    page.locator("#slots .stars label").first.tap()
    page.fill("#mobile", "09121234567")
    page.click("#slots button[type=submit]")
    page.wait_for_selector("#confirm")
    sms = [m for m in sandbox.state("telecom")["outbox"] if m["mobile"] == "09121234567"]
    page.fill("#code", _re.search(r"[0-9]{6}", sms[-1]["text"]).group(0))
    page.click("#confirm button[type=submit]")
    page.wait_for_selector("#booking")
    assert page.inner_text("#state") == "قطعی" and page.locator(".qr svg").count() == 1
    page.screenshot(path=str(site["shots"] / "appointments-booking.png"), full_page=True)
    reference = page.inner_text("#reference")
    page.click("#cancel button[type=submit]")
    page.wait_for_selector("#booking")
    assert page.inner_text("#state") == "لغو شده"
    page.goto(site["url"] + f"/appointments/{reference}")
    assert page.locator("#cancel").count() == 0
    phone.close()
