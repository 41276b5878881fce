"""The four reference agencies: all nine services of DESIGN.md §3 through POST /v1/transactions
against their sandboxes, identity levels 2 and 3 through the Civil Registry and telecom plugins,
and each agency's own refusals mapped to ``agency_rejected`` with the agency's code."""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import BILL, CITIZEN
from pishkhan_gateway.sdk.sandboxkit import Sandbox, SoapSandbox
from pishkhan_gateway.testkit import FAULT_OUTCOMES

BIRTH_DATE = "1369-05-12"
MOBILE = "09121234567"
FULL_CITIZEN = {"national_code": CITIZEN, "birth_date": BIRTH_DATE, "mobile": MOBILE}

# service → (params, agency amount, a field and value the result must carry)
NINE = {
    "civilregistry.identity.verify": ({"birth_date": BIRTH_DATE}, 0, ("first_name", "علی")),
    "civilregistry.birth_certificate.duplicate": ({"reason": "lost"}, 300_000, None),
    "postbank.bill.inquiry": (BILL, 0, ("amount", 120_000)),
    "postbank.bill.pay": (BILL, 120_000, ("amount", 120_000)),
    "telecom.landline.bill.inquiry": ({"number": "02188776655"}, 0, ("debt", 245_000)),
    "telecom.mobile.sim.replace": ({"reason": "lost"}, 200_000, ("mobile_tail", "4567")),
    "insurance.socialsecurity.history": ({}, 0, ("total_months", 172)),
    "insurance.socialsecurity.premium.pay": ({"bracket": 2, "months": 3}, 4_950_000, None),
    "insurance.health.register": ({"plan": "individual"}, 1_800_000, ("plan", "individual")),
}


def send_otp(client: Any, counter: Any, sandbox: Any, service: str, citizen: dict) -> str:
    """Ask for a code and read it from the telecom sandbox's SMS outbox."""
    reply = client.post(
        "/v1/otp", json={"service": service, "citizen": citizen}, headers=counter.headers()
    )
    assert reply.status_code == 202, reply.get_json()
    assert reply.get_json()["mobile"] == citizen["mobile"][:4] + "***" + citizen["mobile"][-4:]
    text = sandbox.state("telecom")["outbox"][-1]["text"]
    return re.search(r"[0-9]{6}", text).group(0)


def transact(client: Any, counter: Any, service: str, params: dict, citizen: dict, **kw: Any):
    body = {"service": service, "citizen": citizen, "params": params, "office_fee": 0}
    return client.post("/v1/transactions", json=body, headers=counter.headers(**kw))


@pytest.mark.parametrize("service", list(NINE))
def test_every_reference_service_succeeds(client, counter, sandbox, gw, service):
    params, amount, expected = NINE[service]
    citizen = dict(FULL_CITIZEN)
    if gw.plugins.service(service).service.identity_level == 3:
        citizen["otp"] = send_otp(client, counter, sandbox, service, FULL_CITIZEN)
    reply = transact(client, counter, service, params, citizen)
    body = reply.get_json()
    assert reply.status_code == 201, body
    assert body["agency_amount"] == amount
    assert body["total"] == amount
    if expected:
        assert body["result"][expected[0]] == expected[1]
    fetched = client.get(f"/v1/transactions/{body['transaction_id']}", headers=counter.headers())
    assert fetched.get_json()["status"] == "succeeded"


def test_catalog_lists_all_nine(client, counter):
    catalog = client.get("/v1/services", headers=counter.headers()).get_json()["services"]
    listed = {s["id"] for s in catalog}
    assert set(NINE) <= listed


@pytest.mark.parametrize(
    "citizen, code",
    [
        ({"national_code": CITIZEN, "birth_date": "1369-05-13"}, "identity_mismatch"),
        ({"national_code": "0650451252", "birth_date": BIRTH_DATE}, "identity_mismatch"),
        ({"national_code": "0963695398", "birth_date": "1340-07-15"}, "citizen_deceased"),
        ({"national_code": "0499370898", "birth_date": BIRTH_DATE}, "invalid_national_code"),
    ],
)
def test_level_two_refusals_come_from_the_registry(client, counter, citizen, code):
    reply = transact(client, counter, "insurance.socialsecurity.history", {}, citizen)
    assert reply.status_code == 422
    assert reply.get_json()["code"] == code
    assert reply.get_json()["transaction_id"]


def test_registry_outage_fails_closed(client, counter, sandbox, gw):
    gw.dispatcher.inquiry_retries = 0
    sandbox.faults("civilregistry", mode="http503")
    reply = transact(client, counter, "insurance.socialsecurity.history", {}, FULL_CITIZEN)
    assert reply.status_code == 503
    assert reply.get_json()["code"] == "identity_unavailable"
    assert sandbox.state("insurance")["calls"] == {}


