"""Entitlements: the regulator and the provincial working groups — never an agency — decide
which offices may sell a service; a counter call outside its entitlement is refused
``service_not_entitled`` (403) and recorded, and the catalog shows an office only what it may
sell."""

from __future__ import annotations

import json

from sqlalchemy import select

from conftest import BILL, BILL_2, make_app, open_counter, pay_body
from pishkhan_gateway import hookimpl
from pishkhan_gateway.plugins.manager import load_plugins
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.store.tables import LogEntry, Office

INQUIRY = {"service": "postbank.bill.inquiry", "params": BILL}


def credential(gw, supervisor_id, role, scope=None):
    supervisors.add(gw.store, supervisor_id, role, scope)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, supervisor_id)}"}


def entries(gw, kind):
    with gw.store.read() as session:
        found = [json.loads(e) for e in session.scalars(select(LogEntry.entry))]
    return [e for e in found if e.get("type") == kind]


def rural_only(client, regulator, service="postbank.bill.pay"):
    rule = {"service": service, "office_types": ["rural_ict"], "reason": "کار روستا"}
    answer = client.put("/v1/entitlements", json=rule, headers=regulator)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_sale_outside_the_entitlement_is_refused_and_recorded(client, gw, counter):
    regulator = credential(gw, "reg", "regulator")
    rural_only(client, regulator)
    refused = client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    problem = refused.get_json()
    assert (refused.status_code, problem["code"]) == (403, "service_not_entitled")
    assert "rural_ict" in problem["detail"] and problem["message_fa"]
    recorded = [e for e in entries(gw, "transaction") if e["code"] == "service_not_entitled"]
    assert [e["transaction_id"] for e in recorded] == [problem["transaction_id"]]
    assert recorded[0]["outcome"] == "refused" and recorded[0]["office"] == counter.office_id
    village = open_counter(gw, "village-1", category="village", province="Fars")
    with gw.store.write() as session:
        session.get(Office, "village-1").type = "rural_ict"
    paid = client.post("/v1/transactions", json=pay_body(fee=0), headers=village.headers())
    assert paid.status_code == 201, paid.get_json()


def test_the_catalog_shows_an_office_only_what_it_may_sell(client, gw, counter):
    before = {
        s["id"]
        for s in client.get("/v1/services", headers=counter.headers()).get_json()["services"]
    }
    assert "postbank.bill.pay" in before
    rural_only(client, credential(gw, "reg", "regulator"))
    after = {
        s["id"]
        for s in client.get("/v1/services", headers=counter.headers()).get_json()["services"]
    }
    assert after == before - {"postbank.bill.pay"}


def test_a_province_narrows_only_its_own_offices(client, gw, counter):
    fars = credential(gw, "wg-fars", "province", "Fars")
    rule = {"service": "postbank.bill.inquiry", "categories": ["village"], "reason": "آزمایشی"}
    assert client.put("/v1/entitlements", json=rule, headers=fars).status_code == 200
    shiraz = open_counter(gw, "shiraz-1", category="metropolis", province="Fars")
    refused = client.post("/v1/transactions", json=INQUIRY, headers=shiraz.headers())
    assert refused.get_json()["code"] == "service_not_entitled"
    assert (
        client.post("/v1/transactions", json=INQUIRY, headers=counter.headers()).status_code == 201
    )
    for other in ({**rule, "scope": "province:Tehran"}, {**rule, "scope": "national"}):
        assert client.put("/v1/entitlements", json=other, headers=fars).status_code == 403
    listed = client.get("/v1/entitlements", headers=fars).get_json()["entitlements"]
    assert [r["scope"] for r in listed] == ["province:Fars"]


def test_an_agency_cannot_exclude_an_office(client, gw, counter, db_url, tmp_path, sandboxes):
    auditor = credential(gw, "pb", "agency", "postbank")
    rule = {"service": "postbank.bill.pay", "office_types": ["rural_ict"], "reason": "ما نمی‌خواهیم"}
    answer = client.put("/v1/entitlements", json=rule, headers=auditor)
    assert (answer.status_code, answer.get_json()["code"]) == (403, "forbidden")
    assert (
        client.post("/v1/transactions", json=pay_body(), headers=counter.headers()).status_code
        == 201
    )

    class Excluder:  # a plugin that tries to choose its offices: there is no such hook
        @hookimpl
        def pishkhan_office_allowed(self, office):
            return False

    plugins = load_plugins(extra=[("excluder", Excluder())])
    assert any(p.plugin == "excluder" for p in plugins.problems)
    app = make_app(db_url, tmp_path, plugins, sandboxes)
    other = open_counter(app.extensions["pishkhan"], "office-9")
    served = app.test_client().post(
        "/v1/transactions", json=pay_body(BILL_2, fee=0), headers=other.headers()
    )
    assert served.status_code == 201, served.get_json()


def test_each_change_is_a_log_entry_and_clearing_opens_the_service(client, gw, counter):
    regulator = credential(gw, "reg", "regulator")
    set_ = rural_only(client, regulator)
    assert set_["office_types"] == ["rural_ict"] and set_["log_index"] >= 0
    cleared = client.put(
        "/v1/entitlements",
        json={"service": "postbank.bill.pay", "office_types": None, "reason": "همه دفاتر"},
        headers=regulator,
    ).get_json()
    assert cleared["cleared"] is True
    assert [e["scope"] for e in entries(gw, "entitlement_set")] == ["national"]
    assert entries(gw, "entitlement_cleared")[0]["supervisor"] == "reg"
    assert (
        client.post("/v1/transactions", json=pay_body(), headers=counter.headers()).status_code
        == 201
    )


def test_a_rule_names_real_services_types_and_categories(client, gw):
    regulator = credential(gw, "reg", "regulator")
    for bad, field in (
        ({"service": "nobody.sells.this"}, "service"),
        ({"service": "postbank.bill.pay", "office_types": ["kiosk"]}, "office_types/0"),
        ({"service": "postbank.bill.pay", "categories": "village"}, "categories"),
        ({"service": "postbank.bill.pay", "categories": ["village"]}, "reason"),
    ):
        answer = client.put(
            "/v1/entitlements",
            json={"reason": "x" * 5, **bad} if field != "reason" else bad,
            headers=regulator,
        )
        assert (answer.status_code, answer.get_json()["field"]) == (400, field), answer.get_json()
