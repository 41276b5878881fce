"""``POST /v1/otp``: the one-time-code request, a step of its own ahead of the transaction it
unlocks, taking only the parts it needs (``CodeParts``), not the whole gateway."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
from pishkhan_gateway.errors import GatewayError, InvalidRequest, UnknownService
from pishkhan_gateway.pipeline.identity import IdentityCache, citizen_pseudonym, verify_before_otp
from pishkhan_gateway.pipeline.otp import OneTimeCodes
from pishkhan_gateway.pipeline.quotas import Quotas
from pishkhan_gateway.pipeline.request import CitizenInput, parse_json
from pishkhan_gateway.plugins.door import Plugins
from pishkhan_gateway.registry import offices
from pishkhan_gateway.registry.offices import OfficeView
from pishkhan_gateway.sdk.values import AgencyContext
from pishkhan_gateway.store import Store


@dataclass(frozen=True)
class CodeParts:
    """What a code request reads and writes: the record, the pseudonyms, the office's quota, the
    plugins and agencies that verify and text the citizen, the identity cache and the codes."""

    store: Store
    pseudonyms: Pseudonymizer
    quotas: Quotas
    plugins: Plugins
    agencies: Mapping[str, AgencyContext]
    identity_cache: IdentityCache
    otps: OneTimeCodes


def request_code(
    office: OfficeView,
    *,
    operator: str | None,
    content_type: str | None,
    body: bytes,
    parts: CodeParts,
) -> dict[str, Any]:
    """``POST /v1/otp``: the operator and licence, the office's quota, the body (``service``,
    ``citizen``), the citizen verified to level 2 with the mobile's ownership checked, then a code
    sent to it.

    Every attempt past the operator and licence (refusals by those are recorded as
    ``access_denied``) is recorded in the log as an ``otp_request`` entry — outcome, code,
    service and the citizen's pseudonym, like the same check inside a transaction — so the
    identity checks behind a code are no unlogged oracle over citizens' data.
    """
    pseudonym = offices.authenticate_operator(parts.store, parts.pseudonyms, office, operator)
    offices.check_licence(office)
    entry: dict[str, Any] = {
        "type": "otp_request",
        "office": office.id,
        "operator": pseudonym,
        "service": None,
        "citizen": None,
    }
    try:
        parts.quotas.take(office.id, pseudonym)
        parsed = parse_json(content_type, body, "transaction-request")
        given = CitizenInput.from_json(parsed.get("citizen"))
        entry["citizen"] = citizen_pseudonym(given, parts.pseudonyms)
        service = parts.plugins.service(parsed["service"])
        if service is None:
            raise UnknownService(f"no service {parsed['service']!r}; see GET /v1/services")
        entry["service"] = service.service.id
        if service.service.identity_level < 3:
            raise InvalidRequest("this service does not need a one-time code", field="service")
        agencies = parts.agencies
        citizen = verify_before_otp(
            level=3,
            citizen=given,
            plugins=parts.plugins,
            agencies=agencies,
            cache=parts.identity_cache,
        )
        sent = parts.otps.send(
            office_id=office.id,
            service_id=service.service.id,
            service_title_fa=service.service.title_fa,
            citizen=citizen,
            agencies=agencies,
        )
    except GatewayError as exc:
        record_event(parts.store, {**entry, "outcome": exc.outcome, "code": exc.code})
        raise
    sent["log_index"] = record_event(parts.store, {**entry, "outcome": "succeeded", "code": None})
    return sent
