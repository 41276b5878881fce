"""Tariff caps: by location category, changing exactly at the Tehran-midnight effective instant."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import TARIFFS
from pishkhan_gateway.errors import InvalidRequest, TariffExceeded
from pishkhan_gateway.pricing.tariffs import (
    FeeRule,
    enforce_tariff,
    jalali_midnight_utc,
    read_schedule_file,
    validate_schedule,
)
from pishkhan_gateway.registry.offices import CATEGORIES

BOUNDARY = jalali_midnight_utc("1405-01-01")  # 2026-03-21 00:00 Tehran


def test_the_effective_instant_is_tehran_midnight():
    assert BOUNDARY == dt.datetime(2026, 3, 20, 20, 30, tzinfo=dt.UTC)


def test_caps_change_exactly_at_the_effective_instant(gw):
    before = BOUNDARY - dt.timedelta(microseconds=1)
    assert gw.tariffs.cap("postbank.bill.pay", "metropolis", before)[0] == 40000
    assert gw.tariffs.cap("postbank.bill.pay", "metropolis", BOUNDARY)[0] == 53000
    assert gw.tariffs.cap("postbank.bill.pay", "village", BOUNDARY)[0] == 40000


def test_before_any_schedule_and_unpriced_services_cap_at_zero(gw):
    assert (
        gw.tariffs.cap("postbank.bill.pay", "city", dt.datetime(2000, 1, 1, tzinfo=dt.UTC))[0] == 0
    )
    assert gw.tariffs.cap("nobody.priced.this", "city", BOUNDARY)[0] == 0


@given(
    fee=st.integers(min_value=0, max_value=10**9),
    category=st.sampled_from(CATEGORIES),
    offset=st.integers(min_value=-(10**8), max_value=10**8),
)
def test_no_fee_above_the_cap_in_force_is_accepted(fee, category, offset):
    schedules = [read_schedule_file(p) for p in sorted(TARIFFS.glob("*.toml"))]

    class Memory:
        def rule(self, service_id, category, province, at):
            current = None
            for doc in schedules:
                if jalali_midnight_utc(doc["effective"]) <= at:
                    current = doc
            caps = (current or {"caps": {}})["caps"].get(service_id, {})
            return FeeRule(caps.get(category, caps.get("all", 0)), "regulator", None)

    at = BOUNDARY + dt.timedelta(seconds=offset)
    cap = Memory().rule("postbank.bill.pay", category, "Tehran", at).cap
    assert type(cap) is int
    try:
        accepted = enforce_tariff(
            tariffs=Memory(),
            service_id="postbank.bill.pay",
            category=category,
            province="Tehran",
            office_fee=fee,
            at=at,
        )
    except TariffExceeded as exc:
        assert fee > cap and exc.fee_cap == cap
    else:
        assert fee <= cap == accepted.cap


@pytest.mark.parametrize(
    "document, field",
    [
        ({"name": "x", "effective": "1405-13-01", "caps": {}}, "effective"),
        ({"name": "x", "effective": "1405-01-01", "caps": {"a.b": {"all": -1}}}, "caps/a.b/all"),
        ({"name": "x", "effective": "1405-01-01", "caps": {"a.b": {"city": 1}}}, "caps/a.b"),
        (
            {"name": "x", "effective": "1405-01-01", "caps": {"a.b": {"all": 1000.0}}},
            "caps/a.b/all",
        ),
        ({"effective": "1405-01-01", "caps": {}}, "name"),
    ],
)
def test_invalid_schedules_are_refused_naming_the_field(document, field):
    with pytest.raises(InvalidRequest) as error:
        validate_schedule(document)
    assert error.value.extra["field"] == field


def test_sample_schedules_are_valid_and_cover_every_reference_service():
    services = {
        "civilregistry.identity.verify",
        "civilregistry.birth_certificate.duplicate",
        "postbank.bill.inquiry",
        "postbank.bill.pay",
        "telecom.landline.bill.inquiry",
        "telecom.mobile.sim.replace",
        "insurance.socialsecurity.history",
        "insurance.socialsecurity.premium.pay",
        "insurance.health.register",
    }
    for path in TARIFFS.glob("*.toml"):
        assert set(read_schedule_file(path)["caps"]) == services, path.name
