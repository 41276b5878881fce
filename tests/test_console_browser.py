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
    assert "تخلف از تعرفه" in page.inner_text("#scorecard")
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
