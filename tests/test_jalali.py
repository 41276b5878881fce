"""Dates and digits at the edge: one parser and one formatter, so the API, the CLI, the console,
receipts and plugins read a typed date the same way."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import CITIZEN
from pishkhan_gateway import jalali
from test_cli import add_office

SAME_DAY = ["1405-01-01", "1405/01/01", "۱۴۰۵/۰۱/۰۱", "١٤٠٥-٠١-٠١", " 1405 / 1 / 1 "]


@pytest.mark.parametrize("typed", SAME_DAY)
def test_every_way_of_typing_a_jalali_date_is_the_same_day(typed):
    assert jalali.parse_date(typed) == dt.date(2026, 3, 21)


@pytest.mark.parametrize("typed", ["1405-13-01", "1405-12-31", "13690512", "", "1369-5", None, 5])
def test_what_is_not_a_jalali_date_is_refused(typed):
    with pytest.raises(ValueError):
        jalali.parse_date(typed)


def test_a_gregorian_year_is_read_only_where_allowed():
    assert jalali.parse_date("2026-03-21", gregorian_too=True) == dt.date(2026, 3, 21)
    with pytest.raises(ValueError):
        jalali.parse_date("2026-03-21")  # a birth date is Jalali


def test_the_formatter_reverses_the_parser():
    day = jalali.parse_date("1369-05-12")
    assert jalali.format_date(day) == "1369/05/12"
    assert jalali.format_date(day, "-") == "1369-05-12"
    noon = dt.datetime(2026, 3, 21, 8, 30, tzinfo=dt.UTC)
    assert jalali.format_moment(noon) == "1405/01/01 12:00:00"  # Tehran, UTC+3:30
    assert jalali.persian_digits(jalali.format_date(day)) == "۱۳۶۹/۰۵/۱۲"


@pytest.mark.parametrize("typed", SAME_DAY[:4])
def test_the_cli_takes_every_form_the_api_takes(runner, typed):
    """The CLI once refused ``1405/01/01``, which the API took."""
    result = add_office(runner, issued=typed)
    assert result.exit_code == 0, result.output
    office = json.loads(runner.invoke(args=["offices", "show", "cli-1"]).stdout)
    assert office["issued_on"] == "2026-03-21"


def test_the_cli_refuses_a_date_that_is_not_one_with_a_message(runner):
    result = add_office(runner, issued="1405/13/40")
    assert result.exit_code != 0 and "1405/13/40" in result.output


@pytest.mark.parametrize("typed", ["1369-05-12", "1369/05/12", "۱۳۶۹/۰۵/۱۲"])
def test_the_api_takes_a_birth_date_in_any_form(client, counter, typed):
    reply = client.post(
        "/v1/transactions",
        headers=counter.headers(),
        json={
            "service": "insurance.socialsecurity.history",
            "citizen": {"national_code": CITIZEN, "birth_date": typed},
            "params": {},
        },
    )
    assert reply.status_code == 201, reply.get_json()
