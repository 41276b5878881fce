"""The insurance plugin proved by the gateway's plugin test kit."""

from pishkhan_gateway.testkit import AgencyPluginTests, Example, Refusal

ALI = {"national_code": "0499370899", "birth_date": "1369-05-12"}
ZAHRA = {"national_code": "0684159414", "birth_date": "1378-09-09"}  # no insurance record
REZA = {"national_code": "0650451252", "birth_date": "1361-02-14"}  # a suspended file


class TestInsurance(AgencyPluginTests):
    plugin = "insurance"
    examples = (
        Example("insurance.socialsecurity.history", {}, citizen=ALI, expect={"total_months": 172}),
        Example(
            "insurance.socialsecurity.premium.pay",
            {"bracket": 3, "months": 2},
            citizen=ALI,
            expect={"months": 2, "amount": 4_200_000},
            agency_amount=4_200_000,
            call="PayPremium",
        ),
        Example(
            "insurance.health.register",
            {"plan": "family"},
            citizen=ALI,
            expect={"plan": "family"},
            agency_amount=4_200_000,
            call="RegisterHealth",
        ),
    )
    refusals = (
        Refusal("insurance.socialsecurity.history", {}, citizen=ZAHRA, agency_code="NO_RECORD"),
        Refusal(
            "insurance.socialsecurity.premium.pay",
            {"bracket": 3, "months": 2},
            citizen=REZA,
            agency_code="FILE_SUSPENDED",
        ),
        Refusal(
            "insurance.health.register", {"plan": "family"}, REZA, agency_code="FILE_SUSPENDED"
        ),
    )
