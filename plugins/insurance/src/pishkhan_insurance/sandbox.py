"""The insurance sandbox: a SOAP server with invented insurance records.

``GetInsuranceHistory`` answers from ``RECORDS``; ``PremiumQuote`` prices a bracket × months;
``PayPremium`` checks the amount against that price; ``RegisterHealth`` registers or renews a
year of cover; every operation with a tracking id is remembered so ``TransactionStatus`` can
settle an unknown outcome, and a tracking id used twice is refused (``DUPLICATE_TRACKING``).
A file suspended for unpaid debts (``SUSPENDED``) can neither pay nor register
(``FILE_SUSPENDED``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from pishkhan_gateway import SoapFault, SoapSandbox
from pishkhan_insurance.terms import NAMESPACE, WSDL

# The agency's own price, kept apart from the adapter's: a wrong quote is refused here.
HEALTH_FEES = {"individual": 1_800_000, "family": 4_200_000}  # rials a year, the fund's own

# Monthly self-employed premium by income bracket, in rials (sample data).
MONTHLY_PREMIUM = {1: 1_250_000, 2: 1_650_000, 3: 2_100_000, 4: 2_800_000, 5: 3_600_000}

RECORDS: dict[str, list[dict[str, Any]]] = {  # sample data: invented employers
    "0499370899": [
        {"Name": "شرکت صنایع غذایی البرز", "From": "2012-03-20", "To": "2016-09-22", "Months": 54},
        {"Name": "کارگاه نجاری امید", "From": "2017-01-21", "Months": 118},
    ],
    "0790419904": [{"Name": "دفتر پیشخوان دولت ۱۲۳", "From": "2015-06-22", "Months": 137}],
    "0067749828": [
        {"Name": "شرکت ساختمانی پارس", "From": "2001-03-21", "To": "2019-03-20", "Months": 216},
    ],
}

# Files suspended for unpaid employer debts (sample data): the insurer takes no money on them.
SUSPENDED = {"0650451252"}


class Insurer:
    """The insurer's books."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.transactions: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, int] = {}

    def _count(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def _tracked(self, args: dict[str, str]) -> str:
        tracking_id = args.get("TrackingId", "")
        if not tracking_id:
            raise SoapFault("TrackingId is required", error_code="INVALID_REQUEST")
        if tracking_id in self.transactions:
            raise SoapFault("this tracking id was already used", error_code="DUPLICATE_TRACKING")
        if args.get("NationalCode") in SUSPENDED:
            raise SoapFault(
                "the insurance file is suspended for unpaid debts: settle it at a branch",
                error_code="FILE_SUSPENDED",
            )
        return tracking_id

    def history(self, args: dict[str, str]) -> dict[str, Any]:
        self._count("GetInsuranceHistory")
        employers = RECORDS.get(args.get("NationalCode", ""))
        if employers is None:
            return {"Found": False}
        return {
            "Found": True,
            "TotalMonths": sum(e["Months"] for e in employers),
            "Employer": employers,
        }

    @staticmethod
    def _price(args: dict[str, str]) -> int:
        try:
            bracket, months = int(args.get("Bracket", "")), int(args.get("Months", ""))
        except ValueError:
            raise SoapFault(
                "Bracket and Months are integers", error_code="INVALID_REQUEST"
            ) from None
        if bracket not in MONTHLY_PREMIUM or not 1 <= months <= 12:
            raise SoapFault("no such bracket, or months not 1–12", error_code="INVALID_REQUEST")
        return MONTHLY_PREMIUM[bracket] * months

    def premium_quote(self, args: dict[str, str]) -> dict[str, Any]:
        self._count("PremiumQuote")
        return {
            "Amount": self._price(args),
            "MonthlyPremium": MONTHLY_PREMIUM[int(args["Bracket"])],
        }

    def pay_premium(self, args: dict[str, str]) -> dict[str, Any]:
        self._count("PayPremium")
        price = self._price(args)
        tracking_id = self._tracked(args)
        if int(args.get("Amount") or -1) != price:
            raise SoapFault("amount does not match the premium", error_code="AMOUNT_MISMATCH")
        months = int(args["Months"])
        paid_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        covered = (dt.date.today().replace(day=1) + dt.timedelta(days=31 * months)).strftime(
            "%Y-%m"
        )
        self.transactions[tracking_id] = {
            "Operation": "PayPremium",
            "Reference": f"SS{secrets.token_hex(5).upper()}",
            "PaidAt": paid_at.isoformat(),
            "CoveredUntil": covered,
            "Months": months,
            "Amount": price,
        }
        return {
            k: self.transactions[tracking_id][k] for k in ("Reference", "PaidAt", "CoveredUntil")
        }

    def register_health(self, args: dict[str, str]) -> dict[str, Any]:
        self._count("RegisterHealth")
        plan, code = args.get("Plan", ""), args.get("NationalCode", "")
        if plan not in HEALTH_FEES:
            raise SoapFault("no such plan", error_code="INVALID_REQUEST")
        tracking_id = self._tracked(args)
        if int(args.get("Amount") or -1) != HEALTH_FEES[plan]:
            raise SoapFault("amount does not match the plan", error_code="AMOUNT_MISMATCH")
        member = self.members.get(code)
        start = (
            max(dt.date.today(), dt.date.fromisoformat(member["ValidUntil"]))
            if member
            else dt.date.today()
        )
        valid_until = start + dt.timedelta(days=365)
        number = member["MembershipNo"] if member else f"HI{len(self.members) + 1:08d}"
        self.members[code] = {"MembershipNo": number, "ValidUntil": valid_until.isoformat()}
        self.transactions[tracking_id] = {  # in the order of TransactionStatusResponse
            "Operation": "RegisterHealth",
            **self.members[code],
            "Plan": plan,
        }
        return dict(self.members[code])

    def status(self, args: dict[str, str]) -> dict[str, Any]:
        self._count("TransactionStatus")
        transaction = self.transactions.get(args.get("TrackingId", ""))
        if transaction is None:
            return {"Status": "not_found"}
        return {"Status": "done", **transaction}

    def state(self) -> dict[str, Any]:
        return {"transactions": self.transactions, "calls": self.calls}


def create_sandbox() -> SoapSandbox:
    """A fresh insurance sandbox (WSGI app)."""
    insurer = Insurer()
    return SoapSandbox(
        wsdl=WSDL,
        namespace=NAMESPACE,
        operations={
            "GetInsuranceHistory": insurer.history,
            "PremiumQuote": insurer.premium_quote,
            "PayPremium": insurer.pay_premium,
            "RegisterHealth": insurer.register_health,
            "TransactionStatus": insurer.status,
        },
        state=insurer.state,
        reset=insurer.reset,
    )
