"""The regulator's tariff schedules: loading, and the cap on an office's fee at an instant.

A schedule (``contracts/tariffs/*.toml``, validated by ``tariff-schedule.schema.json``) is in
force from 00:00 Tehran time on its Jalali ``effective`` date until the next schedule of the same
``scope``'s. The office's cap for a service (``Tariffs.rule``):

- priced by law in the national schedule (``{priced_by = "law"}``): the fee is set by law or
  another authority and the agency collects it — its quote is the whole fee, the office adds 0
  (seeds/000 line 40: such services are outside the regulator's caps);
- priced nationally: the national cap for the office's location category, lowered by its
  province's schedule where that one prices the service lower;
- not priced nationally but by the office's province (a provisional provincial tariff, as in
  seeds/004 line 49): the provincial cap;
- otherwise no approved tariff: the cap is 0, an office may charge nothing for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pishkhan_gateway.errors import InvalidRequest, TariffExceeded
from pishkhan_gateway.jalali import midnight_utc, parse_date
from pishkhan_gateway.schemas import first_error, validator
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import TariffSchedule

NATIONAL = "national"


@dataclass(frozen=True)
class Schedule:
    """A loaded schedule."""

    id: int
    name: str
    effective_at: dt.datetime
    caps: dict[str, dict[str, Any]]
    document: dict[str, Any]
    scope: str = NATIONAL

    @property
    def effective_jalali(self) -> str:
        """The Jalali date it took effect (Tehran)."""
        return str(self.document["effective"])

    def cap(self, service_id: str, category: str) -> int:
        """The cap in rials for ``service_id`` at an office of ``category`` (0 if unpriced or
        priced by law)."""
        caps = self.caps.get(service_id)
        if caps is None:
            return 0
        return int(caps.get(category, caps.get("all", 0)))

    def by_law(self, service_id: str) -> bool:
        """Whether the schedule says the service's fee is set by law (no office fee)."""
        return self.caps.get(service_id, {}).get("priced_by") == "law"


@dataclass(frozen=True)
class FeeRule:
    """What an office may charge for one service: ``cap`` rials at most, and on whose word
    (``regulator``, ``province``, ``law`` — the agency's quote is the whole fee — or
    ``unpriced``); ``schedule`` names the schedule that set it."""

    cap: int
    priced_by: str
    schedule: str | None


def jalali_midnight_utc(jalali: str) -> dt.datetime:
    """00:00 Tehran time on a Jalali ``YYYY-MM-DD``, as a UTC datetime."""
    return midnight_utc(parse_date(jalali))


