"""What an office may sell today and what it may charge: the catalog and the tariff board (the
cap for the office's category and province, and on whose word: ``tariffs.FeeRule``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from pishkhan_gateway.jalali import format_moment
from pishkhan_gateway.plugins.door import Plugins
from pishkhan_gateway.pricing.tariffs import Tariffs
from pishkhan_gateway.registry.offices import OfficeView

CATEGORY_FA = {
    "metropolis": "کلان‌شهر",
    "province_center": "مرکز استان",
    "city_large": "شهر بزرگ",
    "city": "شهر",
    "village": "روستا",
}


class Refusals(Protocol):
    """The entitlement rules as the catalog asks them (``pipeline.entitlements``)."""

    def refusal(self, office: OfficeView, service_id: str) -> object | None:
        """The rule that keeps ``office`` from selling ``service_id``, or None."""


class Offerings(Protocol):
    """What the catalog needs of the app (the ``Gateway`` has it)."""

    plugins: Plugins
    tariffs: Tariffs
    entitlements: Refusals


def catalog(gw: Offerings, office: OfficeView, at: dt.datetime) -> dict[str, Any]:
    """Every installed service with this office's fee cap at ``at``, and the schedule used."""
    schedule = gw.tariffs.in_force(at)
    services = []
    for registered in gw.plugins.catalog():
        service = registered.service
        if gw.entitlements.refusal(office, service.id) is not None:
            continue  # not this office's to sell (the regulator's or its province's rule)
        agency = gw.plugins.agencies[service.agency]
        rule = gw.tariffs.rule(service.id, office.category, office.province, at)
        services.append(
            {
                "id": service.id,
                "agency": service.agency,
                "agency_title_fa": agency.title_fa,
                "agency_title_en": agency.title_en,
                "title_fa": service.title_fa,
                "title_en": service.title_en,
                "kind": service.kind,
                "identity_level": service.identity_level,
                "registry_id": service.registry_id,
                "params_schema": service.params_schema,
                "fee_cap": rule.cap,
                "priced_by": rule.priced_by,
            }
        )
    return {
        "office": {
            "id": office.id,
            "name": office.name,
            "category": office.category,
            "category_fa": CATEGORY_FA.get(office.category, office.category),
        },
        "schedule": (
            {
                "name": schedule.name,
                "effective_jalali": schedule.effective_jalali,
                "effective_at": schedule.effective_at.isoformat(),
            }
            if schedule
            else None
        ),
        "services": services,
        "printed_jalali": format_moment(at),
    }
