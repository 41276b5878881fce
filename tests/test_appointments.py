"""Appointments: an office publishes its capacity; a citizen books a slot, confirms it with the
code the telecom plugin's SMS hook delivers, and cancels it with the reference; a place is never
booked twice (even by racing requests, on SQLite and PostgreSQL); limits per mobile; the office
runs its queue; the mobile is sealed and only its pseudonym is logged."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

import pytest
from sqlalchemy import select

from conftest import open_counter, pay_body
from pishkhan_gateway.jalali import format_date
from pishkhan_gateway.registry import offices
from pishkhan_gateway.store.tables import Appointment, LogEntry

MOBILE = "09121234567"
ALL_WEEK = {str(d): ["08:00", "14:00"] for d in range(7)}


def tomorrow() -> str:
    """Tomorrow in Tehran, when asked (a constant taken at import goes stale at midnight)."""
    return format_date(offices.today() + dt.timedelta(days=1), "-")


def office_key(counter):
    return {"Authorization": f"Bearer {counter.credential}"}


@pytest.fixture
def desk(client, counter):
    """office-1 takes appointments: 2 counters, 15-minute slots, 08:00–14:00 every day."""
    body = {"counters": 2, "slot_minutes": 15, "days": ALL_WEEK}
    answer = client.put("/v1/appointments/capacity", json=body, headers=office_key(counter))
    assert answer.status_code == 200, answer.get_json()
    return counter


def book(client, desk, time="10:00", mobile=MOBILE, service="postbank.bill.pay"):
    body = {"office": desk.office_id, "service": service, "date": tomorrow(), "time": time,
            "mobile": mobile}  # fmt: skip
    return client.post("/v1/appointments", json=body)


def code_sent(sandbox, mobile=MOBILE):
    texts = [m["text"] for m in sandbox.state("telecom")["outbox"] if m["mobile"] == mobile]
    return re.search(r"[0-9]{6}", texts[-1]).group(0)


def entries(gw, prefix):
    with gw.store.read() as session:
        found = [json.loads(e) for e in session.scalars(select(LogEntry.entry))]
    return [e for e in found if str(e.get("type", "")).startswith(prefix)]


def test_a_citizen_books_confirms_and_cancels_with_the_reference(client, gw, desk, sandbox):
    held = book(client, desk)
    assert held.status_code == 201, held.get_json()
    booking = held.get_json()
    assert booking["state"] == "pending" and booking["time"] == "10:00"
    confirmed = client.post(
        f"/v1/appointments/{booking['reference']}/confirm", json={"code": code_sent(sandbox)}
    )
    assert confirmed.get_json()["state"] == "booked"
    shown = client.get(f"/v1/appointments/{booking['reference']}").get_json()
    assert shown["office_name"] and shown["service_title_fa"] == "پرداخت قبض"
    assert MOBILE not in json.dumps(shown)
    cancelled = client.post(f"/v1/appointments/{booking['reference']}/cancel")
    assert cancelled.get_json()["state"] == "cancelled"
    again = client.post(f"/v1/appointments/{booking['reference']}/cancel")
    assert again.get_json()["code"] == "wrong_state"
    kinds = [e["type"] for e in entries(gw, "appointment_")]
    assert kinds == ["appointment_requested", "appointment_booked", "appointment_cancelled"]


def test_a_wrong_code_books_nothing_and_attempts_are_counted(client, desk, sandbox):
    booking = book(client, desk).get_json()
    url = f"/v1/appointments/{booking['reference']}/confirm"
    for _ in range(5):
        assert client.post(url, json={"code": "000000"}).get_json()["code"] == "otp_invalid"
    refused = client.post(url, json={"code": code_sent(sandbox)}).get_json()
    assert refused["code"] == "otp_invalid" and "too many" in refused["detail"]


def test_a_place_is_never_booked_twice(client, desk, sandbox):
    """Two counters: two bookings at 10:00 take both; a third is ``slot_full``."""
    mobiles = ["09121234567", "09122223344", "09123334455"]
    answers = [book(client, desk, mobile=m) for m in mobiles]
    assert [a.status_code for a in answers] == [201, 201, 409]
    assert answers[2].get_json()["code"] == "slot_full"
    assert {a.get_json()["counter"] for a in answers[:2]} == {1, 2}
    free = client.get(
        f"/v1/appointments/slots?office={desk.office_id}&date={tomorrow()}"
    ).get_json()
    assert "10:00" not in [s["time"] for s in free["slots"]]
    assert {"time": "10:15", "free": 2} in free["slots"]


def test_racing_requests_never_double_book_a_place(app, gw, desk, sandbox):
    """Twelve requests race for one slot with two counters: exactly two places are held, each
    once, whatever the database (the unique place index decides)."""
    results: list[int] = []

    def attempt(i: int) -> None:
        client = app.test_client()
        results.append(book(client, desk, mobile=f"0912{1000000 + i:07d}").status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201, 201] + [409] * 10
    with gw.store.read() as session:
        held = session.execute(
            select(Appointment.counter).where(Appointment.counter.is_not(None))
        ).all()
    assert sorted(c for (c,) in held) == [1, 2]


def test_a_mobile_books_at_most_three_a_day(client, desk, sandbox):
    codes = [book(client, desk, time=t).status_code for t in ("09:00", "09:15", "09:30", "09:45")]
    assert codes == [201, 201, 201, 429]
    assert book(client, desk, time="10:00").get_json()["code"] == "appointment_limit"


@pytest.mark.parametrize(
    ("time", "date_shift", "why"),
    [("07:45", 1, "before opening"), ("14:00", 1, "at closing"), ("10:07", 1, "not a slot start"),
     ("10:00", -1, "yesterday"), ("10:00", 40, "too far ahead")],
)  # fmt: skip
def test_only_the_offices_coming_slots_can_be_booked(client, desk, sandbox, time, date_shift, why):
    day = format_date(offices.today() + dt.timedelta(days=date_shift), "-")
    body = {"office": desk.office_id, "service": "postbank.bill.pay", "date": day, "time": time,
            "mobile": MOBILE}  # fmt: skip
    answer = client.post("/v1/appointments", json=body)
    assert answer.get_json()["code"] == "slot_unavailable", why


def test_a_closed_day_offers_nothing(client, counter, sandbox):
    body = {"counters": 1, "slot_minutes": 30, "days": ALL_WEEK, "closures": [tomorrow()]}
    client.put("/v1/appointments/capacity", json=body, headers=office_key(counter))
    free = client.get(f"/v1/appointments/slots?office={counter.office_id}&date={tomorrow()}")
    assert free.get_json()["slots"] == []


def test_the_office_runs_its_queue(client, gw, desk, sandbox, monkeypatch):
    booking = book(client, desk, time="08:00").get_json()
    client.post(
        f"/v1/appointments/{booking['reference']}/confirm", json={"code": code_sent(sandbox)}
    )
    queue = client.get(f"/v1/appointments?date={tomorrow()}", headers=office_key(desk)).get_json()
    assert [a["reference"] for a in queue["appointments"]] == [booking["reference"]]
    url = f"/v1/appointments/{booking['reference']}"
    early = client.post(f"{url}/no-show", headers=office_key(desk)).get_json()
    assert early["code"] == "wrong_state"  # its time has not come
    assert client.post(f"{url}/arrived", headers=office_key(desk)).get_json()["state"] == "arrived"
    paid = client.post("/v1/transactions", json=pay_body(), headers=desk.headers()).get_json()
    served = client.post(
        f"{url}/served", json={"transaction_id": paid["transaction_id"]}, headers=office_key(desk)
    ).get_json()
    assert served["state"] == "served"
    other = open_counter(gw, "office-2", operator="0084575948")
    assert client.post(f"{url}/arrived", headers=office_key(other)).status_code == 404


def test_the_mobile_is_sealed_and_pseudonymised(client, gw, desk, sandbox):
    booking = book(client, desk).get_json()
    with gw.store.read() as session:
        row = session.get(Appointment, booking["reference"])
        stored = repr({k: v for k, v in row.__dict__.items() if not k.startswith("_")})
        log = [e.decode() for e in session.scalars(select(LogEntry.entry))]
    assert MOBILE not in stored and "9121234567" not in stored
    assert gw.vault.decrypt(row.id, row.mobile_sealed) == {"mobile": MOBILE}
    assert not any(MOBILE in line for line in log)
    assert entries(gw, "appointment_requested")[0]["mobile"] == row.mobile_pseudonym


def test_a_hold_not_confirmed_in_time_lets_its_place_go(client, gw, desk, sandbox):
    first = book(client, desk, mobile="09121234567").get_json()
    book(client, desk, mobile="09122223344")
    with gw.store.write() as session:
        row = session.get(Appointment, first["reference"])
        row.created_at = row.created_at - dt.timedelta(minutes=11)
    third = book(client, desk, mobile="09123334455")
    assert third.status_code == 201 and third.get_json()["counter"] == first["counter"]
    late = client.post(f"/v1/appointments/{first['reference']}/confirm", json={"code": "123456"})
    assert late.get_json()["code"] == "wrong_state"


def test_the_queue_is_the_tehran_day_even_after_midnight(client, counter, sandbox):
    """01:00 in Tehran is the evening before in UTC: it is still that Tehran day's queue."""
    headers = office_key(counter)
    body = {
        "counters": 1,
        "slot_minutes": 30,
        "days": {str(d): ["00:00", "23:30"] for d in range(7)},
    }
    client.put("/v1/appointments/capacity", json=body, headers=headers)
    early = book(client, counter, time="01:00").get_json()
    client.post(f"/v1/appointments/{early['reference']}/confirm", json={"code": code_sent(sandbox)})
    queue = client.get(f"/v1/appointments?date={tomorrow()}", headers=headers).get_json()
    assert [a["time"] for a in queue["appointments"]] == ["01:00"]
