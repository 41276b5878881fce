"""The Post Bank sandbox: a SOAP server that pays bills as the real bank does.

It accepts any bill whose check digits are valid (amount encoded in the payment id), refuses to
pay the same bill id + payment id twice (``ALREADY_PAID``), and remembers each payment by the
gateway's tracking id so ``PaymentStatus`` can settle an unknown outcome.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from pishkhan_gateway import SoapFault, SoapSandbox
from pishkhan_postbank import billing
from pishkhan_postbank.terms import NAMESPACE, WSDL

# A water bill of 85,000 rials, valid check digits, paid before the sample day.
PAID_AT_A_BRANCH = ("556677889916", "8512300")


class PostBank:
    """The bank's books: payments by tracking id, and which bills are paid."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.payments: dict[str, dict[str, Any]] = {}
        # One bill already paid at a bank branch: paying it again is the sandbox's refusal
        # example (``ALREADY_PAID``).
        self.paid: dict[tuple[str, str], str] = {PAID_AT_A_BRANCH: "branch"}
        self.calls: dict[str, int] = {"BillInquiry": 0, "PayBill": 0, "PaymentStatus": 0}

    def _check(self, bill_id: str, payment_id: str) -> None:
        error = billing.bill_id_error(bill_id) or billing.payment_id_error(bill_id, payment_id)
        if error:
            raise SoapFault(error, error_code="INVALID_BILL")

    def bill_inquiry(self, args: dict[str, str]) -> dict[str, Any]:
        self.calls["BillInquiry"] += 1
        bill_id, payment_id = args.get("BillId", ""), args.get("PaymentId", "")
        self._check(bill_id, payment_id)
        return {
            "BillType": billing.bill_type(bill_id),
            "Amount": billing.amount_rials(payment_id),
            "Paid": (bill_id, payment_id) in self.paid,
        }

    def pay_bill(self, args: dict[str, str]) -> dict[str, Any]:
        self.calls["PayBill"] += 1
        bill_id, payment_id = args.get("BillId", ""), args.get("PaymentId", "")
        tracking_id = args.get("TrackingId", "")
        self._check(bill_id, payment_id)
        if not tracking_id:
            raise SoapFault("TrackingId is required", error_code="INVALID_REQUEST")
        if int(args.get("Amount") or -1) != billing.amount_rials(payment_id):
            raise SoapFault("amount does not match the bill", error_code="AMOUNT_MISMATCH")
        if (bill_id, payment_id) in self.paid:
            raise SoapFault("this bill has already been paid", error_code="ALREADY_PAID")
        reference = f"PB{secrets.token_hex(6).upper()}"
        paid_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.paid[(bill_id, payment_id)] = tracking_id
        self.payments[tracking_id] = {
            "bill_id": bill_id,
            "payment_id": payment_id,
            "amount": billing.amount_rials(payment_id),
            "reference": reference,
            "paid_at": paid_at.isoformat(),
        }
        return {"Reference": reference, "PaidAt": paid_at.isoformat()}

    def payment_status(self, args: dict[str, str]) -> dict[str, Any]:
        self.calls["PaymentStatus"] += 1
        payment = self.payments.get(args.get("TrackingId", ""))
        if payment is None:
            return {"Status": "not_found"}
        return {
            "Status": "paid",
            "Reference": payment["reference"],
            "PaidAt": payment["paid_at"],
            "BillId": payment["bill_id"],
            "Amount": payment["amount"],
        }

    def state(self) -> dict[str, Any]:
        return {"payments": self.payments, "calls": self.calls}


def create_sandbox() -> SoapSandbox:
    """A fresh Post Bank sandbox (WSGI app)."""
    bank = PostBank()
    return SoapSandbox(
        wsdl=WSDL,
        namespace=NAMESPACE,
        operations={
            "BillInquiry": bank.bill_inquiry,
            "PayBill": bank.pay_bill,
            "PaymentStatus": bank.payment_status,
        },
        state=bank.state,
        reset=bank.reset,
    )
