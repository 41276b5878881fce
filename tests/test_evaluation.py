"""The yearly evaluation and ranking (seeds/000 lines 4–8, 169–182): a 20-day declaration, a
10-day regional review, a 5-day correction, a 7-day objection, each window enforced by the Tehran
date; the score from the reviewed indicators and the record; a ranking per province and
category; objections ruled by the region; the final ranking published; every step logged."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from conftest import BILL, BILL_2, open_counter, pay_body
from pishkhan_gateway.jalali import format_date
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.regulation import evaluation
from pishkhan_gateway.store.tables import LogEntry

GOOD = {"floor_space_m2": 90, "staff": 4, "accessibility": True, "experience_years": 12,
        "equipment": 6}  # fmt: skip
SMALL = {"floor_space_m2": 24, "staff": 1, "accessibility": False, "experience_years": 1,
         "equipment": 2}  # fmt: skip


def jalali(day: dt.date) -> str:
    return format_date(day, "-")


def credential(gw, supervisor_id, role, scope=None):
    supervisors.add(gw.store, supervisor_id, role, scope)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, supervisor_id)}"}


def office_key(counter):
    return {"Authorization": f"Bearer {counter.credential}"}


@pytest.fixture
def start() -> dt.date:
    """The day the test's evaluation opens: today in Tehran, taken when the test starts."""
    return offices.today()


@pytest.fixture
def clock(monkeypatch, start):
    """Move the evaluation's idea of today (Tehran) by whole days from ``start``."""

    def move(days: int) -> None:
        monkeypatch.setattr(evaluation, "today", lambda: start + dt.timedelta(days=days))

    move(0)
    return move


@pytest.fixture
def cycle(client, gw, clock, start):
    regulator = credential(gw, "reg", "regulator")
    body = {"name": "ارزیابی ۱۴۰۵", "period_from": jalali(start - dt.timedelta(days=180)),
            "period_to": jalali(start), "opens": jalali(start)}  # fmt: skip
    opened = client.post("/v1/evaluations", json=body, headers=regulator)
    assert opened.status_code == 201, opened.get_json()
    return {"id": opened.get_json()["id"], "regulator": regulator, "opened": opened.get_json()}


def entries(gw, kind):
    with gw.store.read() as session:
        found = [json.loads(e) for e in session.scalars(select(LogEntry.entry))]
    return [e for e in found if e.get("type") == kind]


def declare(client, counter, indicators=GOOD):
    return client.put("/v1/evaluation/declaration", json=indicators, headers=office_key(counter))


def test_the_windows_follow_the_sources(cycle, start):
    windows = cycle["opened"]["windows"]
    assert windows["declaration"] == {
        "from": jalali(start),
        "to": jalali(start + dt.timedelta(days=19)),
    }
    assert windows["review"]["from"] == jalali(start + dt.timedelta(days=20))
    assert windows["correction"]["from"] == jalali(start + dt.timedelta(days=30))
    assert windows["objection"] == {
        "from": jalali(start + dt.timedelta(days=35)),
        "to": jalali(start + dt.timedelta(days=41)),
    }


def test_each_step_is_refused_outside_its_window(client, gw, counter, cycle, clock):
    assert declare(client, counter).status_code == 200
    review = f"/v1/evaluations/{cycle['id']}/offices/{counter.office_id}/review"
    early = client.post(review, json={"association_score": 7}, headers=cycle["regulator"])
    problem = early.get_json()
    assert (early.status_code, problem["code"], problem["window"]) == (
        409,
        "evaluation_window_closed",
        "declaration",
    )
    clock(20)
    late = declare(client, counter)
    assert late.status_code in (404, 409)  # no evaluation open for declarations now
    named = client.put(
        "/v1/evaluation/declaration",
        json={**GOOD, "evaluation": cycle["id"]},
        headers=office_key(counter),
    )
    assert named.get_json()["code"] == "evaluation_window_closed"
    assert (
        client.post(review, json={"association_score": 7}, headers=cycle["regulator"]).status_code
        == 200
    )
    ranking = client.get(
        f"/v1/evaluations/{cycle['id']}/ranking?province=Tehran", headers=cycle["regulator"]
    )
    assert ranking.get_json()["code"] == "evaluation_window_closed"  # results not out yet


