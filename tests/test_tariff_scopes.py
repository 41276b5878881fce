"""Whose word the fee is (the agencies-and-tariffs issue): a service priced by law has no office
fee — the agency's quote is the whole fee, recorded as such — and a provincial working group's
schedule lowers the national cap for its own offices, or prices a service the nation has not
(seeds/004 line 49: a provisional provincial tariff of 20,000 rials), never above the national
cap."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from conftest import BILL_2, TARIFFS, open_counter, pay_body
from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.jalali import format_date
from pishkhan_gateway.pricing import tariffchanges
from pishkhan_gateway.pricing.tariffs import FeeRule, read_schedule_file
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.store.tables import LogEntry

LAW = {"priced_by": "law", "authority": "قانون بودجه (نمونه)"}


def today() -> str:
    return format_date(offices.today(), "-")


def provincial(province: str, caps: dict, effective: str | None = None) -> dict:
    return {
        "name": f"{province} working group",
        "effective": effective or today(),
        "scope": f"province:{province}",
        "caps": caps,
    }


def law_priced(gw) -> None:
    tariffchanges.publish(
        gw.tariffs,
        {"name": "bills by law", "effective": today(), "caps": {"postbank.bill.pay": LAW}},
        amend=True,
    )


def entries(gw) -> list[dict]:
    with gw.store.read() as session:
        return [json.loads(e) for e in session.scalars(select(LogEntry.entry))]


def test_a_service_priced_by_law_takes_no_office_fee(gw, client, counter):
    law_priced(gw)
    over = client.post("/v1/transactions", json=pay_body(fee=1), headers=counter.headers())
    problem = over.get_json()
    assert (problem["code"], problem["fee_cap"], problem["priced_by"]) == (
        "tariff_exceeded",
        0,
        "law",
    )
    assert "set by law" in problem["detail"]
    paid = client.post("/v1/transactions", json=pay_body(fee=0), headers=counter.headers())
    body = paid.get_json()
    assert paid.status_code == 201, body
    assert (body["priced_by"], body["office_fee"], body["total"]) == ("law", 0, 120_000)
    assert body["receipt"]["priced_by"] == "law"
    entry = next(e for e in entries(gw) if e.get("transaction_id") == body["transaction_id"])
    assert entry["priced_by"] == "law" and entry["fee_cap"] == 0
    refused = [e for e in entries(gw) if e.get("code") == "tariff_exceeded"][-1]
    assert refused["priced_by"] == "law"
    page = client.get(
        f"/v1/receipts/{body['transaction_id']}?format=html", headers=counter.headers()
    )
    assert "به موجب قانون" in page.get_data(as_text=True)
    board = client.get("/v1/tariffs?format=html", headers=counter.headers())
    assert "به موجب قانون" in board.get_data(as_text=True)
    service = next(
        s
        for s in client.get("/v1/services", headers=counter.headers()).get_json()["services"]
        if s["id"] == "postbank.bill.pay"
    )
    assert (service["fee_cap"], service["priced_by"]) == (0, "law")


def test_a_service_priced_by_law_is_not_a_forgotten_tariff(gw, client):
    law_priced(gw)
    warnings = client.get("/v1/health").get_json()["tariff_warnings"]
    assert all(w["service"] != "postbank.bill.pay" for w in warnings)


def test_only_the_national_schedule_prices_by_law(gw):
    with pytest.raises(InvalidRequest, match="set by law"):
        tariffchanges.publish(gw.tariffs, provincial("Fars", {"postbank.bill.pay": LAW}))
    law_priced(gw)
    with pytest.raises(InvalidRequest, match="set by law"):
        tariffchanges.publish(gw.tariffs, provincial("Fars", {"postbank.bill.pay": {"all": 1}}))


def test_a_provincial_schedule_lowers_the_cap_for_its_own_offices(gw, client, counter):
    tariffchanges.publish(gw.tariffs, provincial("Fars", {"postbank.bill.pay": {"all": 30000}}))
    fars = open_counter(gw, "shiraz-1", category="metropolis", province="Fars")
    over = client.post("/v1/transactions", json=pay_body(fee=35000), headers=fars.headers())
    assert over.get_json()["fee_cap"] == 30000 and over.get_json()["priced_by"] == "province"
    paid = client.post("/v1/transactions", json=pay_body(fee=30000), headers=fars.headers())
    assert paid.status_code == 201 and paid.get_json()["priced_by"] == "province"
    tehran = client.post(  # the national cap still holds in Tehran
        "/v1/transactions", json=pay_body(BILL_2, fee=53000), headers=counter.headers()
    )
    assert tehran.status_code == 201 and tehran.get_json()["priced_by"] == "regulator"
    board = client.get("/v1/tariffs?format=html", headers=fars.headers())
    assert "مصوب استان" in board.get_data(as_text=True)


def test_a_provincial_schedule_may_not_exceed_the_national_cap(gw):
    with pytest.raises(InvalidRequest, match="above the national cap of 53000"):
        tariffchanges.publish(
            gw.tariffs,
            provincial("Fars", {"postbank.bill.pay": {"all": 40000, "metropolis": 60000}}),
        )


def test_a_provisional_provincial_tariff_prices_what_the_nation_has_not(gw):
    tariffchanges.publish(gw.tariffs, provincial("Fars", {"roads.overweight.fine": {"all": 20000}}))
    now = dt.datetime.now(dt.UTC)
    name = "Fars working group"
    assert gw.tariffs.rule("roads.overweight.fine", "city", "Fars", now) == FeeRule(
        20000, "province", name
    )
    assert gw.tariffs.rule("roads.overweight.fine", "city", "Tehran", now).cap == 0


def test_a_later_national_cut_wins_over_a_higher_provincial_cap(gw):
    tariffchanges.publish(gw.tariffs, provincial("Fars", {"postbank.bill.pay": {"all": 30000}}))
    full = read_schedule_file(TARIFFS / "sample-1405.toml")
    cut = {**full, "name": "cut", "effective": "1406-01-01"}
    cut["caps"] = {**full["caps"], "postbank.bill.pay": {"all": 20000}}
    tariffchanges.publish(gw.tariffs, cut)
    later = dt.datetime(2027, 3, 25, tzinfo=dt.UTC)
    assert gw.tariffs.rule("postbank.bill.pay", "city", "Fars", later) == FeeRule(
        20000, "regulator", "cut"
    )


def test_a_province_sets_and_withdraws_only_its_own_schedule(gw, client):
    supervisors.add(gw.store, "fars-wg", "province", "Fars")
    fars = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'fars-wg')}"}
    own = provincial("Fars", {"postbank.bill.pay": {"all": 30000}})
    assert client.post("/v1/tariffs", json=own, headers=fars).status_code == 201
    other = provincial("Tehran", {"postbank.bill.pay": {"all": 30000}})
    assert client.post("/v1/tariffs", json=other, headers=fars).get_json()["code"] == "forbidden"
    national = {**own, "scope": "national"}
    assert client.post("/v1/tariffs", json=national, headers=fars).status_code == 403
    done = client.post(
        "/v1/tariffs/withdraw",
        json={"effective": today(), "reason": "wrong figure", "scope": "province:Fars"},
        headers=fars,
    )
    assert done.status_code == 200, done.get_json()
    published = [e for e in entries(gw) if e.get("type") == "tariff_published"][-1]
    withdrawn = [e for e in entries(gw) if e.get("type") == "tariff_withdrawn"][-1]
    assert published["scope"] == withdrawn["scope"] == "province:Fars"
    assert gw.tariffs.schedules("province:Fars") == []


def test_the_cli_loads_a_provincial_schedule(gw, runner, tmp_path):
    path = tmp_path / "fars.json"
    path.write_text(
        json.dumps(
            {"name": "Fars", "effective": today(), "caps": {"postbank.bill.pay": {"all": 30000}}}
        )
    )
    loaded = runner.invoke(args=["tariffs", "load", str(path), "--province", "Fars"])
    assert loaded.exit_code == 0, loaded.output
    listed = runner.invoke(args=["tariffs", "list"]).output
    assert "province:Fars" in listed
    gone = runner.invoke(
        args=["tariffs", "withdraw", today(), "--reason", "test", "--province", "Fars"]
    )
    assert gone.exit_code == 0, gone.output
