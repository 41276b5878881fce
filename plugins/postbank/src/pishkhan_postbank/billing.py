"""Iranian utility bill and payment ids: check digits, bill type, amount.

A bill id ends in a mod-11 check digit over the digits before it (weights 2..7 repeating from
the right); its second-to-last digit is the bill type. A payment id ends in two check digits: the
first over the payment id's own leading digits, the second over bill id + payment id (without its
last digit). The payment id's digits before its last five are the amount in thousands of rials.
"""

from __future__ import annotations

BILL_TYPES = {
    "1": "water",
    "2": "electricity",
    "3": "gas",
    "4": "landline",
    "5": "mobile",
    "6": "municipality",
    "8": "tax",
    "9": "traffic_fine",
}


def check_digit(digits: str) -> int:
    """The mod-11 check digit over ``digits`` (weights 2..7 from the right)."""
    total, weight = 0, 2
    for digit in reversed(digits):
        total += int(digit) * weight
        weight = weight + 1 if weight < 7 else 2
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def bill_id_error(bill_id: str) -> str | None:
    """Why ``bill_id`` is invalid, or None."""
    if not bill_id.isascii() or not bill_id.isdigit() or not 6 <= len(bill_id) <= 18:
        return "bill_id must be 6 to 18 digits"
    if check_digit(bill_id[:-1]) != int(bill_id[-1]):
        return "bill_id fails its check digit"
    return None


def payment_id_error(bill_id: str, payment_id: str) -> str | None:
    """Why ``payment_id`` is invalid for ``bill_id``, or None."""
    if not payment_id.isascii() or not payment_id.isdigit() or not 6 <= len(payment_id) <= 18:
        return "payment_id must be 6 to 18 digits"
    if check_digit(payment_id[:-2]) != int(payment_id[-2]):
        return "payment_id fails its first check digit"
    if check_digit(bill_id + payment_id[:-1]) != int(payment_id[-1]):
        return "payment_id fails its second check digit (over bill id and payment id)"
    return None


def bill_type(bill_id: str) -> str:
    """The bill's type word from its second-to-last digit."""
    return BILL_TYPES.get(bill_id[-2], "other")


def amount_rials(payment_id: str) -> int:
    """The amount encoded in the payment id, in rials."""
    return int(payment_id[:-5] or "0") * 1000