def test_a_referred_office_corrects_in_the_correction_window(client, gw, counter, cycle, clock):
    other = open_counter(gw, "office-2", operator="0084575948")
    declare(client, counter, SMALL)
    declare(client, other)
    clock(25)
    review = f"/v1/evaluations/{cycle['id']}/offices/{counter.office_id}/review"
    referred = client.post(
        review, json={"refer": True, "note": "فضای دفتر نادرست"}, headers=cycle["regulator"]
    )
    assert referred.get_json()["referred"] is True
    clock(31)
    assert declare(client, counter, GOOD).status_code == 200
    assert declare(client, other).get_json()["code"] == "evaluation_window_closed"


def test_the_ranking_is_per_province_and_category_from_declarations_and_the_record(
    client, gw, cycle, clock
):
    busy = open_counter(gw, "shiraz-1", province="Fars")
    quiet = open_counter(gw, "shiraz-2", province="Fars", operator="0084575948")
    village = open_counter(
        gw, "kamfiruz-1", province="Fars", category="village", operator="0067749828"
    )
    client.post("/v1/transactions", json=pay_body(), headers=busy.headers())
    client.post("/v1/transactions", json=pay_body(BILL_2), headers=busy.headers())
    client.post(
        "/v1/transactions",
        json={"service": "postbank.bill.inquiry", "params": BILL},
        headers=quiet.headers(),
    )
    client.post(
        "/v1/transactions", json=pay_body(fee=10**6), headers=quiet.headers()
    )  # over the cap
    declare(client, busy, GOOD)
    declare(client, quiet, SMALL)
    clock(22)
    region = credential(gw, "r7", "region", "7")
    review = f"/v1/evaluations/{cycle['id']}/offices/shiraz-2/review"
    done = client.post(
        review, json={"association_score": 9, "indicators": {"staff": 2}}, headers=region
    )
    assert done.status_code == 200, done.get_json()
    clock(36)
    fars = credential(gw, "wg", "province", "Fars")
    ranking = client.get(
        f"/v1/evaluations/{cycle['id']}/ranking?province=Fars", headers=fars
    ).get_json()
    assert ranking["final"] is False
    rows = {r["office"]: r for r in ranking["ranking"]}
    assert rows["shiraz-1"]["rank"] == 1 and rows["shiraz-2"]["rank"] == 2
    assert rows["kamfiruz-1"]["rank"] == 1 and rows["kamfiruz-1"]["declared"] is False
    assert rows["shiraz-2"]["items"]["association"] == 9 and rows["shiraz-2"]["items"]["staff"] == 2
    assert rows["shiraz-2"]["items"]["over_cap_refusals"] == -1
    assert rows["shiraz-1"]["items"]["volume"] == 20 and rows["shiraz-1"]["measured"]["volume"] == 2
    assert rows["shiraz-1"]["score"] == sum(rows["shiraz-1"]["items"].values())
    own = client.get(
        f"/v1/evaluations/{cycle['id']}/ranking", headers=office_key(village)
    ).get_json()
    assert {r["office"] for r in own["ranking"]} == {"shiraz-1", "shiraz-2", "kamfiruz-1"}
    tehran = credential(gw, "wg-t", "province", "Tehran")
    assert (
        client.get(
            f"/v1/evaluations/{cycle['id']}/ranking?province=Fars", headers=tehran
        ).status_code
        == 403
    )


