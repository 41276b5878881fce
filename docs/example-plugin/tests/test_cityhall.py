from pishkhan_gateway.testkit import AgencyPluginTests, Example, Invalid, Refusal

CITIZEN = {"national_code": "0499370899"}


class TestCityHall(AgencyPluginTests):
    plugin = "cityhall"
    examples = (
        Example("cityhall.permit.status", {"permit_no": "100001"}, CITIZEN, {"status": "valid"}),
        Example(
            "cityhall.permit.renew",
            {"permit_no": "100002"},
            CITIZEN,
            {"expires": "1406-12-29"},
            agency_amount=500_000,
            call="renewals",
        ),
    )
    refusals = (
        Refusal("cityhall.permit.status", {"permit_no": "999999"}, CITIZEN, "NO_PERMIT"),
        Refusal("cityhall.permit.renew", {"permit_no": "999999"}, CITIZEN, "NO_PERMIT"),
    )
    invalid = (Invalid("cityhall.permit.renew", {"permit_no": "12"}, CITIZEN, "permit_no"),)