SIM = "telecom.mobile.sim.replace"


def test_level_three_needs_an_owned_mobile_and_a_fresh_code(client, counter, sandbox):
    not_owned = dict(FULL_CITIZEN, mobile="09122223344")
    reply = client.post(
        "/v1/otp", json={"service": SIM, "citizen": not_owned}, headers=counter.headers()
    )
    assert reply.get_json()["code"] == "mobile_not_owned"
    assert sandbox.state("telecom")["outbox"] == []

    reply = transact(client, counter, SIM, {"reason": "lost"}, FULL_CITIZEN)
    assert reply.get_json()["code"] == "otp_required"
    reply = transact(client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp="123456"))
    assert reply.get_json()["code"] == "otp_invalid"  # none was sent

    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    reply = transact(client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=wrong))
    assert reply.get_json()["code"] == "otp_invalid"
    # the code is bound to its service: it does not open another level-3 service
    other = "civilregistry.birth_certificate.duplicate"
    reply = transact(client, counter, other, {"reason": "lost"}, dict(FULL_CITIZEN, otp=code))
    assert reply.get_json()["code"] == "otp_invalid"
    reply = transact(client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=code))
    assert reply.status_code == 201, reply.get_json()
    # a used code is dead (a replayed OTP is refused)
    reply = transact(client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=code))
    assert reply.get_json()["code"] == "otp_invalid"


def test_a_code_dies_after_three_wrong_tries(client, counter, sandbox):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(3):
        reply = transact(client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=wrong))
        assert reply.get_json()["code"] == "otp_invalid"
    reply = transact(client, counter, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=code))
    assert reply.get_json()["code"] == "otp_invalid"
    assert "too many" in reply.get_json()["detail"]


def test_codes_are_bound_to_the_office(client, counter, sandbox, gw):
    from conftest import OTHER_OPERATOR, open_counter

    other = open_counter(gw, "office-2", operator=OTHER_OPERATOR)
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    reply = transact(client, other, SIM, {"reason": "lost"}, dict(FULL_CITIZEN, otp=code))
    assert reply.get_json()["code"] == "otp_invalid"


def test_an_idempotent_retry_replays_instead_of_burning_the_code(client, counter, sandbox):
    code = send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    citizen = dict(FULL_CITIZEN, otp=code)
    first = transact(client, counter, SIM, {"reason": "lost"}, citizen, key="sim-1")
    again = transact(client, counter, SIM, {"reason": "lost"}, citizen, key="sim-1")
    assert first.status_code == again.status_code == 201
    assert first.data == again.data
    assert sandbox.state("telecom")["calls"]["replace"] == 1


def test_codes_are_rate_limited_per_mobile(client, counter, sandbox):
    for _ in range(3):
        send_otp(client, counter, sandbox, SIM, FULL_CITIZEN)
    reply = client.post(
        "/v1/otp", json={"service": SIM, "citizen": FULL_CITIZEN}, headers=counter.headers()
    )
    assert reply.status_code == 429
    assert reply.get_json()["code"] == "otp_rate_limited"
    assert int(reply.headers["Retry-After"]) > 0


def test_otp_is_only_for_level_three_services(client, counter):
    reply = client.post(
        "/v1/otp",
        json={"service": "postbank.bill.pay", "citizen": FULL_CITIZEN},
        headers=counter.headers(),
    )
    assert reply.status_code == 400
    assert reply.get_json()["field"] == "service"


@pytest.mark.parametrize(
    "service, params, agency, agency_code",
    [
        ("telecom.landline.bill.inquiry", {"number": "02111111111"}, "telecom", "NOT_FOUND"),
        ("insurance.socialsecurity.history", {}, "insurance", "NO_RECORD"),
    ],
)
def test_agency_refusals_carry_the_agency_code(
    client, counter, service, params, agency, agency_code
):
    citizen = {"national_code": "0684159414", "birth_date": "1378-09-09"}
    reply = transact(client, counter, service, params, citizen)
    body = reply.get_json()
    assert reply.status_code == 422, body
    assert body["code"] == "agency_rejected"
    assert body["agency_code"] == agency_code


# -- faults at every reference agency ------------------------------------------------------------