def test_the_objection_deadline_the_ruling_and_the_final_ranking(client, gw, counter, cycle, clock):
    declare(client, counter, SMALL)
    clock(36)
    objection = f"/v1/evaluations/{cycle['id']}/objection"
    assert (
        client.post(
            objection, json={"text": "پرسنل ما ۴ نفرند"}, headers=office_key(counter)
        ).status_code
        == 200
    )
    clock(42)
    late = client.post(objection, json={"text": "دوباره"}, headers=office_key(counter))
    assert late.get_json()["code"] == "evaluation_window_closed"
    publish = f"/v1/evaluations/{cycle['id']}/publish"
    waiting = client.post(publish, headers=cycle["regulator"])
    assert (
        waiting.get_json()["code"] == "wrong_state"
        and counter.office_id in waiting.get_json()["detail"]
    )
    province = credential(gw, "wg", "province", "Tehran")
    rule = f"/v1/evaluations/{cycle['id']}/offices/{counter.office_id}/objection/rule"
    body = {"indicators": {"staff": 4}, "reason": "قرارداد ۴ نفر دیده شد"}
    assert client.post(rule, json=body, headers=province).status_code == 403  # the region rules
    assert (
        client.post(rule, json=body, headers=cycle["regulator"]).get_json()["ruling"] == "corrected"
    )
    published = client.post(publish, headers=cycle["regulator"])
    assert published.status_code == 200, published.get_json()
    final = client.get(
        f"/v1/evaluations/{cycle['id']}/ranking?province=Tehran", headers=cycle["regulator"]
    ).get_json()
    assert final["final"] is True
    [row] = [r for r in final["ranking"] if r["office"] == counter.office_id]
    assert row["items"]["staff"] == 4
    mine = client.get("/v1/evaluation", headers=office_key(counter)).get_json()
    assert mine["rank"]["rank"] == row["rank"]
    kinds = ["evaluation_opened", "evaluation_declared", "evaluation_objected",
             "evaluation_objection_ruled", "evaluation_published"]  # fmt: skip
    assert all(entries(gw, kind) for kind in kinds)
    assert len(entries(gw, "evaluation_published")[0]["sha256"]) == 64


def test_only_the_regulator_opens_and_publishes_and_no_agency_reviews(
    client, gw, counter, cycle, clock
):
    province = credential(gw, "wg", "province", "Tehran")
    body = {"name": "x" * 5, "period_from": "1405-01-01", "period_to": "1405-06-31"}
    assert client.post("/v1/evaluations", json=body, headers=province).status_code == 403
    declare(client, counter)
    clock(21)
    agency = credential(gw, "pb", "agency", "postbank")
    review = f"/v1/evaluations/{cycle['id']}/offices/{counter.office_id}/review"
    assert client.post(review, json={"association_score": 1}, headers=agency).status_code == 403
    assert client.post(review, json={"association_score": 1}, headers=province).status_code == 403
    far = credential(gw, "r7", "region", "7")
    assert client.post(review, json={"association_score": 1}, headers=far).status_code == 403


@pytest.mark.parametrize(
    ("bad", "field"),
    [({**GOOD, "staff": -1}, "staff"), ({**GOOD, "accessibility": "yes"}, "accessibility"),
     ({k: v for k, v in GOOD.items() if k != "equipment"}, "equipment"),
     ({**GOOD, "floor_space_m2": 12.5}, "floor_space_m2")],
)  # fmt: skip
def test_a_declaration_is_whole_numbers_in_range(client, counter, cycle, bad, field):
    answer = declare(client, counter, bad)
    assert (answer.status_code, answer.get_json()["field"]) == (400, field)


def test_a_service_entitled_by_rank_goes_to_the_best_ranked_offices(client, gw, cycle, clock):
    """New services are allocated by rank (seeds/000 line 177): ``max_rank`` admits the offices
    at most that place among their peers in the newest published ranking, and no unranked one."""
    first = open_counter(gw, "shiraz-1", province="Fars")
    second = open_counter(gw, "shiraz-2", province="Fars", operator="0084575948")
    declare(client, first, GOOD)
    declare(client, second, SMALL)
    clock(43)
    assert (
        client.post(
            f"/v1/evaluations/{cycle['id']}/publish", headers=cycle["regulator"]
        ).status_code
        == 200
    )
    rule = {"service": "postbank.bill.inquiry", "max_rank": 1, "reason": "خدمت جدید به رتبه برتر"}
    assert client.put("/v1/entitlements", json=rule, headers=cycle["regulator"]).status_code == 200
    inquiry = {"service": "postbank.bill.inquiry", "params": BILL}
    assert client.post("/v1/transactions", json=inquiry, headers=first.headers()).status_code == 201
    refused = client.post("/v1/transactions", json=inquiry, headers=second.headers()).get_json()
    assert refused["code"] == "service_not_entitled" and "ranked 2" in refused["detail"]
    newcomer = open_counter(gw, "shiraz-3", province="Fars", operator="0067749828")
    assert (
        client.post("/v1/transactions", json=inquiry, headers=newcomer.headers()).get_json()["code"]
        == "service_not_entitled"
    )
