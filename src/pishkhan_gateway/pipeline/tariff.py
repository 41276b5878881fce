"""Step 5: the fees. The office's fee within the cap in force for its category and province
(``Tariffs.rule``), then the agency's own amount as the plugin quotes it; all integer rials. For
a service priced by law the cap is 0: the agency's amount is the whole fee.

An office fee above the cap is ``tariff_exceeded``, recorded with the cap it broke (the error
carries ``fee_cap``), before the agency is asked anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.pipeline.dispatch import Dispatcher
from pishkhan_gateway.pipeline.request import TransactionRequest
from pishkhan_gateway.plugins.door import RegisteredService
from pishkhan_gateway.pricing.tariffs import Tariffs, enforce_tariff
from pishkhan_gateway.registry.offices import OfficeView
from pishkhan_gateway.sdk.values import AgencyContext


@dataclass(frozen=True)
class Fees:
    """What the citizen pays: the agency's amount and the office's fee, with the cap."""

    agency_amount: int
    office_fee: int
    fee_cap: int
    priced_by: str = "regulator"  # or province, law (the agency's amount is the whole fee)

    @property
    def total(self) -> int:
        """Agency amount plus office fee."""
        return self.agency_amount + self.office_fee


def price(
    tariffs: Tariffs,
    dispatcher: Dispatcher,
    service: RegisteredService,
    request: TransactionRequest,
    office: OfficeView,
    agency: AgencyContext,
    at: dt.datetime,
) -> Fees:
    """The fees of this transaction at an office of its category, or ``TariffExceeded`` / the
    quote's agency error."""
    rule = enforce_tariff(
        tariffs=tariffs,
        service_id=service.service.id,
        category=office.category_on(at.astimezone(TEHRAN).date()),
        province=office.province,
        office_fee=request.office_fee,
        at=at,
    )
    agency_amount = dispatcher.quote(service=service, params=request.params, agency=agency)
    return Fees(
        agency_amount=agency_amount,
        office_fee=request.office_fee,
        fee_cap=rule.cap,
        priced_by=rule.priced_by,
    )