# agency → (inquiry service, params), (request/payment service, params, the call to break)
FAULTED = {
    "civilregistry": (
        ("civilregistry.identity.verify", {"birth_date": BIRTH_DATE}),
        ("civilregistry.birth_certificate.duplicate", {"reason": "lost"}, "Duplicate"),
    ),
    "telecom": (
        ("telecom.landline.bill.inquiry", {"number": "02188776655"}),
        ("telecom.mobile.sim.replace", {"reason": "lost"}, "sim-replacements"),
    ),
    "insurance": (
        ("insurance.socialsecurity.history", {}),
        ("insurance.socialsecurity.premium.pay", {"bracket": 1, "months": 1}, "PayPremium"),
    ),
}
# fault → (inquiry code and outcome, payment/request code and outcome): the documented table
EXPECTED = FAULT_OUTCOMES
SOAP_ONLY = set(SoapSandbox.MODES) - set(Sandbox.MODES)  # telecom is REST
CASES = [
    (agency, fault, kind)
    for agency in FAULTED
    for fault in EXPECTED
    if agency != "telecom" or fault not in SOAP_ONLY
    for kind in ("inquiry", "change")
]


def _prepared(client, counter, sandbox, gw, service: str) -> dict:
    citizen = dict(FULL_CITIZEN)
    if gw.plugins.service(service).service.identity_level == 3:
        citizen["otp"] = send_otp(client, counter, sandbox, service, FULL_CITIZEN)
    return citizen


@pytest.mark.parametrize("agency, fault, kind", CASES)
def test_fault_knobs_at_every_agency(app, client, counter, sandbox, gw, agency, fault, kind):
    app.config["AGENCIES"][agency]["timeout"] = "0.5"
    gw.dispatcher.inquiry_retries = 0
    inquiry, change = FAULTED[agency]
    service, params = inquiry if kind == "inquiry" else change[:2]
    citizen = _prepared(client, counter, sandbox, gw, service)
    only = None if kind == "inquiry" else change[2]
    sandbox.faults(agency, mode=fault, hang_seconds=1.5, times=1, only=only)
    problem = transact(client, counter, service, params, citizen).get_json()
    code, outcome = EXPECTED[fault][0 if kind == "inquiry" else 1]
    assert (problem["code"], problem["outcome"]) == (code, outcome), problem
    recorded = client.get(
        f"/v1/transactions/{problem['transaction_id']}", headers=counter.headers()
    )
    assert recorded.get_json()["recorded_status"] == outcome


@pytest.mark.parametrize("agency", list(FAULTED))
def test_a_change_cut_off_after_the_agency_applied_it_is_reconciled_once(
    client, counter, sandbox, gw, runner, agency
):
    service, params, call = FAULTED[agency][1]
    citizen = _prepared(client, counter, sandbox, gw, service)
    sandbox.faults(agency, mode="drop_after_apply", times=1, only=call)
    problem = transact(client, counter, service, params, citizen, key="once").get_json()
    assert problem["outcome"] == "unknown", problem
    result = runner.invoke(args=["reconcile"])
    assert f"{problem['transaction_id']}\tsucceeded" in result.stdout, result.stderr
    settled = client.get(
        f"/v1/transactions/{problem['transaction_id']}", headers=counter.headers()
    ).get_json()
    assert settled["status"] == "succeeded"
    assert settled["receipt"]["agency_reference"]
    # the key replays the first answer; the agency acted exactly once
    replay = transact(client, counter, service, params, citizen, key="once")
    assert replay.get_json()["transaction_id"] == problem["transaction_id"]
    assert "0 settled, 0 still unknown" in runner.invoke(args=["reconcile"]).stderr


def test_a_change_the_agency_never_received_is_settled_as_not_applied(
    client, counter, sandbox, gw, runner
):
    service, params, call = FAULTED["insurance"][1]
    sandbox.faults("insurance", mode="http500", times=1, only=call)
    problem = transact(client, counter, service, params, FULL_CITIZEN).get_json()
    assert problem["outcome"] == "unknown"
    result = runner.invoke(args=["reconcile"])
    assert f"{problem['transaction_id']}\tnot_applied" in result.stdout, result.stdout
    assert sandbox.state("insurance")["transactions"] == {}


def test_one_counter_visit_asks_the_registry_once(client, counter, sandbox):
    for service in ("insurance.socialsecurity.history", "insurance.health.register"):
        params = NINE[service][0]
        assert transact(client, counter, service, params, FULL_CITIZEN).status_code == 201
    assert sandbox.state("civilregistry")["calls"]["GetPerson"] == 1
    # a refusal is not cached: a wrong birth date is checked against the record, never trusted
    wrong = dict(FULL_CITIZEN, birth_date="1369-05-13")
    reply = transact(client, counter, "insurance.socialsecurity.history", {}, wrong)
    assert reply.get_json()["code"] == "identity_mismatch"


