"""The Post Bank plugin proved by the gateway's plugin test kit, as any agency would run it."""

from pishkhan_gateway.testkit import AgencyPluginTests, Example, Refusal

BILL = {"bill_id": "1117753200140", "payment_id": "12070160"}  # 120,000 rials, landline
PAID = {"bill_id": "556677889916", "payment_id": "8512300"}  # paid at a branch already


class TestPostBank(AgencyPluginTests):
    plugin = "postbank"
    examples = (
        Example("postbank.bill.inquiry", BILL, expect={"amount": 120_000, "paid": False}),
        Example(
            "postbank.bill.pay",
            BILL,
            citizen={"national_code": "0499370899"},
            expect={"bill_type": "landline"},
            agency_amount=120_000,
            call="PayBill",
        ),
    )
    refusals = (
        Refusal(
            "postbank.bill.pay",
            PAID,
            citizen={"national_code": "0499370899"},
            agency_code="ALREADY_PAID",
        ),
    )