def read_data_file(path: str | Path) -> dict[str, Any]:
    """A TOML or JSON data file (a schedule of tariffs or of licence fees) as a dict;
    ``InvalidRequest`` if it does not parse."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        document = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InvalidRequest(f"{path.name}: not valid TOML/JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidRequest(f"{path.name}: not a table/object")
    return document


def read_schedule_file(path: str | Path) -> dict[str, Any]:
    """Parse a schedule file (TOML or JSON) and validate it; ``InvalidRequest`` if it is wrong."""
    return validate_schedule(read_data_file(path))


def validate_schedule(document: dict[str, Any]) -> dict[str, Any]:
    """Check a schedule against its schema and calendar; return it unchanged."""
    error = first_error(validator("tariff-schedule"), document)
    if error is not None:
        where, message = error
        raise InvalidRequest(f"tariff schedule invalid at {where}: {message}", field=where)
    scope = document.get("scope", NATIONAL)
    for service_id, caps in document["caps"].items():
        if "priced_by" in caps and scope != NATIONAL:
            where = f"caps/{service_id}/priced_by"
            raise InvalidRequest(f"{where}: only the national schedule says a fee is set by law")
        for category, cap in caps.items():
            if category in ("priced_by", "authority"):
                continue
            if type(cap) is not int:  # JSON Schema's "integer" admits 1000.0; money never floats
                where = f"caps/{service_id}/{category}"
                raise InvalidRequest(f"{where}: caps are integer rials", field=where)
    try:
        jalali_midnight_utc(document["effective"])
    except ValueError as exc:
        raise InvalidRequest(f"effective is not a Jalali date: {exc}", field="effective") from exc
    return document


class Tariffs:
    """The schedules in the store, cached per worker for ``cache_seconds``."""

    def __init__(self, store: Store, cache_seconds: float = 5.0) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cached: list[Schedule] | None = None
        self._cached_at = 0.0
        self._lock = threading.Lock()

    def load(self, document: dict[str, Any]) -> Schedule:
        """Validate and store a schedule; a second schedule of the same scope for the same
        instant is refused."""
        validate_schedule(document)
        effective_at = jalali_midnight_utc(document["effective"])
        scope = document.get("scope", NATIONAL)
        body = json.dumps(document, ensure_ascii=False, sort_keys=True)
        with self.store.write() as session:
            clash = session.scalar(
                select(TariffSchedule.name).where(
                    TariffSchedule.scope == scope, TariffSchedule.effective_at == effective_at
                )
            )
            if clash is not None:
                raise InvalidRequest(
                    f"a schedule effective {document['effective']} is already loaded: {clash}",
                    field="effective",
                )
            row = TariffSchedule(
                scope=scope,
                name=document["name"],
                effective_at=effective_at,
                document=body,
                sha256=hashlib.sha256(body.encode()).hexdigest(),
                loaded_at=utcnow(),
            )
            session.add(row)
            session.flush()
            schedule_id = row.id
        self._cached = None
        return Schedule(
            schedule_id, document["name"], effective_at, document["caps"], document, scope
        )

    def forget(self) -> None:
        """Drop this worker's cached schedules (after a withdrawal)."""
        self._cached = None

    def schedules(self, scope: str | None = NATIONAL) -> list[Schedule]:
        """The schedules of ``scope`` (None: of every scope), oldest first."""
        return [s for s in self._all() if scope is None or s.scope == scope]

    def _all(self) -> list[Schedule]:
        now = time.monotonic()
        with self._lock:
            if self._cached is not None and now - self._cached_at < self.cache_seconds:
                return self._cached
        with self.store.read() as session:
            rows = session.scalars(select(TariffSchedule).order_by(TariffSchedule.effective_at))
            loaded = []
            for row in rows:
                document = json.loads(row.document)
                effective_at = row.effective_at
                if effective_at.tzinfo is None:  # SQLite hands back naive UTC
                    effective_at = effective_at.replace(tzinfo=dt.UTC)
                loaded.append(
                    Schedule(row.id, row.name, effective_at, document["caps"], document, row.scope)
                )
        with self._lock:
            self._cached, self._cached_at = loaded, now
        return loaded

    def in_force(self, at: dt.datetime, scope: str = NATIONAL) -> Schedule | None:
        """The schedule of ``scope`` in force at ``at`` (the latest whose effective instant is
        ≤ ``at``)."""
        current = None
        for schedule in self.schedules(scope):
            if schedule.effective_at <= at:
                current = schedule
            else:
                break
        return current

    def cap(
        self, service_id: str, category: str, at: dt.datetime, province: str | None = None
    ) -> tuple[int, Schedule | None]:
        """The national cap on the office fee for a service and location category at ``at``
        (with ``province``: that province's rule, see ``rule``)."""
        schedule = self.in_force(at)
        if province is not None:
            return self.rule(service_id, category, province, at).cap, schedule
        return (schedule.cap(service_id, category) if schedule else 0), schedule

    def rule(self, service_id: str, category: str, province: str, at: dt.datetime) -> FeeRule:
        """What an office of ``category`` in ``province`` may charge for ``service_id`` at
        ``at`` (the module docstring's order)."""
        national = self.in_force(at)
        provincial = self.in_force(at, f"province:{province}")
        if national is not None and national.by_law(service_id):
            return FeeRule(0, "law", national.name)
        local = (
            provincial.cap(service_id, category)
            if provincial is not None and service_id in provincial.caps
            else None
        )
        if national is not None and service_id in national.caps:
            cap = national.cap(service_id, category)
            if local is not None and local < cap:
                return FeeRule(local, "province", provincial.name if provincial else None)
            return FeeRule(cap, "regulator", national.name)
        if local is not None:
            return FeeRule(local, "province", provincial.name if provincial else None)
        return FeeRule(0, "unpriced", national.name if national else None)


def enforce_tariff(
    *,
    tariffs: Tariffs,
    service_id: str,
    category: str,
    province: str,
    office_fee: int,
    at: dt.datetime,
) -> FeeRule:
    """Refuse an office fee above the cap in force (``tariff_exceeded``); return the rule."""
    rule = tariffs.rule(service_id, category, province, at)
    if office_fee > rule.cap:
        raise TariffExceeded(
            fee_cap=rule.cap,
            office_fee=office_fee,
            schedule=rule.schedule,
            priced_by=rule.priced_by,
        )
    return rule


def inflation_factor(rate: str, base_effective: str, effective: str) -> Decimal:
    """1 + ``rate`` (a decimal string such as ``"0.32"``: the central bank's announced yearly
    inflation), checked, for indexing a document in force from ``base_effective`` to one in force
    from ``effective`` (which must be later)."""
    try:
        factor = Decimal(1) + Decimal(rate)
    except InvalidOperation:
        raise InvalidRequest("rate must be a decimal such as 0.32", field="rate") from None
    if not Decimal("0.5") <= factor <= Decimal(6):
        raise InvalidRequest("rate must be between -0.5 and 5", field="rate")
    if jalali_midnight_utc(effective) <= jalali_midnight_utc(base_effective):
        raise InvalidRequest(f"effective must be after {base_effective}", field="effective")
    return factor


def index_rials(amount: int, factor: Decimal) -> int:
    """``amount`` × ``factor``, rounded half up to 1,000 rials (Decimal: money never floats)."""
    thousand = Decimal(1000)
    scaled = (Decimal(amount) * factor / thousand).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(scaled * thousand)


def indexed(
    document: dict[str, Any], rate: str, effective: str, name: str | None = None
) -> dict[str, Any]:
    """The next year's schedule: every cap × (1 + ``rate``), rounded to 1,000 rials.

    ``rate`` is a decimal string (``"0.32"``): the arithmetic is in ``Decimal`` so no float ever
    touches money. Free services stay free. ``effective`` must be after the base schedule's.
    """
    factor = inflation_factor(rate, document["effective"], effective)
    caps = {
        service: {category: index_rials(cap, factor) for category, cap in categories.items()}
        for service, categories in document["caps"].items()
    }
    return validate_schedule(
        {
            "name": name or f"{document['name']} indexed by {rate} from {effective}",
            "effective": effective,
            "currency": "IRR",
            "note": f"Indexed from {document['effective']} by {rate}; rounded to 1,000 rials.",
            "caps": caps,
        }
    )
