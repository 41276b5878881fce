"""The regulator's licence fees and the yearly fine cap: data in force from a Jalali date.

A schedule (``contracts/licences/*.toml``, validated by ``licence-fees.schema.json``) gives the
fee for a new licence per location category and the most an office may be fined per obligation
(violation type) per Jalali year. Both are indexed each year by the central bank's inflation
figure like tariffs (``licences fees index``). A renewal costs one tenth of the licence fee in
force on the day it is approved (../shared/seeds/000, line 38).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.pricing.tariffs import (
    index_rials,
    inflation_factor,
    jalali_midnight_utc,
    read_data_file,
)
from pishkhan_gateway.schemas import first_error, validator
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import LicenceFeeSchedule

RENEWAL_SHARE = Decimal(1) / Decimal(10)


@dataclass(frozen=True)
class FeeSchedule:
    """A loaded licence fee schedule."""

    name: str
    effective: str  # Jalali
    effective_at: dt.datetime
    document: dict[str, Any]

    def licence_fee(self, category: str) -> int:
        """The fee for a new licence at a location of ``category``, in rials."""
        return int(self.document["licence_fee"][category])

    def renewal_fee(self, category: str) -> int:
        """One tenth of the licence fee, to the rial (half up)."""
        share = Decimal(self.licence_fee(category)) * RENEWAL_SHARE
        return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def fine_cap(self) -> int:
        """The most one office may be fined per obligation per Jalali year, in rials."""
        return int(self.document["fines"]["cap_per_obligation_per_year"])


def read_file(path: str | Path) -> dict[str, Any]:
    """Parse a fee schedule file (TOML or JSON) and validate it."""
    return validate(read_data_file(path))


def validate(document: dict[str, Any]) -> dict[str, Any]:
    """Check a fee schedule against its schema and the calendar; return it unchanged."""
    error = first_error(validator("licence-fees"), document)
    if error is not None:
        where, message = error
        raise InvalidRequest(f"licence fee schedule invalid at {where}: {message}", field=where)
    amounts = [*document["licence_fee"].values(), *document["fines"].values()]
    if any(type(amount) is not int for amount in amounts):
        raise InvalidRequest("licence fees and fine caps are integer rials")
    try:
        jalali_midnight_utc(document["effective"])
    except ValueError as exc:
        raise InvalidRequest(f"effective is not a Jalali date: {exc}", field="effective") from exc
    return document


def load(store: Store, document: dict[str, Any]) -> FeeSchedule:
    """Validate and store a schedule; a second one for the same day is refused."""
    validate(document)
    effective_at = jalali_midnight_utc(document["effective"])
    with store.write() as session:
        clash = session.scalar(
            select(LicenceFeeSchedule.name).where(LicenceFeeSchedule.effective_at == effective_at)
        )
        if clash is not None:
            raise InvalidRequest(
                f"a licence fee schedule effective {document['effective']} is loaded: {clash}",
                field="effective",
            )
        session.add(
            LicenceFeeSchedule(
                name=document["name"],
                effective_at=effective_at,
                document=json.dumps(document, ensure_ascii=False, sort_keys=True),
                loaded_at=utcnow(),
            )
        )
    return FeeSchedule(document["name"], document["effective"], effective_at, document)


def schedules(store: Store) -> list[FeeSchedule]:
    """Every loaded schedule, oldest first."""
    with store.read() as session:
        return schedules_in(session)


def schedules_in(session: Session) -> list[FeeSchedule]:
    """Every loaded schedule, oldest first, read in ``session``'s transaction."""
    rows = session.scalars(
        select(LicenceFeeSchedule).order_by(LicenceFeeSchedule.effective_at)
    ).all()
    out = []
    for row in rows:
        document = json.loads(row.document)
        at = row.effective_at
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
        out.append(FeeSchedule(row.name, document["effective"], at, document))
    return out


def in_force(session: Session, at: dt.datetime) -> FeeSchedule | None:
    """The schedule in force at ``at`` (read in ``session``), or None when none is."""
    current = None
    for schedule in schedules_in(session):
        if schedule.effective_at <= at:
            current = schedule
    return current


def indexed(document: dict[str, Any], rate: str, effective: str) -> dict[str, Any]:
    """The next year's schedule: every fee and the fine cap × (1 + ``rate``), rounded to
    1,000 rials."""
    factor = inflation_factor(rate, document["effective"], effective)
    return validate(
        {
            "name": f"{document['name']} indexed by {rate} from {effective}",
            "effective": effective,
            "currency": "IRR",
            "source": document.get("source", ""),
            "note": f"Indexed from {document['effective']} by {rate}; rounded to 1,000 rials.",
            "licence_fee": {
                category: index_rials(fee, factor)
                for category, fee in document["licence_fee"].items()
            },
            "fines": {name: index_rials(cap, factor) for name, cap in document["fines"].items()},
        }
    )
