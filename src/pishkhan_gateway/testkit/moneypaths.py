"""The kit's money paths: where an adapter that looks right loses or doubles a citizen's money.

Each check runs every payment and request example (``kind`` other than ``inquiry``) through the
kit's gateway and the agency's sandbox:

- **a refusal is given**: every payment and request service has a ``Refusal`` — how the agency
  says no (already paid, not found) is where money goes wrong;
- **the fee at its cap**: the office charges the tariff's cap (``FEE_CAP``) and the total is the
  agency's amount plus it; a rial over is ``tariff_exceeded``, recorded, the agency not asked;
- **charged once**: a retry with the same ``Idempotency-Key`` is answered from the record without
  touching the agency, and the same tracking id sent to the agency again (as after a crash)
  gives the first reference or the agency's refusal, never a second charge;
- **reconcile tells the truth both ways**: after ``drop_after_apply`` (the agency acted, the reply
  was lost) reconcile settles ``succeeded`` with the reference the agency keeps; after an
  ``http500`` (the agency never acted) it settles ``not_applied``;
- **bad params never reach the agency**: each ``Invalid`` and, generated from the contract, each
  example without one of its required parameters is ``invalid_params``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from pishkhan_gateway.errors import AgencyRejected
from pishkhan_gateway.sdk.values import Result
from pishkhan_gateway.testkit.kit import FEE_CAP, Example, Invalid, Kit, Refusal


def _agency(kit: Kit, example: Example | Invalid) -> str:
    return kit.plugins.service(example.service).service.agency


def _unknown_after(kit: Kit, payment: Example, mode: str) -> dict:
    """Run ``payment`` with ``mode`` set on its agency call: the recorded ``unknown`` answer."""
    kit.fault(_agency(kit, payment), mode=mode, times=1, hang_seconds=0, only=payment.call)
    reply = kit.transact(payment.service, payment.params, payment.citizen, key=str(uuid.uuid4()))
    body = reply.get_json()
    assert body.get("outcome") == "unknown", f"{mode} on {payment.call!r} did not leave {body}"
    return body


class MoneyPathChecks:
    """Mixed into ``AgencyPluginTests``; see the module docstring."""

    plugin: str
    examples: Sequence[Example]
    refusals: Sequence[Refusal]

    def test_every_payment_and_request_has_a_refusal(self, pishkhan_kit: Kit) -> None:
        changes = {
            s.service.id
            for s in pishkhan_kit.plugins.catalog()
            if s.plugin == self.plugin and s.service.kind != "inquiry"
        }
        missing = sorted(changes - {r.service for r in self.refusals})
        assert not missing, f"no Refusal for {missing}: show how the agency says no"

    def test_fee_at_its_cap_is_charged_and_a_rial_over_is_refused(
        self, kit: Kit, payment: Example
    ) -> None:
        over = kit.transact(
            payment.service, payment.params, payment.citizen, office_fee=FEE_CAP + 1
        ).get_json()
        assert (over.get("code"), over.get("fee_cap")) == ("tariff_exceeded", FEE_CAP), over
        assert over["transaction_id"], "a refusal is recorded too"
        reply = kit.transact(payment.service, payment.params, payment.citizen, office_fee=FEE_CAP)
        body = reply.get_json()
        assert reply.status_code == 201, body
        amount = body["agency_amount"]
        if payment.agency_amount is not None:
            assert amount == payment.agency_amount, body
        assert (body["office_fee"], body["total"]) == (FEE_CAP, amount + FEE_CAP), body
        assert all(type(body[k]) is int for k in ("agency_amount", "office_fee", "total")), body

    def test_a_payment_is_charged_once(self, kit: Kit, payment: Example) -> None:
        agency, key = _agency(kit, payment), str(uuid.uuid4())
        first = kit.transact(payment.service, payment.params, payment.citizen, key=key)
        body = first.get_json()
        assert first.status_code == 201, body
        books = kit.state(agency)
        replay = kit.resend()
        assert (replay.status_code, replay.get_json()) == (201, body), "a replay differs"
        assert kit.state(agency) == books, "a replayed Idempotency-Key reached the agency"
        again = kit.execute_again(payment, body["transaction_id"])
        if isinstance(again, Result):
            assert again.reference == body["agency_reference"], (
                f"the same tracking id charged again: reference {again.reference!r} after "
                f"{body['agency_reference']!r}; the agency must recognise a tracking id it has "
                "seen (and the plugin must send it)"
            )
        else:
            assert isinstance(again, AgencyRejected), again

    def test_reconcile_finds_what_the_agency_applied(self, kit: Kit, payment: Example) -> None:
        lost = _unknown_after(kit, payment, "drop_after_apply")
        settled = kit.reconcile(lost["transaction_id"])
        assert settled.outcome == "succeeded", f"the agency applied it; reconcile: {settled}"
        receipt = kit.client.get(
            f"/v1/receipts/{lost['transaction_id']}", headers=kit.headers()
        ).get_json()
        reference = receipt.get("agency_reference")
        assert reference, f"settled without the agency's reference: {receipt}"
        books = json.dumps(kit.state(_agency(kit, payment)), ensure_ascii=False)
        assert reference in books, f"reference {reference!r} is not the one the agency keeps"

    def test_reconcile_settles_what_the_agency_never_applied(
        self, kit: Kit, payment: Example
    ) -> None:
        lost = _unknown_after(kit, payment, "http500")
        settled = kit.reconcile(lost["transaction_id"])
        assert settled.outcome == "not_applied", f"the agency never acted; reconcile: {settled}"

    def test_invalid_params_never_reach_the_agency(self, kit: Kit, invalid: Invalid) -> None:
        citizen = kit.with_code(invalid.service, invalid.citizen)
        books = kit.state(_agency(kit, invalid))
        reply = kit.transact(invalid.service, invalid.params, citizen, coded=True)
        body = reply.get_json()
        assert (reply.status_code, body.get("code")) == (422, "invalid_params"), body
        if invalid.field is not None:
            assert body.get("field") == invalid.field, body
        assert body["transaction_id"], "a refusal is recorded too"
        assert kit.state(_agency(kit, invalid)) == books, "invalid params reached the agency"
