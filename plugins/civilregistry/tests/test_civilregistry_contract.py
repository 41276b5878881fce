"""The Civil Registry plugin proved by the gateway's plugin test kit."""

from pishkhan_gateway.testkit import AgencyPluginTests, Example, Refusal

ALI = {"national_code": "0499370899", "birth_date": "1369-05-12", "mobile": "09121234567"}
# has a duplicate request open already (the sandbox's refusal example)
MOHAMMAD = {"national_code": "4032152314", "birth_date": "1355-12-20", "mobile": "09121112233"}


class TestCivilRegistry(AgencyPluginTests):
    plugin = "civilregistry"
    examples = (
        Example(
            "civilregistry.identity.verify",
            {"birth_date": "1369-05-12"},
            citizen={"national_code": ALI["national_code"]},
            expect={"matched": True, "alive": True, "last_name": "رضایی"},
        ),
        Example(
            "civilregistry.identity.verify",
            {"birth_date": "1369-05-13"},
            citizen={"national_code": ALI["national_code"]},
            expect={"matched": False},
        ),
        Example(
            "civilregistry.birth_certificate.duplicate",
            {"reason": "lost"},
            citizen=ALI,
            agency_amount=300_000,
            call="Duplicate",
        ),
    )
    refusals = (
        Refusal(
            "civilregistry.birth_certificate.duplicate",
            {"reason": "lost"},
            citizen=MOHAMMAD,
            agency_code="ALREADY_REQUESTED",
        ),
    )
