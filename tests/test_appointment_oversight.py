"""Appointments for supervisors: booked, served and no-show per office and day against the places
it offered, offices over their capacity, and a province's appointment-only order (shown on the
citizen's pages and the queue; walk-ins under it counted on the scorecard)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from conftest import BILL_2, pay_body
from pishkhan_gateway.jalali import format_date
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.store.tables import Appointment, LogEntry

ALL_DAY = {str(d): ["00:00", "23:30"] for d in range(7)}


def credential(gw, supervisor_id, role, scope=None):
    supervisors.add(gw.store, supervisor_id, role, scope)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, supervisor_id)}"}


@pytest.fixture
def desk(client, counter):
    body = {"counters": 1, "slot_minutes": 30, "days": ALL_DAY}
    headers = {"Authorization": f"Bearer {counter.credential}"}
    assert client.put("/v1/appointments/capacity", json=body, headers=headers).status_code == 200
    return counter


def booked(client, sandbox, desk, mobile, day, time):
    body = {"office": desk.office_id, "service": "postbank.bill.pay", "date": format_date(day, "-"),
            "time": time, "mobile": mobile}  # fmt: skip
    held = client.post("/v1/appointments", json=body).get_json()
    text = [m for m in sandbox.state("telecom")["outbox"] if m["mobile"] == mobile][-1]["text"]
    code = re.search(r"[0-9]{6}", text).group(0)
    client.post(f"/v1/appointments/{held['reference']}/confirm", json={"code": code})
    return held["reference"]


def test_supervisors_see_booked_served_and_no_show_per_office_and_day(client, gw, desk, sandbox):
    tomorrow = offices.today() + dt.timedelta(days=1)
    first = booked(client, sandbox, desk, "09121234567", tomorrow, "10:00")
    booked(client, sandbox, desk, "09122223344", tomorrow, "10:30")
    with gw.store.write() as session:  # the day came: one served, one did not come
        session.get(Appointment, first).state = "served"
    regulator = credential(gw, "reg", "regulator")
    day = format_date(tomorrow, "-")
    rows = client.get(f"/v1/audit/appointments?from={day}&to={day}", headers=regulator).get_json()
    [row] = [r for r in rows["days"] if r["office"] == desk.office_id]
    assert (row["booked"], row["served"], row["places"]) == (2, 1, 47)
    assert row["over_capacity"] is False
    fars = credential(gw, "wg", "province", "Fars")
    theirs = client.get(f"/v1/audit/appointments?from={day}&to={day}", headers=fars).get_json()
    assert theirs["days"] == []


def test_an_office_busier_than_its_capacity_is_flagged(client, gw, counter, sandbox):
    headers = {"Authorization": f"Bearer {counter.credential}"}
    one_slot = {str(d): ["08:00", "08:30"] for d in range(7)}
    client.put(
        "/v1/appointments/capacity",
        json={"counters": 1, "slot_minutes": 30, "days": one_slot},
        headers=headers,
    )
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    client.post("/v1/transactions", json=pay_body(BILL_2), headers=counter.headers())
    regulator = credential(gw, "reg", "regulator")
    day = format_date(offices.today(), "-")
    rows = client.get(f"/v1/audit/appointments?from={day}&to={day}", headers=regulator).get_json()
    [row] = rows["days"]
    assert (row["transactions"], row["places"], row["over_capacity"]) == (2, 1, True)


def test_a_province_orders_appointments_only_and_walk_ins_are_counted(client, gw, desk, sandbox):
    tehran = credential(gw, "wg", "province", "Tehran")
    until = format_date(offices.today() + dt.timedelta(days=30), "-")
    url = f"/v1/offices/{desk.office_id}/appointment-only"
    agency = credential(gw, "pb", "agency", "postbank")
    assert (
        client.put(url, json={"until": until, "reason": "گزارش ازدحام"}, headers=agency).status_code
        == 403
    )
    ordered = client.put(url, json={"until": until, "reason": "گزارش ازدحام"}, headers=tehran)
    assert ordered.get_json()["appointment_only_until"] == until
    client.post("/v1/transactions", json=pay_body(), headers=desk.headers())  # a walk-in
    card = client.get(f"/v1/audit/offices/{desk.office_id}/scorecard", headers=tehran).get_json()
    assert card["appointment_only"] == {"until": until, "walk_ins": 1}
    page = client.get("/appointments?service=postbank.bill.pay&province=Tehran").get_data(
        as_text=True
    )
    assert "فقط با نوبت" in page
    queue = client.get("/v1/appointments", headers={"Authorization": f"Bearer {desk.credential}"})
    assert queue.get_json()["appointment_only_until"] == until
    lifted = client.put(url, json={"until": None, "reason": "صف‌ها سامان یافت"}, headers=tehran)
    assert lifted.get_json()["appointment_only_until"] is None
    with gw.store.read() as session:
        kinds = [json.loads(e).get("type") for e in session.scalars(select(LogEntry.entry))]
    assert "appointment_only_ordered" in kinds and "appointment_only_lifted" in kinds


def test_the_console_shows_crowding_per_office(client, gw, counter, sandbox):
    headers = {"Authorization": f"Bearer {counter.credential}"}
    one_slot = {str(d): ["08:00", "08:30"] for d in range(7)}
    body = {"counters": 1, "slot_minutes": 30, "days": one_slot}
    client.put("/v1/appointments/capacity", json=body, headers=headers)
    client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    client.post("/v1/transactions", json=pay_body(BILL_2), headers=counter.headers())
    supervisors.add(gw.store, "reg", "regulator", None)
    key = supervisors.issue_key(gw.store, "reg")
    assert client.post("/console/signin", data={"credential": key}).status_code == 302
    page = client.get("/console/appointments").get_data(as_text=True)
    assert f'data-office="{counter.office_id}"' in page
    assert "بیش از ظرفیت در ۱ روز" in page and 'data-series="booked"' in page
    assert "صف امروز" in page
