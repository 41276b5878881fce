"""The telecom plugin proved by the gateway's plugin test kit."""

from pishkhan_gateway.testkit import AgencyPluginTests, Example, Refusal

ALI = {"national_code": "0499370899", "birth_date": "1369-05-12", "mobile": "09121234567"}
# a replacement for her line is already open at the operator's sales office
ZAHRA = {"national_code": "0684159414", "birth_date": "1378-09-09", "mobile": "09351112233"}


class TestTelecom(AgencyPluginTests):
    plugin = "telecom"
    examples = (
        Example(
            "telecom.landline.bill.inquiry",
            {"number": "02188776655"},
            expect={"debt": 245_000, "period_end": "2026-10-22"},
        ),
        Example(
            "telecom.mobile.sim.replace",
            {"reason": "damaged"},
            citizen=ALI,
            expect={"mobile_tail": "4567"},
            agency_amount=200_000,
            call="sim-replacements",
        ),
    )
    refusals = (
        Refusal(
            "telecom.landline.bill.inquiry", {"number": "02111111111"}, agency_code="NOT_FOUND"
        ),
        Refusal(
            "telecom.mobile.sim.replace",
            {"reason": "lost"},
            citizen=ZAHRA,
            agency_code="ALREADY_REQUESTED",
        ),
    )
