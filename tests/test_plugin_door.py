"""The one door to plugins: a plugin broken in any hook — raising, returning the wrong type, or
float money — yields a coded, recorded refusal or failure, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conftest import CITIZEN, make_app, open_counter
from pishkhan_gateway import Agency, AgencyRejected, Result, Service, hookimpl
from pishkhan_gateway.plugins.manager import load_plugins
from pishkhan_gateway.sdk.values import AgencyContext
from pishkhan_gateway.store.tables import LogEntry, Transaction

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}}


def _raise():
    raise RuntimeError("a bug in the plugin")


# How a hook can break: what it does instead of its job.
RAISES = _raise
WRONG_TYPE = "wrong type"
FLOAT = 1000.5


class Broken:
    """An agency whose plugin is broken in exactly one hook (``hook``: ``how``); its identity
    hooks otherwise pass (None: ask the next provider, the reference Civil Registry)."""

    def __init__(self, hook: str, how):
        self.hook, self.how = hook, how

    def _broken(self, hook: str, fine):
        if hook != self.hook:
            return fine() if callable(fine) else fine
        return self.how() if callable(self.how) else self.how

    @hookimpl
    def pishkhan_agencies(self):
        return [Agency(name="broken", title_fa="شکسته", title_en="Broken")]

    @hookimpl
    def pishkhan_services(self):
        return [
            Service("broken.look", "broken", "نگاه", "Look", 0, "inquiry", SCHEMA),
            Service("broken.pay", "broken", "پرداخت", "Pay", 1, "payment", SCHEMA),
        ]

    @hookimpl
    def pishkhan_check_params(self, service, params):
        return self._broken("pishkhan_check_params", None)

    @hookimpl
    def pishkhan_quote(self, service, params, agency):
        return self._broken("pishkhan_quote", 0)

    @hookimpl
    def pishkhan_execute(self, service, params, citizen, agency, transaction_id):
        return self._broken("pishkhan_execute", lambda: Result(data={"n": 1}, reference="B1"))

    @hookimpl
    def pishkhan_reconcile(self, service, transaction_id, agency):
        return self._broken("pishkhan_reconcile", None)

    @hookimpl
    def pishkhan_identity_lookup(self, national_code, agencies):
        return self._broken("pishkhan_identity_lookup", None)

    @hookimpl
    def pishkhan_mobile_owner(self, mobile, national_code, agencies):
        return self._broken("pishkhan_mobile_owner", None)

    @hookimpl
    def pishkhan_send_sms(self, mobile, text, agencies):
        return self._broken("pishkhan_send_sms", None)

    @hookimpl
    def pishkhan_health(self, agency):
        return self._broken("pishkhan_health", {"ok": True})


def _gateway(db_url, tmp_path, sandboxes, hook, how):
    app = make_app(db_url, tmp_path, load_plugins(extra=[("broken", Broken(hook, how))]), sandboxes)
    return app, open_counter(app.extensions["pishkhan"], "office-1")


def _recorded(gw, transaction_id):
    with gw.store.read() as session:
        row = session.get(Transaction, transaction_id)
        entries = session.scalar(select(func.count()).select_from(LogEntry))
    return row, entries


L2_CITIZEN = {"national_code": CITIZEN, "birth_date": "1369-05-12"}

# (hook, how it breaks, service, citizen) → (HTTP status, code, recorded outcome)
TRANSACTION_CASES = [
    ("pishkhan_check_params", RAISES, "broken.look", {}, 502, "agency_error", "failed"),
    ("pishkhan_check_params", WRONG_TYPE, "broken.look", {}, 502, "agency_error", "failed"),
    ("pishkhan_quote", RAISES, "broken.look", {}, 502, "agency_error", "failed"),
    ("pishkhan_quote", WRONG_TYPE, "broken.look", {}, 502, "agency_error", "failed"),
    ("pishkhan_quote", FLOAT, "broken.look", {}, 502, "agency_error", "failed"),
    ("pishkhan_execute", RAISES, "broken.look", {}, 502, "agency_error", "failed"),
    ("pishkhan_execute", WRONG_TYPE, "broken.look", {}, 502, "agency_error", "failed"),
    ("pishkhan_execute", lambda: Result(data={"n": 1.5}), "broken.look", {}, 502, "agency_error",
     "failed"),
    # a payment's plugin may have acted before it broke: unknown, reconciled, never retried
    ("pishkhan_execute", RAISES, "broken.pay", {"national_code": CITIZEN}, 504, "agency_timeout",
     "unknown"),
    ("pishkhan_execute", WRONG_TYPE, "broken.pay", {"national_code": CITIZEN}, 504,
     "agency_timeout", "unknown"),
    ("pishkhan_identity_lookup", RAISES, "insurance.socialsecurity.history", L2_CITIZEN, 503,
     "identity_unavailable", "failed"),
    ("pishkhan_identity_lookup", WRONG_TYPE, "insurance.socialsecurity.history", L2_CITIZEN, 503,
     "identity_unavailable", "failed"),
    ("pishkhan_mobile_owner", RAISES, "telecom.mobile.sim.replace",
     {**L2_CITIZEN, "mobile": "09121234567", "otp": "123456"}, 503, "identity_unavailable",
     "failed"),
    ("pishkhan_mobile_owner", WRONG_TYPE, "telecom.mobile.sim.replace",
     {**L2_CITIZEN, "mobile": "09121234567", "otp": "123456"}, 503, "identity_unavailable",
     "failed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("hook", "how", "service", "citizen", "status", "code", "outcome"), TRANSACTION_CASES
)
def test_a_broken_plugin_is_a_recorded_coded_error_never_a_500(
    db_url, tmp_path, sandboxes, sandbox, hook, how, service, citizen, status, code, outcome
):
    app, counter = _gateway(db_url, tmp_path, sandboxes, hook, how)
    gw = app.extensions["pishkhan"]
    params = {"telecom": {"reason": "lost"}, "insurance": {}}.get(service.split(".")[0], {"n": 1})
    reply = app.test_client().post(
        "/v1/transactions",
        headers=counter.headers(),
        json={"service": service, "citizen": citizen, "params": params},
    )
    problem = reply.get_json()
    assert (reply.status_code, problem["code"], problem["outcome"]) == (status, code, outcome)
    assert problem["message_fa"]
    row, entries = _recorded(gw, problem["transaction_id"])
    assert (row.outcome, row.code, row.log_index) == (outcome, code, problem["log_index"])
    assert entries == problem["log_index"] + 1


def test_a_broken_sms_plugin_is_a_coded_error_never_a_500(db_url, tmp_path, sandboxes, sandbox):
    app, counter = _gateway(db_url, tmp_path, sandboxes, "pishkhan_send_sms", RAISES)
    reply = app.test_client().post(
        "/v1/otp",
        headers=counter.headers(),
        json={
            "service": "telecom.mobile.sim.replace",
            "citizen": {**L2_CITIZEN, "mobile": "09121234567"},
        },
    )
    assert reply.status_code == 503 and reply.get_json()["code"] == "identity_unavailable"


def test_a_broken_reconcile_leaves_the_transaction_unknown(db_url, tmp_path, sandboxes, sandbox):
    app, counter = _gateway(db_url, tmp_path, sandboxes, "pishkhan_execute", RAISES)
    client = app.test_client()
    body = {"service": "broken.pay", "citizen": {"national_code": CITIZEN}, "params": {"n": 1}}
    unknown = client.post("/v1/transactions", headers=counter.headers(), json=body).get_json()
    assert unknown["outcome"] == "unknown"
    gw = app.extensions["pishkhan"]
    gw.plugins.pm.get_plugin("broken").hook = "pishkhan_reconcile"
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert "RuntimeError" in result.output
    row, _ = _recorded(gw, unknown["transaction_id"])
    assert row.settled_outcome is None


def _refuses(code):
    def refuse():
        raise AgencyRejected("refused", agency_code=code)

    return refuse


@pytest.mark.parametrize(
    ("code", "settled"), [("FORBIDDEN", None), (None, None), ("NOT_FOUND", "not_applied")]
)
def test_only_a_declared_not_found_code_settles_not_applied(
    db_url, tmp_path, sandboxes, sandbox, code, settled
):
    """A reconcile refused with a code the agency does not declare as "never seen" (an auth
    error, a proxy's 404) proves nothing: the payment stays unknown."""
    app, counter = _gateway(db_url, tmp_path, sandboxes, "pishkhan_execute", RAISES)
    body = {"service": "broken.pay", "citizen": {"national_code": CITIZEN}, "params": {"n": 1}}
    unknown = app.test_client().post("/v1/transactions", headers=counter.headers(), json=body)
    gw = app.extensions["pishkhan"]
    broken = gw.plugins.pm.get_plugin("broken")
    broken.hook, broken.how = "pishkhan_reconcile", _refuses(code)
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    row, _ = _recorded(gw, unknown.get_json()["transaction_id"])
    assert row.settled_outcome == settled
    if settled is None:
        assert "proves it never applied" in result.output


@pytest.mark.parametrize("how", [RAISES, WRONG_TYPE])
def test_a_broken_health_hook_reports_not_ok(tmp_path, sandboxes, how):
    plugins = load_plugins(extra=[("broken", Broken("pishkhan_health", how))])
    health = plugins.health(agency=AgencyContext(name="broken", url=None, timeout=1.0))
    assert health["ok"] is False and "pishkhan_health" in health["error"]


@pytest.mark.parametrize("hook", ["pishkhan_agencies", "pishkhan_services"])
@pytest.mark.parametrize("how", [RAISES, WRONG_TYPE])
def test_a_broken_declaration_leaves_the_plugin_out(hook, how):
    class Declares(Broken):
        @hookimpl
        def pishkhan_agencies(self):
            return self._broken("pishkhan_agencies", super().pishkhan_agencies)

        @hookimpl
        def pishkhan_services(self):
            return self._broken("pishkhan_services", super().pishkhan_services)

    plugins = load_plugins(extra=[("broken", Declares(hook, how))])
    assert "broken.look" not in plugins.services
    assert [p.plugin for p in plugins.problems] == ["broken"]
    assert plugins.service("postbank.bill.pay") is not None  # the others load
