"""Public vectors for national codes and bill/payment ids (tests/data/iran_ids.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pishkhan_gateway.ids import is_valid_national_code
from pishkhan_gateway.jalali import ascii_digits
from pishkhan_postbank import billing

VECTORS = json.loads((Path(__file__).parent / "data" / "iran_ids.json").read_text())


@pytest.mark.parametrize("code", VECTORS["national_code"]["valid"])
def test_valid_national_codes_pass(code):
    assert is_valid_national_code(code)


@pytest.mark.parametrize("code", VECTORS["national_code"]["invalid"])
def test_invalid_national_codes_fail(code):
    assert not is_valid_national_code(code)


def test_persian_and_arabic_digits_are_normalised():
    assert ascii_digits("۰۴۹۹۳۷۰۸۹۹") == "0499370899"
    assert ascii_digits("٠٤٩٩٣٧٠٨٩٩") == "0499370899"


@pytest.mark.parametrize("case", VECTORS["bill"]["cases"], ids=lambda c: c["bill_id"])
def test_bill_vectors(case):
    errors = billing.bill_id_error(case["bill_id"]) or billing.payment_id_error(
        case["bill_id"], case["payment_id"]
    )
    assert (errors is None) == case["valid"], errors
    if "amount_rials" in case:
        assert billing.amount_rials(case["payment_id"]) == case["amount_rials"]
    if "type" in case:
        assert billing.bill_type(case["bill_id"]) == case["type"]
