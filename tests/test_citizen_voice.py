"""The citizen's voice: a 1–5 rating and a complaint from the receipt's QR page — no sign-in,
no personal data asked, the receipt's signature the ticket, one per receipt, limited per
address; a complaint becomes a case for the office's province; satisfaction reaches scorecards
and the agency (``pishkhan_service_rated``)."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from conftest import BILL_2, make_app, open_counter, pay_body
from pishkhan_gateway import Agency, Result, Service, hookimpl
from pishkhan_gateway.plugins.manager import load_plugins
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.store.tables import LogEntry


def ticket(receipt):
    return receipt["signature"][:16].replace("+", "-").replace("/", "_")


@pytest.fixture
def paid(client, counter):
    return client.post("/v1/transactions", json=pay_body(), headers=counter.headers()).get_json()


def rate(client, paid, **body):
    url = f"/v1/receipts/{paid['transaction_id']}/feedback"
    return client.post(url, json={"s": ticket(paid["receipt"]), **body})


def entries(gw, kind):
    with gw.store.read() as session:
        found = [json.loads(e) for e in session.scalars(select(LogEntry.entry))]
    return [e for e in found if e.get("type") == kind]


def test_one_rating_per_receipt_with_its_signature_as_the_ticket(client, gw, paid):
    first = rate(client, paid, rating=5)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["rating"] == 5 and first.get_json()["case"] is None
    again = rate(client, paid, rating=1)
    assert (again.status_code, again.get_json()["code"]) == (409, "feedback_already_given")
    [entry] = entries(gw, "feedback")
    assert entry["rating"] == 5 and entry["office"] and entry["complaint_sha256"] is None


def test_a_forged_ticket_rates_nothing(client, paid):
    url = f"/v1/receipts/{paid['transaction_id']}/feedback"
    forged = client.post(url, json={"s": "AAAAAAAAAAAAAAAA", "rating": 1})
    assert forged.status_code == 404
    assert (
        client.post(
            "/v1/receipts/tx_0123456789abcdef0123456789abcdef/feedback",
            json={"s": "AAAAAAAAAAAAAAAA", "rating": 1},
        ).status_code
        == 404
    )
    # a ticket that is not one at all is malformed, and says which field
    malformed = client.post(url, json={"s": "x", "rating": 1})
    assert (malformed.status_code, malformed.get_json()["field"]) == (400, "s")


@pytest.mark.parametrize("rating", [0, 6, "five", 4.5, True, None])
def test_a_rating_is_a_whole_number_from_one_to_five(client, paid, rating):
    answer = rate(client, paid, rating=rating)
    assert (answer.status_code, answer.get_json()["field"]) == (400, "rating")


def test_a_complaint_becomes_a_case_for_the_offices_province(client, gw, counter, paid):
    text = "بیشتر از رسید گرفتند؛ شماره من 09121234567 است"
    done = rate(client, paid, rating=1, complaint=text, complaint_type="overcharging").get_json()
    assert done["case"].startswith("case_")
    supervisors.add(gw.store, "wg", "province", "Tehran")
    tehran = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'wg')}"}
    record = client.get(f"/v1/offices/{counter.office_id}/record", headers=tehran).get_json()
    [case] = [c for c in record["cases"] if c["id"] == done["case"]]
    assert (case["type"], case["state"], case["opened_by"]) == ("overcharging", "open", "citizen")
    assert case["evidence"]["transactions"] == [paid["transaction_id"]]
    assert "09121234567" not in json.dumps(case, ensure_ascii=False)
    [opened] = [e for e in entries(gw, "violation_opened") if e["case"] == done["case"]]
    assert opened["scope"] == "province:Tehran" and opened["by"] == "citizen"
    [entry] = entries(gw, "feedback")
    assert entry["case"] == done["case"] and len(entry["complaint_sha256"]) == 64
    assert "بیشتر" not in json.dumps(entries(gw, "feedback"), ensure_ascii=False)


def test_ratings_are_limited_per_address(app, client, counter):
    app.config["FEEDBACK_LIMIT"] = "2/minute"
    answers = []
    for bill in (pay_body(), pay_body(BILL_2)):
        paid = client.post("/v1/transactions", json=bill, headers=counter.headers()).get_json()
        answers.append(rate(client, paid, rating=4).status_code)
        answers.append(rate(client, paid, rating=4).status_code)
    assert answers[:3] == [201, 409, 429] and answers[3] == 429


def test_satisfaction_reaches_the_scorecards(client, gw, counter, paid):
    rate(client, paid, rating=2, complaint="دیر رسیدگی شد")
    supervisors.add(gw.store, "reg", "regulator", None)
    regulator = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'reg')}"}
    card = client.get(f"/v1/audit/offices/{counter.office_id}/scorecard", headers=regulator)
    satisfaction = card.get_json()["satisfaction"]
    assert (satisfaction["ratings"], satisfaction["average"], satisfaction["complaints"]) == (
        1,
        2.0,
        1,
    )
    assert satisfaction["by_service"]["postbank.bill.pay"]["dissatisfied"] == 1
    agency = client.get("/v1/audit/agencies/postbank/scorecard", headers=regulator).get_json()
    assert agency["satisfaction"]["ratings"] == 1


class RatedAgency:
    """An agency whose plugin forwards its services' ratings."""

    def __init__(self):
        self.received, self.arrived = [], threading.Event()

    @hookimpl
    def pishkhan_agencies(self):
        return [Agency(name="rated", title_fa="دستگاه آزمایشی", title_en="Rated")]

    @hookimpl
    def pishkhan_services(self):
        schema = {"type": "object", "properties": {}}
        return [Service("rated.do", "rated", "انجام", "Do", 0, "request", schema)]

    @hookimpl
    def pishkhan_execute(self, service, params, citizen, agency, transaction_id):
        return Result(data={}, reference="R1")

    @hookimpl
    def pishkhan_service_rated(self, service, transaction_id, rating, complained, agency):
        self.received.append((service.id, transaction_id, rating, complained, agency.name))
        self.arrived.set()