def test_identity_cache_can_be_turned_off(client, counter, sandbox, gw):
    from pishkhan_gateway.pipeline.identity import IdentityCache

    gw.identity_cache = IdentityCache(0, gw.pseudonyms)
    for _ in range(2):
        reply = transact(client, counter, "insurance.socialsecurity.history", {}, FULL_CITIZEN)
        assert reply.status_code == 201
    assert sandbox.state("civilregistry")["calls"]["GetPerson"] == 2


# -- operators -----------------------------------------------------------------------------------

OPERATOR_2 = {"national_code": "0084575948", "birth_date": "1372-02-28"}


def test_an_office_registers_operators_matched_at_the_registry(client, counter):
    def register(person):
        return client.post("/v1/operators", json=person, headers=counter.headers())

    assert register(dict(OPERATOR_2, birth_date="1372-02-27")).get_json()["code"] == (
        "identity_mismatch"
    )
    assert register({"national_code": "0963695398", "birth_date": "1340-07-15"}).get_json()[
        "code"
    ] == ("citizen_deceased")
    assert register({"national_code": "0084575948"}).status_code == 400
    assert register(OPERATOR_2).status_code == 201
    listed = client.get("/v1/operators", headers=counter.headers()).get_json()["operators"]
    assert len(listed) == 2 and "0084575948" not in str(listed)
    as_new = {"X-Operator": OPERATOR_2["national_code"]}
    body = {"service": "postbank.bill.inquiry", "params": BILL}
    reply = client.post("/v1/transactions", json=body, headers=counter.headers(**as_new))
    assert reply.status_code == 201
    # revoked: refused on the very next request
    revoke = client.post(
        "/v1/operators/revoke", json={"national_code": "0084575948"}, headers=counter.headers()
    )
    assert revoke.status_code == 200
    reply = client.post("/v1/transactions", json=body, headers=counter.headers(**as_new))
    assert reply.get_json()["code"] == "operator_not_registered"


def test_operators_cli_matches_at_the_registry_when_given_a_birth_date(runner, counter):
    bad = runner.invoke(
        args=["operators", "add", counter.office_id, "0084575948", "--birth-date", "1372-02-27"]
    )
    assert bad.exit_code != 0 and "do not match the Civil Registry" in bad.output
    good = runner.invoke(
        args=["operators", "add", counter.office_id, "0084575948", "--birth-date", "1372-02-28"]
    )
    assert good.exit_code == 0, good.output
    assert "Civil Registry" in good.stderr
    revoked = runner.invoke(args=["operators", "revoke", counter.office_id, "0084575948"])
    assert revoked.exit_code == 0, revoked.output


# -- every identity refusal, through the endpoint, recorded ----------------------------------------

DUPLICATE = "civilregistry.birth_certificate.duplicate"


@pytest.mark.parametrize(
    "citizen, code, status",
    [
        ({"national_code": "0499370898"}, "invalid_national_code", 422),
        (dict(FULL_CITIZEN, birth_date="1369-05-13"), "identity_mismatch", 422),
        ({"national_code": "0963695398", "birth_date": "1340-07-15"}, "citizen_deceased", 422),
        (dict(FULL_CITIZEN, mobile="09122223344"), "mobile_not_owned", 422),
        (FULL_CITIZEN, "otp_required", 401),
        (dict(FULL_CITIZEN, otp="12345x"), "otp_invalid", 401),
    ],
)
def test_each_identity_refusal_is_returned_and_recorded(client, counter, citizen, code, status):
    reply = transact(client, counter, DUPLICATE, {"reason": "lost"}, citizen)
    body = reply.get_json()
    assert (reply.status_code, body["code"]) == (status, code), body
    recorded = client.get(f"/v1/transactions/{body['transaction_id']}", headers=counter.headers())
    assert recorded.get_json()["code"] == code
    assert recorded.get_json()["status"] == "refused"


def test_a_telecom_outage_fails_level_three_closed(client, counter, sandbox, gw):
    sandbox.faults("telecom", mode="http503", only="ownership")
    reply = transact(client, counter, DUPLICATE, {"reason": "lost"}, dict(FULL_CITIZEN, otp="1"))
    assert reply.status_code == 503
    assert reply.get_json()["code"] == "identity_unavailable"
    assert sandbox.state("civilregistry")["calls"]["RequestDuplicateBirthCertificate"] == 0


def test_an_expired_code_is_refused(client, counter, sandbox, gw):
    import datetime as dt

    gw.otps.ttl = dt.timedelta(seconds=-1)  # every code is born expired
    code = send_otp(client, counter, sandbox, DUPLICATE, FULL_CITIZEN)
    reply = transact(client, counter, DUPLICATE, {"reason": "lost"}, dict(FULL_CITIZEN, otp=code))
    assert reply.get_json()["code"] == "otp_invalid"
    assert "expired" in reply.get_json()["detail"]
