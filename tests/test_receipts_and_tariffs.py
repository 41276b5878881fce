"""Receipts (JSON, printable Persian page, QR check, public verification), the tariff board,
yearly indexation, publishing tariffs, and the daily settlement."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from conftest import BILL, BILL_2, TARIFFS, open_counter, pay_body
from pishkhan_gateway.crypto.signing import Signer
from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.pricing.tariffs import indexed, read_schedule_file
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.store.tables import LogEntry


@pytest.fixture
def paid(client, counter):
    return client.post("/v1/transactions", json=pay_body(), headers=counter.headers()).get_json()


def test_receipt_is_served_as_json(client, counter, paid):
    got = client.get(f"/v1/receipts/{paid['transaction_id']}", headers=counter.headers())
    assert got.get_json() == paid["receipt"]


def test_printable_receipt_is_persian_rtl_with_jalali_date_and_qr(client, counter, paid):
    page = client.get(
        f"/v1/receipts/{paid['transaction_id']}?format=html", headers=counter.headers()
    )
    html = page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    assert 'dir="rtl"' in html and 'lang="fa"' in html
    assert "رسید پرداخت" in html and "پرداخت قبض" in html
    assert "۱۲۰٬۰۰۰ ریال" in html and "۴۰٬۰۰۰ ریال" in html and "۱۶۰٬۰۰۰ ریال" in html
    assert "۱۴۰۵/" in html  # the Jalali year, in Persian digits
    assert "<svg" in html and "<script" not in html


PHONE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_the_qr_check_url_confirms_a_genuine_receipt(client, paid):
    signature = paid["receipt"]["signature"][:16].replace("+", "-").replace("/", "_")
    url = f"/v1/receipts/{paid['transaction_id']}/check?s={signature}"
    page = client.get(url, headers=PHONE).get_data(as_text=True)
    assert "این رسید اصل است" in page and "۱۶۰٬۰۰۰" in page
    assert client.get(url + "&format=json", headers=PHONE).get_json()["valid"] is True
    forged_url = f"/v1/receipts/{paid['transaction_id']}/check?s=AAAAAAAAAAAAAAAA"
    forged = client.get(forged_url, headers=PHONE)
    assert forged.status_code == 404 and "ثبت نشده" in forged.get_data(as_text=True)
    # an API client (JSON, */* or no Accept at all) gets JSON, never a page, refusals included
    for accept in ({"Accept": "application/json"}, {"Accept": "*/*"}, {}):
        for asked, status in ((url, 200), (forged_url, 404)):
            answer = client.get(asked, headers=accept)
            assert answer.status_code == status and answer.is_json, (accept, answer.content_type)
            assert answer.get_json()["valid"] is (status == 200)


def test_receipt_verification_catches_any_altered_field(client, paid):
    receipt = paid["receipt"]
    assert client.post("/v1/receipts/verify", json=receipt).get_json()["valid"] is True
    for field in ("total", "office_fee", "agency_amount", "log_index"):
        altered = {**receipt, field: receipt[field] + 1}
        assert client.post("/v1/receipts/verify", json=altered).get_json()["valid"] is False
    for field in ("transaction_id", "office_id", "service", "time", "agency_reference"):
        altered = {**receipt, field: "x" + str(receipt[field])}
        assert client.post("/v1/receipts/verify", json=altered).get_json()["valid"] is False


def test_a_receipt_signed_by_another_key_is_not_genuine(client, paid, tmp_path):
    forger = Signer.from_file(tmp_path / "forger.pem")
    forged = forger.sign({k: v for k, v in paid["receipt"].items() if k != "key_id"})
    verdict = client.post("/v1/receipts/verify", json=forged).get_json()
    assert verdict == {"valid": False, "reason": "signed by an unknown key"}


def test_another_offices_receipt_is_not_served(client, gw, paid):
    other = open_counter(gw, "office-2")
    response = client.get(f"/v1/receipts/{paid['transaction_id']}", headers=other.headers())
    assert response.status_code == 404


def test_the_tariff_board_is_persian_with_the_schedule_and_free_services(client, counter):
    board = client.get("/v1/tariffs", headers=counter.headers()).get_json()
    assert board["schedule"]["effective_jalali"] == "1405-01-01"
    page = client.get("/v1/tariffs?format=html", headers=counter.headers()).get_data(as_text=True)
    assert "تابلوی تعرفه خدمات" in page and "کلان‌شهر" in page
    assert "۱۴۰۵-۰۱-۰۱" in page and "Sample tariff schedule 1405" in page
    assert re.search(r"پرداخت قبض</td><td>پست بانک</td>\s*<td class=\"money\">۵۳٬۰۰۰", page)
    assert re.search(r"استعلام قبض</td><td>پست بانک</td>\s*<td class=\"money\">رایگان", page)


def test_indexation_rounds_to_1000_rials_and_keeps_free_services_free():
    base = read_schedule_file(TARIFFS / "sample-1404.toml")
    nxt = indexed(base, "0.32", "1405-01-01")
    assert nxt["caps"]["postbank.bill.pay"] == {"all": 40000, "metropolis": 53000}
    assert nxt["caps"]["postbank.bill.inquiry"] == {"all": 0}
    assert nxt["caps"] == read_schedule_file(TARIFFS / "sample-1405.toml")["caps"]
    with pytest.raises(InvalidRequest):
        indexed(base, "0.32", "1403-01-01")  # not after the base
    with pytest.raises(InvalidRequest):
        indexed(base, "lots", "1406-01-01")


@given(
    cap=st.integers(min_value=0, max_value=10**10),
    rate=st.decimals(min_value="-0.5", max_value="5", places=3),
)
def test_indexed_caps_are_whole_thousands_of_rials(cap, rate):
    base = {"name": "b", "effective": "1405-01-01", "caps": {"a.b": {"all": cap}}}
    new = indexed(base, str(rate), "1406-01-01")["caps"]["a.b"]["all"]
    assert type(new) is int and new % 1000 == 0 and new >= 0
    if cap == 0:
        assert new == 0


def test_tariffs_index_command_loads_the_next_version(runner, gw):
    result = runner.invoke(args=["tariffs", "index", "--rate", "0.32", "--effective", "1406-01-01"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["caps"]["postbank.bill.pay"]["metropolis"] == 70000
    assert [s.effective_jalali for s in gw.tariffs.schedules()][-1] == "1406-01-01"


def test_only_the_regulator_publishes_tariffs(client, gw, counter):
    document = read_schedule_file(TARIFFS / "sample-1405.toml")
    document = {**document, "effective": "1407-01-01", "name": "published"}
    supervisors.add(gw.store, "wg", "province", "Fars")
    province = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'wg')}"}
    assert client.post("/v1/tariffs", json=document, headers=province).status_code == 403
    assert client.post("/v1/tariffs", json=document, headers=counter.headers()).status_code == 401
    supervisors.add(gw.store, "reg", "regulator", None)
    regulator = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'reg')}"}
    published = client.post("/v1/tariffs", json=document, headers=regulator)
    assert published.status_code == 201 and published.get_json()["effective"] == "1407-01-01"
    bad = client.post(
        "/v1/tariffs",
        json={**document, "effective": "1408-01-01", "caps": {"a.b": {"all": 1.5}}},
        headers=regulator,
    )
    assert bad.status_code == 400 and bad.get_json()["field"] == "caps/a.b/all"


def test_the_daily_settlement_matches_the_log_exactly(client, counter, gw):
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    client.post("/v1/transactions", json=pay_body(BILL_2, fee=25000), headers=counter.headers())
    client.post("/v1/transactions", json=pay_body(fee=10**9), headers=counter.headers())
    client.post(
        "/v1/transactions",
        headers=counter.headers(),
        json={"service": "postbank.bill.inquiry", "params": BILL},
    )
    settlement = client.get("/v1/settlements", headers=counter.headers()).get_json()
    with gw.store.read() as session:
        entries = [json.loads(e) for e in session.scalars(select(LogEntry.entry))]
    paid = [e for e in entries if e.get("outcome") == "succeeded" and e["office"] == "office-1"]
    by_service = {s["service"]: s for s in settlement["services"]}
    for service in {e["service"] for e in paid}:
        mine = [e for e in paid if e["service"] == service]
        assert by_service[service]["count"] == len(mine)
        for key in ("agency_amount", "office_fee", "total"):
            assert by_service[service][key] == sum(e[key] for e in mine)
    assert settlement["totals"]["total"] == 160000 + 30000 == sum(e["total"] for e in paid)
    assert settlement["date"].startswith("14")
    earlier = client.get("/v1/settlements?date=1405-01-01", headers=counter.headers())
    assert earlier.get_json()["services"] == []
