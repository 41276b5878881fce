"""The office's life (DESIGN.md §8): renewal, transfer, relocation, revocation requests,
violation cases and objections, agencies' reports, working hours — each rule as the regulator's
decisions give it (../shared/seeds/000, 001, 004), each action and refusal a log entry."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from conftest import BILL, BILL_2, open_counter, pay_body
from pishkhan_gateway.auditlog.verify import verify_store
from pishkhan_gateway.pricing import licencefees
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.regulation import authority, licencestatus
from pishkhan_gateway.store.tables import LogEntry, Office, ViolationCase

ROOT = Path(__file__).resolve().parent.parent
FEES_1398 = ROOT / "contracts" / "licences" / "fees-1398.toml"
INQUIRY = {"service": "postbank.bill.inquiry", "params": BILL}


def credential(gw, supervisor_id, role, scope=None):
    supervisors.add(gw.store, supervisor_id, role, scope)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, supervisor_id)}"}


def entries(gw) -> list[dict]:
    with gw.store.read() as session:
        rows = session.scalars(select(LogEntry.entry).order_by(LogEntry.index))
        return [json.loads(raw) for raw in rows]


def office_headers(counter) -> dict[str, str]:
    return {"Authorization": f"Bearer {counter.credential}"}


@pytest.fixture
def life(client, gw):
    """Offices in Tehran (region 1) and Fars (region 7), fee schedule 1398 loaded, and every
    kind of supervisor."""
    licencefees.load(gw.store, licencefees.read_file(FEES_1398))
    today = offices.today()
    return {
        "tehran": open_counter(gw, "teh-1", province="Tehran", expires_on=today + dt.timedelta(60)),
        "fars": open_counter(gw, "fars-1", province="Fars", category="city"),
        "regulator": credential(gw, "reg", "regulator"),
        "tehran_group": credential(gw, "wg-teh", "province", "Tehran"),
        "fars_group": credential(gw, "wg-fars", "province", "Fars"),
        "region1": credential(gw, "region-1", "region", "1"),
        "region7": credential(gw, "region-7", "region", "7"),
        "postbank": credential(gw, "aud-pb", "agency", "postbank"),
    }


def renew(client, life, office="teh-1", group="tehran_group"):
    counter = life["tehran" if office == "teh-1" else "fars"]
    asked = client.post("/v1/licence/renewal", headers=office_headers(counter))
    recommended = client.post(
        f"/v1/offices/{office}/renewal/recommend",
        json={"reason": "active, no open cases"},
        headers=life[group],
    )
    approved = client.post(
        f"/v1/offices/{office}/renewal/approve",
        json={"reason": "conditions met"},
        headers=life["regulator"],
    )
    return asked, recommended, approved


# -- renewal ---------------------------------------------------------------------------------


def test_a_renewal_is_asked_from_three_months_before_expiry(client, gw, life):
    early = client.post("/v1/licence/renewal", headers=office_headers(life["fars"]))
    problem = early.get_json()
    assert (early.status_code, problem["code"]) == (409, "renewal_not_open")
    assert problem["message_fa"] and problem["opens_on_jalali"].startswith("14")
    expires = offices.get_office(gw.store, "fars-1").expires_on
    assert problem["opens_on"] == licencestatus.months_before(expires, 3).isoformat()
    asked = client.post("/v1/licence/renewal", headers=office_headers(life["tehran"]))
    assert asked.status_code == 201 and asked.get_json()["state"] == "requested"
    again = client.post("/v1/licence/renewal", headers=office_headers(life["tehran"]))
    assert (again.status_code, again.get_json()["code"]) == (409, "wrong_state")


def test_the_regulator_approves_only_what_the_province_recommended(client, life):
    client.post("/v1/licence/renewal", headers=office_headers(life["tehran"]))
    premature = client.post(
        "/v1/offices/teh-1/renewal/approve",
        json={"reason": "fast track"},
        headers=life["regulator"],
    )
    assert (premature.status_code, premature.get_json()["code"]) == (409, "wrong_state")
    by_province = client.post(
        "/v1/offices/teh-1/renewal/approve", json={"reason": "ours"}, headers=life["tehran_group"]
    )
    assert (by_province.status_code, by_province.get_json()["code"]) == (403, "forbidden")
    other_province = client.post(
        "/v1/offices/teh-1/renewal/recommend", json={"reason": "x" * 5}, headers=life["fars_group"]
    )
    assert other_province.status_code == 403


def test_an_office_renewed_keeps_its_history(client, gw, life):
    tehran = life["tehran"]
    before = client.post("/v1/transactions", json=INQUIRY, headers=tehran.headers())
    assert before.status_code == 201
    old = offices.get_office(gw.store, "teh-1")
    asked, recommended, approved = renew(client, life)
    assert (asked.status_code, recommended.status_code, approved.status_code) == (201, 200, 200)
    renewed = approved.get_json()
    assert renewed["state"] == "approved"
    assert renewed["expires_on"] == old.expires_on.replace(year=old.expires_on.year + 5).isoformat()
    now = offices.get_office(gw.store, "teh-1")
    assert (now.id, now.licence_no, now.issued_on) == (old.id, old.licence_no, old.issued_on)
    # the same credential and operator still work, and the old transaction is still its own
    after = client.post("/v1/transactions", json=INQUIRY, headers=tehran.headers())
    assert after.status_code == 201
    mine = client.get(
        f"/v1/transactions/{before.get_json()['transaction_id']}", headers=tehran.headers()
    )
    assert mine.status_code == 200
    record = client.get("/v1/offices/teh-1/record", headers=life["regulator"]).get_json()
    events = [line["event"] for line in record["history"]]
    assert events[:3] == ["licence_renewed", "renewal_recommended", "renewal_requested"]
    assert all(isinstance(line["log_index"], int) for line in record["history"])


def test_the_renewal_fee_is_a_tenth_of_the_licence_fee_in_force(client, gw, life):
    *_, approved = renew(client, life)
    renewed = approved.get_json()
    assert renewed["category"] == "metropolis"
    assert renewed["licence_fee"] == 500_000_000  # seeds/000 line 24
    assert renewed["renewal_fee"] == 50_000_000  # seeds/000 line 38: one tenth
    assert type(renewed["renewal_fee"]) is int
    # a year later the fees are indexed; a renewal then pays a tenth of the indexed fee
    indexed = licencefees.indexed(licencefees.read_file(FEES_1398), "0.35", "1399-01-01")
    assert indexed["licence_fee"]["metropolis"] == 675_000_000
    assert indexed["fines"]["cap_per_obligation_per_year"] == 1_350_000_000


def test_a_renewal_without_a_fee_schedule_is_not_approved(client, gw, life):
    with gw.store.write() as session:
        session.execute(
            update(Office).where(Office.id == "teh-1").values(expires_on=offices.today())
        )
        from pishkhan_gateway.store.tables import LicenceFeeSchedule

        session.query(LicenceFeeSchedule).delete()
    *_, approved = renew(client, life)
    assert (approved.status_code, approved.get_json()["code"]) == (409, "wrong_state")
    assert "licences fees load" in approved.get_json()["detail"]


def test_an_expired_licence_is_renewed_and_the_office_transacts_again(client, gw, life):
    tehran = life["tehran"]
    with gw.store.write() as session:
        session.execute(
            update(Office)
            .where(Office.id == "teh-1")
            .values(expires_on=offices.today() - dt.timedelta(days=1))
        )
    refused = client.post("/v1/transactions", json=INQUIRY, headers=tehran.headers())
    assert refused.get_json()["code"] == "licence_expired"
    status = client.get("/v1/licence", headers=office_headers(tehran)).get_json()
    assert status["warning"] == "expired" and status["days_left"] == -1
    asked, _, approved = renew(client, life)
    assert asked.get_json()["details"]["late"] is True
    assert approved.status_code == 200
    assert (
        client.post("/v1/transactions", json=INQUIRY, headers=tehran.headers()).status_code == 201
    )


def test_expiry_warnings_at_90_30_and_7_days(client, gw, life):
    today = offices.today()
    assert licencestatus.warning(today + dt.timedelta(91), today) is None
    assert licencestatus.warning(today + dt.timedelta(90), today) == 90
    assert licencestatus.warning(today + dt.timedelta(30), today) == 30
    assert licencestatus.warning(today + dt.timedelta(8), today) == 30
    assert licencestatus.warning(today + dt.timedelta(7), today) == 7
    assert licencestatus.warning(today - dt.timedelta(1), today) == "expired"
    status = client.get("/v1/licence", headers=office_headers(life["tehran"])).get_json()
    assert (status["days_left"], status["warning"]) == (60, 90)
    assert status["expires_on_jalali"].startswith("14")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'pishkhan_licences_expiring{within="90"} 1.0' in metrics
    assert 'pishkhan_licences_expiring{within="30"} 0.0' in metrics


# -- authority -------------------------------------------------------------------------------


def test_a_province_cannot_revoke_it_can_only_ask(client, gw, life):
    refused = client.post(
        "/v1/offices/fars-1/revoke", json={"reason": "forged documents"}, headers=life["fars_group"]
    )
    assert (refused.status_code, refused.get_json()["code"]) == (403, "forbidden")
    assert "revocation-request" in refused.get_json()["detail"]
    assert offices.get_office(gw.store, "fars-1").status == "active"
    asked = client.post(
        "/v1/offices/fars-1/revocation-request",
        json={"reason": "forged documents, three cases"},
        headers=life["fars_group"],
    )
    assert asked.status_code == 201
    assert offices.get_office(gw.store, "fars-1").status == "active"  # asking changes nothing
    done = client.post(
        "/v1/offices/fars-1/revoke",
        json={"reason": "as the province asked"},
        headers=life["regulator"],
    )
    assert done.status_code == 200 and offices.get_office(gw.store, "fars-1").status == "revoked"
    kinds = [e["type"] for e in entries(gw)]
    assert "revocation_requested" in kinds and "licence_action" in kinds
    denied = [e for e in entries(gw) if e.get("type") == "access_denied"]
    assert any(
        e["code"] == "forbidden" and e["route"] == "/v1/offices/<office_id>/revoke" for e in denied
    )


def test_a_province_suspends_and_reinstates_its_own_offices(client, gw, life):
    for action, status in (("suspend", "suspended"), ("reinstate", "active")):
        done = client.post(
            f"/v1/offices/fars-1/{action}",
            json={"reason": "inspection"},
            headers=life["fars_group"],
        )
        assert done.status_code == 200 and offices.get_office(gw.store, "fars-1").status == status
    record = client.get("/v1/offices/fars-1/record", headers=life["fars_group"]).get_json()
    assert [line["event"] for line in record["history"]][:2] == ["reinstated", "suspended"]


def test_an_agency_may_only_report(client, gw, life):
    fars = life["fars"]
    paid = client.post("/v1/transactions", json=pay_body(BILL_2, fee=20000), headers=fars.headers())
    transaction = paid.get_json()["transaction_id"]
    for path, body in (
        ("/v1/offices/fars-1/suspend", {"reason": "overcharging"}),
        ("/v1/offices/fars-1/revoke", {"reason": "overcharging"}),
        ("/v1/offices/fars-1/violations", {"type": "overcharging", "transactions": [transaction]}),
        ("/v1/offices/fars-1/revocation-request", {"reason": "overcharging"}),
    ):
        answer = client.post(path, json=body, headers=life["postbank"])
        assert (answer.status_code, answer.get_json()["code"]) == (403, "forbidden"), path
    reported = client.post(
        "/v1/reports",
        json={
            "office": "fars-1",
            "subject": "overcharging",
            "text": "the citizen says 500,000 rials were taken",
            "transactions": [transaction],
        },
        headers=life["postbank"],
    )
    assert reported.status_code == 201
    report = reported.get_json()
    assert report["agency"] == "postbank" and report["transactions"] == [transaction]
    # a province opens a case on the report's evidence
    opened = client.post(
        "/v1/offices/fars-1/violations",
        json={"type": "overcharging", "reports": [report["id"]], "transactions": [transaction]},
        headers=life["fars_group"],
    )
    assert opened.status_code == 201
    assert offices.get_office(gw.store, "fars-1").status == "active"
    record = client.get("/v1/offices/fars-1/record", headers=life["postbank"])
    assert record.status_code == 403  # a record is the supervisors' and the office's


def test_a_region_rules_on_violations_in_its_provinces_only(client, gw, life):
    case = {"type": "hours", "complaint": "closed at 10:00 on a working day"}
    outside = client.post("/v1/offices/fars-1/violations", json=case, headers=life["region1"])
    assert (outside.status_code, outside.get_json()["code"]) == (403, "forbidden")
    inside = client.post("/v1/offices/fars-1/violations", json=case, headers=life["region7"])
    assert inside.status_code == 201
    seen = client.get("/v1/audit/transactions", headers=life["region7"]).get_json()["items"]
    assert {t["office_id"] for t in seen} <= {"fars-1"}
    suspend = client.post(
        "/v1/offices/fars-1/suspend", json={"reason": "ruled"}, headers=life["region7"]
    )
    assert suspend.status_code == 403  # a region rules on violations; the province suspends


def test_the_authority_table_is_what_the_actions_enforce():
    scope = supervisors.Scope
    assert authority.may(scope("r", "regulator"), "revoke", "Fars")
    assert not authority.may(scope("p", "province", "Fars"), "revoke", "Fars")
    assert authority.may(scope("p", "province", "Fars"), "request_revocation", "Fars")
    assert not authority.may(scope("p", "province", "Fars"), "suspend", "Tehran")
    assert authority.may(scope("g", "region", "7"), "violation", "Fars")
    assert not authority.may(scope("g", "region", "7"), "violation", "Tehran")
    assert not authority.may(scope("a", "agency", "postbank"), "suspend", "Fars")
    assert authority.may(scope("a", "agency", "postbank"), "report")
    rows = dict(authority.table())
    assert rows["revoke a licence"] == [True, False, False, False]


# -- transfer and relocation -----------------------------------------------------------------


def test_a_transfer_ends_the_old_holders_credentials(client, gw, life):
    fars = life["fars"]
    asked = client.post(
        "/v1/offices/fars-1/transfer",
        json={"holder": "شرکت نوین خدمات"},
        headers=office_headers(fars),
    )
    assert asked.status_code == 201
    not_mine = client.post(
        "/v1/offices/teh-1/transfer", json={"holder": "someone"}, headers=office_headers(fars)
    )
    assert not_mine.status_code == 404
    client.post(
        "/v1/offices/fars-1/transfer/recommend",
        json={"reason": "eligible"},
        headers=life["fars_group"],
    )
    done = client.post(
        "/v1/offices/fars-1/transfer/approve",
        json={"reason": "conditions met"},
        headers=life["regulator"],
    )
    assert done.status_code == 200
    body = done.get_json()
    assert body["holder"] == "شرکت نوین خدمات" and body["credentials_revoked"] == 1
    assert offices.get_office(gw.store, "fars-1").holder == "شرکت نوین خدمات"
    stale = client.post("/v1/transactions", json=INQUIRY, headers=fars.headers())
    assert stale.status_code == 401  # the old holder's key is dead on the next request


def test_a_relocation_moves_the_office_onto_its_new_tariff_column_the_day_it_takes_effect(
    client, gw, life
):
    tehran = life["tehran"]
    metropolis_fee = pay_body(fee=53000)  # the 1405 cap: 53,000 in a metropolis, 40,000 elsewhere
    assert (
        client.post("/v1/transactions", json=metropolis_fee, headers=tehran.headers()).status_code
        == 201
    )
    asked = client.post(
        "/v1/offices/teh-1/relocate",
        json={"city": "Varamin", "address": "Main street 12", "category": "city"},
        headers=office_headers(tehran),
    )
    assert asked.status_code == 201
    client.post(
        "/v1/offices/teh-1/relocate/recommend",
        json={"reason": "premises checked"},
        headers=life["tehran_group"],
    )
    tomorrow = offices.today() + dt.timedelta(days=1)
    approved = client.post(
        "/v1/offices/teh-1/relocate/approve",
        json={"reason": "approved", "effective": tomorrow.isoformat()},
        headers=life["regulator"],
    )
    assert approved.status_code == 200 and approved.get_json()["effective"] == tomorrow.isoformat()
    # today: still the metropolis column
    second = pay_body(BILL_2, fee=53000)
    assert client.post("/v1/transactions", json=second, headers=tehran.headers()).status_code == 201
    with gw.store.write() as session:  # the day comes
        session.execute(update(Office).where(Office.id == "teh-1").values(moves_on=offices.today()))
    moved = client.post(
        "/v1/transactions", json=pay_body(BILL_2, fee=53000), headers=tehran.headers(key="k2")
    )
    assert (moved.status_code, moved.get_json()["code"]) == (422, "tariff_exceeded")
    assert moved.get_json()["fee_cap"] == 40000


# -- violations --------------------------------------------------------------------------------


def decide_case(client, life, office, headers, kind="overcharging", fine=10_000_000, **extra):
    opened = client.post(
        f"/v1/offices/{office}/violations",
        json={
            "type": kind,
            "complaint": "complaint 1405-117",
            "decision": {"points": 5, "fine": fine, "reason": "proven by the receipts", **extra},
        },
        headers=headers,
    )
    assert opened.status_code == 201, opened.get_json()
    return opened.get_json()


def age_cases(gw, by: dt.timedelta, which) -> None:
    """Move decisions ``by`` into the past (time passing, as the database would see it)."""
    with gw.store.write() as session:
        for case in session.scalars(select(ViolationCase).where(which)):
            case.decided_at = case.decided_at - by


def test_the_minimum_fine_doubles_on_a_repeated_violation(client, gw, life):
    group = life["fars_group"]
    first = decide_case(client, life, "fars-1", group, fine=10_000_000)
    assert (first["minimum_fine"], first["fine"], first["adjustments"]) == (0, 10_000_000, [])
    second = decide_case(client, life, "fars-1", group, fine=5_000_000)
    assert second["minimum_fine"] == 20_000_000  # twice the previous fine (seeds/000 line 52)
    assert second["fine"] == 20_000_000 and second["adjustments"] == ["raised_to_minimum"]
    assert second["requested_fine"] == 5_000_000 and second["repeats"] == first["id"]
    third = decide_case(client, life, "fars-1", group, fine=0)
    assert third["minimum_fine"] == 40_000_000
    other_type = decide_case(client, life, "fars-1", group, kind="forged_documents", fine=1)
    assert other_type["minimum_fine"] == 0  # the doubling is per violation type
    # a repeat more than 12 months later is a first again
    age_cases(gw, dt.timedelta(days=400), ViolationCase.type == "overcharging")
    late = decide_case(client, life, "fars-1", group, fine=1_000_000)
    assert late["minimum_fine"] == 0


def test_the_yearly_fine_cap_cuts_the_fine(client, life):
    group = life["fars_group"]
    big = decide_case(client, life, "fars-1", group, fine=900_000_000)
    assert big["fine"] == 900_000_000 and big["fine_cap"] == 1_000_000_000
    capped = decide_case(client, life, "fars-1", group, fine=0)
    # the minimum (1,800,000,000) is above what is left of the year's cap (100,000,000)
    assert capped["minimum_fine"] == 1_800_000_000
    assert capped["fine"] == 100_000_000
    assert capped["adjustments"] == ["raised_to_minimum", "capped"]
    assert capped["fined_this_year_before"] == 900_000_000


def test_an_objection_is_accepted_within_seven_days_only(client, gw, life):
    fars = life["fars"]
    case = decide_case(client, life, "fars-1", life["fars_group"])
    late = decide_case(client, life, "fars-1", life["fars_group"], kind="hours")
    age_cases(gw, dt.timedelta(days=8), ViolationCase.id == late["id"])
    closed = client.post(
        f"/v1/offices/fars-1/violations/{late['id']}/objection",
        json={"text": "we were open"},
        headers=office_headers(fars),
    )
    assert (closed.status_code, closed.get_json()["code"]) == (409, "objection_window_closed")
    objected = client.post(
        f"/v1/offices/fars-1/violations/{case['id']}/objection",
        json={"text": "the fee included the agency's charge"},
        headers=office_headers(fars),
    )
    assert objected.status_code == 200 and objected.get_json()["state"] == "objected"
    others = client.post(
        f"/v1/offices/fars-1/violations/{case['id']}/objection",
        json={"text": "not ours"},
        headers=office_headers(life["tehran"]),
    )
    assert others.status_code == 404


def test_an_overturned_case_stops_counting(client, gw, life):
    case = decide_case(client, life, "fars-1", life["fars_group"], fine=30_000_000)
    client.post(
        f"/v1/offices/fars-1/violations/{case['id']}/objection",
        json={"text": "the receipts show the tariff"},
        headers=office_headers(life["fars"]),
    )
    by_province = client.post(
        f"/v1/offices/fars-1/violations/{case['id']}/objection/rule",
        json={"uphold": False, "reason": "reviewed"},
        headers=life["fars_group"],
    )
    assert by_province.status_code == 403  # a region or the regulator rules on objections
    ruled = client.post(
        f"/v1/offices/fars-1/violations/{case['id']}/objection/rule",
        json={"uphold": False, "reason": "the receipts show the tariff was kept"},
        headers=life["region7"],
    )
    assert ruled.status_code == 200 and ruled.get_json()["state"] == "overturned"
    standing = client.get("/v1/offices/fars-1/record", headers=life["regulator"]).get_json()[
        "standing"
    ]
    assert standing["points_12_months"] == 0 and standing["fines_this_year"] == 0
    again = decide_case(client, life, "fars-1", life["fars_group"], fine=1)
    assert again["minimum_fine"] == 0  # an overturned case is no precedent


def test_a_decided_case_may_suspend_the_office(client, gw, life):
    case = decide_case(
        client, life, "fars-1", life["fars_group"], kind="forged_documents", suspend=True
    )
    assert case["suspended"] is True
    assert offices.get_office(gw.store, "fars-1").status == "suspended"
    refused = client.post("/v1/transactions", json=INQUIRY, headers=life["fars"].headers())
    assert refused.get_json()["code"] == "office_suspended"
    by_region = client.post(
        "/v1/offices/fars-1/violations",
        json={
            "type": "other",
            "complaint": "c-2",
            "decision": {"points": 1, "fine": 0, "reason": "noted", "suspend": True},
        },
        headers=life["region7"],
    )
    assert by_region.status_code == 403  # suspending is the province's (or regulator's)


def test_the_scorecard_separates_refused_attempts_from_decided_overcharging(client, gw, life):
    fars = life["fars"]
    typo = client.post("/v1/transactions", json=pay_body(BILL_2, fee=10**7), headers=fars.headers())
    assert typo.get_json()["code"] == "tariff_exceeded"
    card = client.get("/v1/audit/offices/fars-1/scorecard", headers=life["regulator"]).get_json()
    assert card["over_cap_refusals"] == 1
    assert (
        card["violations"]["decided_by_type"]["overcharging"] == 0
    )  # a blocked typo is no offence
    decide_case(client, life, "fars-1", life["fars_group"])
    card = client.get("/v1/audit/offices/fars-1/scorecard", headers=life["regulator"]).get_json()
    assert card["violations"]["decided_by_type"]["overcharging"] == 1
    assert card["violations"]["points_12_months"] == 5
    assert card["violations"]["fines_this_year"] == 10_000_000


def test_a_case_needs_evidence_of_this_office(client, life):
    other = client.post("/v1/transactions", json=INQUIRY, headers=life["tehran"].headers())
    foreign = other.get_json()["transaction_id"]
    for body in (
        {"type": "overcharging"},
        {"type": "overcharging", "transactions": [foreign]},
        {"type": "nonsense", "complaint": "x"},
        {"type": "overcharging", "complaint": "x", "decision": {"points": -1, "reason": "xxx"}},
        {
            "type": "overcharging",
            "complaint": "x",
            "decision": {"points": 1, "fine": 1.5, "reason": "xxx"},
        },
    ):
        answer = client.post("/v1/offices/fars-1/violations", json=body, headers=life["fars_group"])
        assert answer.status_code == 400, body
        assert answer.get_json()["code"] == "invalid_request"


# -- working hours -----------------------------------------------------------------------------


def test_transactions_outside_working_hours_are_flagged_not_refused(client, gw, life):
    closed_all_week = {str(day): None for day in range(7)}
    refused = client.put(
        "/v1/provinces/Fars/working-hours",
        json={"days": closed_all_week},
        headers=life["tehran_group"],
    )
    assert refused.status_code == 403
    bad = client.put(
        "/v1/provinces/Fars/working-hours",
        json={"days": {"0": ["16:00", "08:00"]}},
        headers=life["fars_group"],
    )
    assert bad.status_code == 400
    # open only on a day that is not today: everything now is outside the hours
    today = (offices.today().weekday() + 2) % 7
    other_day = str((today + 1) % 7)
    done = client.put(
        "/v1/provinces/Fars/working-hours",
        json={"days": {other_day: ["08:00", "16:00"]}},
        headers=life["fars_group"],
    )
    assert done.status_code == 200 and done.get_json()["days"][other_day]["hours"] == [
        "08:00",
        "16:00",
    ]
    answer = client.post("/v1/transactions", json=INQUIRY, headers=life["fars"].headers())
    assert answer.status_code == 201  # not refused
    card = client.get("/v1/audit/offices/fars-1/scorecard", headers=life["regulator"]).get_json()
    assert card["outside_hours"] == 1
    teh = client.get("/v1/audit/offices/teh-1/scorecard", headers=life["regulator"]).get_json()
    assert teh["outside_hours"] is None  # Tehran set no hours: nothing to flag
    entry = [e for e in entries(gw) if e.get("type") == "working_hours_set"][-1]
    assert entry["province"] == "Fars"
    scoped = client.get("/v1/audit/entries?start=0&end=100", headers=life["fars_group"]).get_json()
    visible = [json.loads(__import__("base64").b64decode(e)) for e in scoped["entries"] if e]
    assert any(e.get("type") == "working_hours_set" for e in visible)


# -- the record and the log --------------------------------------------------------------------


def test_every_action_and_refusal_is_a_log_entry_that_verifies(client, gw, life):
    renew(client, life)
    decide_case(client, life, "fars-1", life["fars_group"])
    client.post("/v1/offices/fars-1/revoke", json={"reason": "no"}, headers=life["fars_group"])
    kinds = {e.get("type") for e in entries(gw)}
    assert {
        "renewal_requested",
        "renewal_recommended",
        "licence_renewed",
        "violation_opened",
        "violation_decided",
        "access_denied",
    } <= kinds
    gw.sealer.seal_all()
    assert verify_store(gw.store, gw.signer.public_key).ok
    record = client.get("/v1/offices/fars-1/record", headers=office_headers(life["fars"]))
    assert record.status_code == 200
    body = record.get_json()
    assert body["cases"][0]["fine"] == 10_000_000 and body["standing"]["points_12_months"] == 5
    not_mine = client.get("/v1/offices/teh-1/record", headers=office_headers(life["fars"]))
    assert not_mine.status_code == 404
    out_of_scope = client.get("/v1/offices/teh-1/record", headers=life["fars_group"])
    assert out_of_scope.status_code == 404


def test_licence_fees_load_and_index_from_the_command_line(runner, gw, tmp_path):
    loaded = runner.invoke(args=["licences", "fees", "load", str(FEES_1398)])
    assert loaded.exit_code == 0, loaded.output
    again = runner.invoke(args=["licences", "fees", "load", str(FEES_1398)])
    assert again.exit_code == 2
    indexed = runner.invoke(
        args=["licences", "fees", "index", "--rate", "0.35", "--effective", "1399-01-01"]
    )
    assert indexed.exit_code == 0, indexed.output
    listed = runner.invoke(args=["licences", "fees", "list"]).stdout
    assert "1398-01-01" in listed and "1399-01-01" in listed and "675,000,000" in listed
    bad = tmp_path / "bad.toml"
    bad.write_text(FEES_1398.read_text().replace("village = 5000000", "village = 5000000.5"))
    assert runner.invoke(args=["licences", "fees", "load", str(bad)]).exit_code == 2
