"""Changing the tariff safely (the agencies-and-tariffs issue): a schedule that would silently
unprice services is refused, ``--amend`` changes only what it names, ``--drop`` unprices on
purpose, a mistake is withdrawn the same day, and ``/v1/health`` flags a payment service
offices may charge nothing for."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update

from conftest import TARIFFS, pay_body
from pishkhan_gateway.errors import ScheduleDropsServices, WrongState
from pishkhan_gateway.jalali import format_date
from pishkhan_gateway.pricing import tariffchanges
from pishkhan_gateway.pricing.tariffs import read_schedule_file
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.store.tables import LogEntry, TariffSchedule

TWO_SERVICES = {
    "name": "Two new services",
    "effective": "1407-01-01",
    "caps": {"postbank.bill.pay": {"all": 45000}, "traffic.fine.pay": {"all": 25000}},
}


def entries(gw, kind):
    with gw.store.read() as session:
        found = [json.loads(e) for e in session.scalars(select(LogEntry.entry))]
    return [e for e in found if e.get("type") == kind]


def today_jalali() -> str:
    return format_date(offices.today(), "-")


def test_a_schedule_that_leaves_out_priced_services_is_refused(gw, runner, tmp_path):
    with pytest.raises(ScheduleDropsServices) as refused:
        tariffchanges.publish(gw.tariffs, dict(TWO_SERVICES))
    assert "insurance.health.register" in refused.value.extra["services"]
    assert "--amend" in refused.value.detail and "--drop" in refused.value.detail
    path = tmp_path / "two.json"
    path.write_text(json.dumps(TWO_SERVICES))
    result = runner.invoke(args=["tariffs", "load", str(path)])
    assert result.exit_code == 2 and "cap of 0 for every office" in result.output
    assert all(s.effective_jalali != "1407-01-01" for s in gw.tariffs.schedules())


def test_amend_changes_only_the_services_it_names(gw, runner, tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps(TWO_SERVICES))
    result = runner.invoke(args=["tariffs", "load", str(path), "--amend"])
    assert result.exit_code == 0, result.output
    amended = gw.tariffs.schedules()[-1]
    previous = gw.tariffs.schedules()[-2]
    assert amended.document["amends"] == previous.name
    assert amended.cap("postbank.bill.pay", "city") == 45000
    assert amended.cap("traffic.fine.pay", "village") == 25000
    assert amended.cap("insurance.health.register", "village") == previous.cap(
        "insurance.health.register", "village"
    )
    published = entries(gw, "tariff_published")[-1]
    assert published["amends"] == previous.name and len(published["sha256"]) == 64


def test_drop_stops_pricing_a_service_on_purpose_and_is_recorded(gw):
    full = read_schedule_file(TARIFFS / "sample-1405.toml")
    caps = {k: v for k, v in full["caps"].items() if k != "insurance.health.register"}
    document = {**full, "name": "without health", "effective": "1407-01-01", "caps": caps}
    with pytest.raises(ScheduleDropsServices):
        tariffchanges.publish(gw.tariffs, document)
    schedule = tariffchanges.publish(gw.tariffs, document, drop=["insurance.health.register"])
    assert schedule.document["dropped"] == ["insurance.health.register"]
    assert schedule.cap("insurance.health.register", "city") == 0
    assert entries(gw, "tariff_published")[-1]["dropped"] == ["insurance.health.register"]


def test_a_schedule_loaded_by_mistake_is_withdrawn_the_same_day_and_corrected(gw, client, counter):
    """Loaded today, in force today, wrong: withdrawn with a reason, the one before is in force
    again at once, and a corrected schedule for the same day loads."""
    today = today_jalali()
    wrong = read_schedule_file(TARIFFS / "sample-1405.toml")
    wrong = {**wrong, "name": "typo", "effective": today}
    wrong["caps"] = {**wrong["caps"], "postbank.bill.pay": {"all": 5000}}
    tariffchanges.publish(gw.tariffs, wrong)
    refused = client.post("/v1/transactions", json=pay_body(fee=40000), headers=counter.headers())
    assert refused.get_json()["code"] == "tariff_exceeded"
    supervisors.add(gw.store, "reg", "regulator", None)
    regulator = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'reg')}"}
    done = client.post(
        "/v1/tariffs/withdraw",
        json={"effective": today, "reason": "a zero dropped from the bill payment cap"},
        headers=regulator,
    )
    assert done.status_code == 200 and done.get_json()["withdrawn"] is True
    paid = client.post("/v1/transactions", json=pay_body(fee=40000), headers=counter.headers())
    assert paid.status_code == 201  # the schedule before is in force again
    corrected = {**wrong, "name": "corrected"}
    corrected["caps"] = {**wrong["caps"], "postbank.bill.pay": {"all": 50000}}
    assert tariffchanges.publish(gw.tariffs, corrected).name == "corrected"
    withdrawn = entries(gw, "tariff_withdrawn")[-1]
    assert withdrawn["name"] == "typo" and withdrawn["was_in_force"] is True


def test_a_schedule_in_force_since_an_earlier_day_cannot_be_withdrawn(gw):
    current = gw.tariffs.in_force(dt.datetime.now(dt.UTC))
    with gw.store.write() as session:  # loaded long ago
        session.execute(
            update(TariffSchedule).values(loaded_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )
    with pytest.raises(WrongState, match="publish a corrected"):
        tariffchanges.withdraw(gw.tariffs, current.effective_jalali, "too late")
    future = {**current.document, "name": "next year", "effective": "1409-01-01"}
    tariffchanges.publish(gw.tariffs, future)
    assert tariffchanges.withdraw(gw.tariffs, "1409-01-01", "not decided yet")["withdrawn"]
    assert all(s.name != "next year" for s in gw.tariffs.schedules())


def test_health_flags_a_payment_service_whose_cap_is_zero(gw, client):
    assert client.get("/v1/health").get_json()["tariff_warnings"] == []
    today = today_jalali()
    full = read_schedule_file(TARIFFS / "sample-1405.toml")
    caps = {**full["caps"], "postbank.bill.pay": {"all": 0}}
    tariffchanges.publish(
        gw.tariffs, {**full, "name": "free bills", "effective": today, "caps": caps}
    )
    warnings = client.get("/v1/health").get_json()["tariff_warnings"]
    assert {"service": "postbank.bill.pay", "zero_cap_in": list(read_categories())} in warnings


def read_categories():
    from pishkhan_gateway.registry.offices import CATEGORIES

    return CATEGORIES


def test_announced_is_on_or_before_effective(gw):
    full = read_schedule_file(TARIFFS / "sample-1405.toml")
    document = {**full, "name": "late", "effective": "1407-01-01", "announced": "1407-02-01"}
    with pytest.raises(Exception, match="announced"):
        tariffchanges.publish(gw.tariffs, document)
    document["announced"] = "1406-12-15"
    assert tariffchanges.publish(gw.tariffs, document).document["announced"] == "1406-12-15"
