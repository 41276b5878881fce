"""``signing.canonical`` writes RFC 8785 bytes: its standard-library fast path for plain JSON
must agree with the ``rfc8785`` reference byte for byte, and hand everything else to it."""

from __future__ import annotations

import datetime as dt
import random

import jdatetime
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from pishkhan_gateway.crypto import signing
from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.jalali import format_moment as jalali

SAFE = 2**53 - 1
# Every code point but lone surrogates (not encodable as UTF-8, refused by both writers).
TEXT = st.text(st.characters(exclude_categories=["Cs"]))
SCALARS = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | TEXT
PLAIN = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(st.characters(max_codepoint=127)), inner, max_size=5)
    ),
    max_leaves=30,
)


def agrees_with_rfc8785(value):
    """The same bytes as the reference, or the same refusal."""
    try:
        expected = rfc8785.dumps(value)
    except Exception as exc:
        with pytest.raises(type(exc)):
            signing.canonical(value)
    else:
        assert signing.canonical(value) == expected


@settings(max_examples=400)
@given(PLAIN)
def test_plain_json_takes_the_fast_path_and_matches_rfc8785(value):
    assert signing._plain(value)
    assert signing.canonical(value) == rfc8785.dumps(value)


@settings(max_examples=200)
@given(
    st.recursive(
        SCALARS | st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=20,
    )
)
def test_anything_else_gives_rfc8785s_bytes_or_its_refusal(value):
    agrees_with_rfc8785(value)


@pytest.mark.parametrize(
    "value",
    [
        {"amount": 1.5},
        {"big": 2**53},
        {"\U0001f600": 1, "\ufb01": 2},  # UTF-16 order differs from code-point order here
        {1: "int key"},
    ],
)
def test_what_json_dumps_would_write_differently_goes_to_rfc8785(value):
    assert not signing._plain(value)
    agrees_with_rfc8785(value)


def test_control_characters_and_persian_text_are_escaped_as_rfc8785_does():
    value = {"b": '\x00\x1f\b\f\n\r\t"\\\x7f\u2028', "a": "دفتر پیشخوان ۱۲۳"}
    assert signing.canonical(value) == rfc8785.dumps(value)


def test_the_cached_jalali_day_gives_jdatetimes_stamp():
    rng = random.Random(1405)
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for _ in range(5000):
        moment = start + dt.timedelta(seconds=rng.randrange(12 * 365 * 86400))
        local = moment.astimezone(TEHRAN)
        expected = jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M:%S")
        assert jalali(moment) == expected
