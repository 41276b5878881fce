"""An agency's coverage (national registry ids, services used under 100 a month) and its
availability hour by hour, computed from the verified record, readable by supervisors in scope
and by offices (aggregates only)."""

from __future__ import annotations

import datetime as dt

from conftest import BILL, open_counter
from pishkhan_gateway.registry import offices, supervisors

INQUIRY = {"service": "postbank.bill.inquiry", "params": BILL}


def credential(gw, supervisor_id, role, scope=None):
    supervisors.add(gw.store, supervisor_id, role, scope)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, supervisor_id)}"}


def test_coverage_names_registry_ids_and_flags_services_used_under_100_a_month(client, gw):
    counter = open_counter(gw, "teh-1")
    for _ in range(3):
        assert (
            client.post("/v1/transactions", json=INQUIRY, headers=counter.headers()).status_code
            == 201
        )
    regulator = credential(gw, "reg", "regulator")
    report = client.get("/v1/audit/agencies/postbank/coverage?months=2", headers=regulator)
    assert report.status_code == 200
    body = report.get_json()
    inquiry = next(s for s in body["services"] if s["service"] == "postbank.bill.inquiry")
    assert inquiry["registry_id"] == "sample-0006" and inquiry["offered"] is True
    current = body["months"][-1]
    assert inquiry["used_per_month"][current] == 3
    assert current in inquiry["below_100_a_month"]  # "connected for the record"
    assert current in body["agency_below_100_a_month"]
    assert body["without_registry_id"] == []
    # the catalog shows the id to the counter too
    catalog = client.get("/v1/services", headers=counter.headers()).get_json()["services"]
    assert {s["id"]: s["registry_id"] for s in catalog}["postbank.bill.inquiry"] == "sample-0006"
    # an agency auditor reads its own agency only; an office reads the aggregates
    telecom = credential(gw, "aud-tc", "agency", "telecom")
    assert client.get("/v1/audit/agencies/postbank/coverage", headers=telecom).status_code == 403
    office = {"Authorization": f"Bearer {counter.credential}"}
    assert client.get("/v1/audit/agencies/postbank/coverage", headers=office).status_code == 200
    assert client.get("/v1/audit/agencies/nosuch/coverage", headers=regulator).status_code == 404


def test_availability_counts_calls_failures_and_latency_by_the_hour(client, gw, sandbox):
    counter = open_counter(gw, "teh-1")
    for _ in range(4):
        client.post("/v1/transactions", json=INQUIRY, headers=counter.headers())
    sandbox.faults("postbank", mode="http503", times=100)  # an inquiry is retried: fail them all
    failed = [
        client.post("/v1/transactions", json=INQUIRY, headers=counter.headers()) for _ in range(2)
    ]
    assert {r.get_json()["code"] for r in failed} <= {"agency_unavailable", "agency_error"}
    sandbox.reset()
    # a refusal before the agency is no call to it
    client.post("/v1/transactions", json={**INQUIRY, "params": {}}, headers=counter.headers())
    office = {"Authorization": f"Bearer {counter.credential}"}
    answer = client.get("/v1/audit/agencies/postbank/availability", headers=office)
    assert answer.status_code == 200
    ledger = answer.get_json()
    assert len(ledger["hours"]) in (24, 25)
    assert ledger["calls"] == 6 and ledger["failures"] == 2
    busy = [h for h in ledger["hours"] if h["calls"]]
    assert sum(h["calls"] for h in busy) == 6
    assert all(h["p50_ms"] is not None and h["p95_ms"] >= h["p50_ms"] for h in busy)
    assert sum(sum(h["failures"].values()) for h in busy) == 2
    assert ledger["hours_with_failures"] >= 1
    regulator = credential(gw, "reg", "regulator")
    today = offices.today().isoformat()  # a bare date is a Tehran day (not the UTC one)
    bounded = client.get(
        f"/v1/audit/agencies/postbank/availability?from={today}&to={today}", headers=regulator
    )
    assert bounded.status_code == 200 and bounded.get_json()["calls"] == 6
    too_long = client.get(
        "/v1/audit/agencies/postbank/availability?from=1405-01-01&to=1405-06-01",
        headers=regulator,
    )
    assert too_long.status_code == 400
    # a province counts only its offices' calls
    fars = credential(gw, "wg-fars", "province", "Fars")
    theirs = client.get("/v1/audit/agencies/postbank/availability", headers=fars).get_json()
    assert theirs["calls"] == 0


def test_a_time_window_is_an_index_range_that_misses_no_transaction(gw):
    """Rows out of time order by up to ``SKEW`` (a long agency call recorded late) are still
    inside the index range of their time window."""
    from sqlalchemy import insert

    from pishkhan_gateway.records.agencies import index_range
    from pishkhan_gateway.store.tables import Transaction

    base = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    minutes = [0, 10, 20, 18, 30, 40, 41, 60, 90, 89, 120]  # 18 and 89 recorded late
    with gw.store.write() as session:
        session.execute(
            insert(Transaction),
            [
                {
                    "id": f"tx-{i}",
                    "log_index": 1000 + 3 * i,  # gaps: events sit between transactions
                    "created_at": base + dt.timedelta(minutes=m),
                    "outcome": "succeeded",
                    "http_status": 201,
                    "latency_ms": 5,
                }
                for i, m in enumerate(minutes)
            ],
        )
    with gw.store.read() as session:
        for start_min, end_min in [(0, 200), (15, 35), (19, 21), (85, 95), (121, 130), (-50, 0)]:
            start = base + dt.timedelta(minutes=start_min)
            end = base + dt.timedelta(minutes=end_min)
            lo, hi = index_range(session, start, end)
            inside = {1000 + 3 * i for i, m in enumerate(minutes) if start_min <= m < end_min}
            assert all(lo <= index < hi for index in inside), (start_min, end_min, lo, hi)


def test_metrics_show_each_agencys_last_five_minutes_from_the_record(client, gw, sandbox):
    counter = open_counter(gw, "teh-1")
    for _ in range(3):
        client.post("/v1/transactions", json=INQUIRY, headers=counter.headers())
    sandbox.faults("postbank", mode="http503", times=100)
    client.post("/v1/transactions", json=INQUIRY, headers=counter.headers())
    sandbox.reset()
    scraped = client.get("/metrics").get_data(as_text=True)
    assert 'pishkhan_agency_recent_calls{agency="postbank"} 4.0' in scraped
    assert 'pishkhan_agency_recent_failures{agency="postbank",code="agency_unavailable"} 1.0' in (
        scraped
    )
    assert 'pishkhan_agency_recent_latency_ms{agency="postbank",quantile="0.95"}' in scraped