def test_the_agency_receives_its_services_ratings(db_url, tmp_path, sandboxes, sandbox):
    owner = RatedAgency()
    app = make_app(db_url, tmp_path, load_plugins(extra=[("rated", owner)]), sandboxes)
    client = app.test_client()
    counter = open_counter(app.extensions["pishkhan"], "office-1")
    body = {"service": "rated.do", "params": {}, "citizen": {}, "office_fee": 0}
    paid = client.post("/v1/transactions", json=body, headers=counter.headers()).get_json()
    assert rate(client, paid, rating=3, complaint="صف طولانی").status_code == 201
    assert owner.arrived.wait(5)
    assert owner.received == [("rated.do", paid["transaction_id"], 3, True, "rated")]


def test_the_receipt_page_offers_the_form_once(client, paid):
    url = f"/v1/receipts/{paid['transaction_id']}/check?s={ticket(paid['receipt'])}"
    page = client.get(url, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'name="rating"' in page and "نام و شماره شما پرسیده نمی‌شود" in page
    sent = client.post(
        f"/v1/receipts/{paid['transaction_id']}/feedback",
        data={"s": ticket(paid["receipt"]), "rating": "4", "complaint": ""},
    )
    assert sent.status_code == 200 and "نظر شما ثبت شد" in sent.get_data(as_text=True)
    again = client.post(
        f"/v1/receipts/{paid['transaction_id']}/feedback",
        data={"s": ticket(paid["receipt"]), "rating": "4"},
    )
    assert again.status_code == 409 and "قبلاً نظر ثبت شده" in again.get_data(as_text=True)
    assert 'name="rating"' not in client.get(url).get_data(as_text=True)
