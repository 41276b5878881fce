"""What an approved request changes: a renewal extends the licence five years from its old
expiry and records the renewal fee in force; a transfer names the new holder and ends the old
holder's credentials and operators; a relocation moves the office — city, address, location
category — on its effective day (until then ``moves_on`` and the ``next_*`` fields hold it, and
the tariff step reads the category of the transaction's day)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from pishkhan_gateway.errors import InvalidRequest, WrongState
from pishkhan_gateway.jalali import format_date, parse_date
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.pricing import licencefees
from pishkhan_gateway.registry.offices import LICENCE_YEARS, today, years_later
from pishkhan_gateway.store.tables import Office, OfficeCredential, Operator


def apply(
    session: Any,
    office: Office,
    kind: str,
    details: dict[str, Any],
    effective: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """Apply an approved request of ``kind`` to ``office`` inside ``session``'s transaction;
    return what changed, for the log entry and the answer."""
    if kind == "renewal":
        schedule = licencefees.in_force(session, now)
        if schedule is None:
            raise WrongState(
                "no licence fee schedule is in force: load one first "
                "(pishkhan-gateway licences fees load FILE)"
            )
        category = _category_now(office)
        old = office.expires_on
        office.expires_on = years_later(old, LICENCE_YEARS)
        return {
            "expires_on_before": old.isoformat(),
            "expires_on": office.expires_on.isoformat(),
            "renewal_fee": schedule.renewal_fee(category),
            "licence_fee": schedule.licence_fee(category),
            "category": category,
            "fee_schedule": schedule.name,
        }
    if kind == "transfer":
        before = office.holder
        office.holder = details["holder"]
        ended = session.execute(
            update(OfficeCredential)
            .where(OfficeCredential.office_id == office.id, OfficeCredential.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        operators = session.execute(
            update(Operator)
            .where(Operator.office_id == office.id, Operator.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        return {
            "holder_before": redact_text(before or ""),
            "holder": details["holder"],
            "credentials_revoked": ended,
            "operators_revoked": operators,
        }
    day = _effective_day(effective)
    _settle_move(office)
    before = {"city": office.city, "category": office.category}
    if day <= today():
        office.city, office.address, office.category = (
            details["city"],
            details["address"],
            details["category"],
        )
        office.moves_on = office.next_city = office.next_category = office.next_address = None
    else:
        office.moves_on = day
        office.next_city, office.next_address, office.next_category = (
            details["city"],
            details["address"],
            details["category"],
        )
    return {
        "effective": day.isoformat(),
        "effective_jalali": format_date(day, "-"),
        "city_before": before["city"],
        "category_before": before["category"],
        **details,
    }


def _effective_day(effective: str | None) -> dt.date:
    if effective in (None, ""):
        return today()
    try:
        return parse_date(effective, gregorian_too=True)
    except ValueError as exc:
        raise InvalidRequest(f"effective: {exc}", field="effective") from None


def _category_now(office: Office) -> str:
    if office.moves_on is not None and office.next_category and today() >= office.moves_on:
        return office.next_category
    return office.category


def _settle_move(office: Office) -> None:
    """Fold a relocation whose day has come into the office's own fields."""
    if office.moves_on is not None and today() >= office.moves_on:
        office.city = office.next_city or office.city
        office.address = office.next_address or office.address
        office.category = office.next_category or office.category
        office.moves_on = office.next_city = office.next_category = office.next_address = None
