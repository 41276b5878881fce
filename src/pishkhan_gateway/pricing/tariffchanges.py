"""Changing the tariff safely: amend, drop only on purpose, withdraw a mistake.

A schedule replaces the one before it whole: a service it does not list has no cap, so offices
may charge nothing for it. Loading a schedule that lists only the services that changed would
silently set every other service's cap to 0 for every office. So:

- ``publish(..., amend=True)`` carries the previous schedule's caps over and changes only the
  services the new document names (the stored schedule says which one it ``amends``);
- without it, a schedule that leaves out a service the previous one priced (a cap above 0) is
  refused (``schedule_drops_services``, naming them) unless each is given in ``drop`` —
  a deliberate decision, recorded in the schedule (``dropped``) and the log;
- ``withdraw`` takes back a schedule not yet in force, or one loaded by mistake the same Tehran
  day, with a reason; it is kept (``withdrawn_tariff_schedules``) and a corrected one may be
  loaded for the same date.

A provincial schedule (``scope = "province:<name>"``, a working group's) follows the same rules
within its province, and may not go above the national cap in force when it takes effect where
the national schedule prices a service, nor price a service the law prices.

Every publication and withdrawal is a log entry (``tariff_published``, ``tariff_withdrawn``) with
the schedule's SHA-256, so what was in force when is provable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select

from pishkhan_gateway.auditlog.append import record_event
from pishkhan_gateway.errors import InvalidRequest, NotFound, ScheduleDropsServices, WrongState
from pishkhan_gateway.jalali import TEHRAN, parse_date
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.pricing.tariffs import (
    NATIONAL,
    Schedule,
    Tariffs,
    jalali_midnight_utc,
    validate_schedule,
)
from pishkhan_gateway.registry.offices import CATEGORIES
from pishkhan_gateway.store import utcnow
from pishkhan_gateway.store.tables import TariffSchedule, WithdrawnTariffSchedule


def _priced(schedule: Schedule) -> set[str]:
    return {service for service, caps in schedule.caps.items() if any(caps.values())}


def before(tariffs: Tariffs, effective_at: dt.datetime, scope: str = NATIONAL) -> Schedule | None:
    """The schedule of ``scope`` a new one effective at ``effective_at`` follows."""
    earlier = [s for s in tariffs.schedules(scope) if s.effective_at < effective_at]
    return earlier[-1] if earlier else None


def _within_national(tariffs: Tariffs, document: dict[str, Any], at: dt.datetime) -> None:
    """A provincial schedule's caps: at most the national cap in force at ``at``, per
    category, where the national schedule prices the service; none where the law does."""
    national = tariffs.in_force(at)
    if national is None:
        return
    for service_id, caps in document["caps"].items():
        if national.by_law(service_id):
            raise InvalidRequest(
                f"caps/{service_id}: the national schedule says its fee is set by law",
                field=f"caps/{service_id}",
            )
        if service_id not in national.caps:
            continue  # a provisional provincial tariff for a service not priced nationally
        provincial = Schedule(0, "", at, {service_id: caps}, {})
        for category in CATEGORIES:
            mine, cap = provincial.cap(service_id, category), national.cap(service_id, category)
            if mine > cap:
                raise InvalidRequest(
                    f"caps/{service_id}/{category}: {mine} rials is above the national cap of "
                    f"{cap} rials ({national.name})",
                    field=f"caps/{service_id}",
                )


def publish(
    tariffs: Tariffs,
    document: dict[str, Any],
    *,
    amend: bool = False,
    drop: tuple[str, ...] | list[str] = (),
    by: str = "cli",
) -> Schedule:
    """Validate and load a schedule under the rules above; log it."""
    validate_schedule(document)
    effective_at = jalali_midnight_utc(document["effective"])
    announced = document.get("announced")
    if announced is not None and jalali_midnight_utc(announced) > effective_at:
        raise InvalidRequest("announced is on or before effective", field="announced")
    scope = document.get("scope", NATIONAL)
    if scope != NATIONAL:
        _within_national(tariffs, document, effective_at)
    previous = before(tariffs, effective_at, scope)
    document = {k: v for k, v in document.items() if k not in ("amends", "dropped")}
    if amend:
        if previous is None:
            raise InvalidRequest("nothing to amend: no schedule before this one", field="amend")
        document["caps"] = {**previous.caps, **document["caps"]}
        document["amends"] = previous.name
    unknown = [s for s in drop if previous is None or s not in previous.caps]
    if unknown:
        raise InvalidRequest(
            f"--drop names services the previous schedule does not price: {', '.join(unknown)}",
            field="drop",
        )
    dropped = sorted(_priced(previous) - set(document["caps"])) if previous else []
    undeclared = [s for s in dropped if s not in drop]
    if undeclared:
        raise ScheduleDropsServices(
            f"{len(undeclared)} priced service(s) would get a cap of 0 for every office: "
            f"{', '.join(undeclared[:10])}{' …' if len(undeclared) > 10 else ''}. Load it with "
            "--amend to change only the services it names, or --drop SERVICE for each service "
            "that should no longer be priced",
            services=undeclared,
        )
    if dropped:
        document["dropped"] = dropped
    schedule = tariffs.load(validate_schedule(document))
    body = json.dumps(document, ensure_ascii=False, sort_keys=True)
    record_event(
        tariffs.store,
        {
            "type": "tariff_published",
            "scope": scope,
            "name": schedule.name,
            "effective": schedule.effective_jalali,
            "announced": announced,
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
            "amends": document.get("amends"),
            "dropped": dropped,
            "services": len(schedule.caps),
            "supervisor": by,
        },
    )
    return schedule


def withdraw(
    tariffs: Tariffs, effective: str, reason: str, by: str = "cli", scope: str = NATIONAL
) -> dict[str, Any]:
    """Withdraw the schedule of ``scope`` effective on ``effective`` (Jalali or ISO): allowed
    while it is not yet in force, or on the Tehran day it was loaded (a mistake caught the same
    day)."""
    reason = redact_text((reason or "").strip())
    if not 3 <= len(reason) <= 2000:
        raise InvalidRequest("give the reason (3-2000 characters)", field="reason")
    try:
        day = parse_date(effective, gregorian_too=True)
    except ValueError as exc:
        raise InvalidRequest(f"effective: {exc}", field="effective") from None
    effective_at = dt.datetime.combine(day, dt.time(0), tzinfo=TEHRAN).astimezone(dt.UTC)
    now = utcnow()
    with tariffs.store.write() as session:
        row = session.scalar(
            select(TariffSchedule).where(
                TariffSchedule.scope == scope, TariffSchedule.effective_at == effective_at
            )
        )
        if row is None:
            raise NotFound(f"no {scope} tariff schedule effective {effective}")
        loaded = row.loaded_at if row.loaded_at.tzinfo else row.loaded_at.replace(tzinfo=dt.UTC)
        in_force = effective_at <= now
        same_day = loaded.astimezone(TEHRAN).date() == now.astimezone(TEHRAN).date()
        if in_force and not same_day:
            raise WrongState(
                "this schedule has been in force since an earlier day: publish a corrected "
                "schedule instead (tariffs load, with --amend to change only some services)"
            )
        session.add(
            WithdrawnTariffSchedule(
                id=row.id,
                scope=row.scope,
                name=row.name,
                effective_at=row.effective_at,
                document=row.document,
                sha256=row.sha256,
                loaded_at=row.loaded_at,
                withdrawn_at=now,
                reason=reason,
                withdrawn_by=by,
            )
        )
        session.delete(row)
        name, sha256 = row.name, row.sha256
    tariffs.forget()
    index = record_event(
        tariffs.store,
        {
            "type": "tariff_withdrawn",
            "scope": scope,
            "name": name,
            "effective": effective,
            "sha256": sha256,
            "was_in_force": in_force,
            "reason": reason,
            "supervisor": by,
        },
    )
    return {"name": name, "effective": effective, "withdrawn": True, "log_index": index}


def zero_priced_payments(tariffs: Tariffs, services: Any, at: dt.datetime) -> list[dict[str, Any]]:
    """Payment services whose cap in force is 0 in some location category: offices may charge
    nothing for them — usually a schedule that forgot them (``/v1/health``). A service priced by
    law is not one: the agency's amount is its whole fee."""
    schedule = tariffs.in_force(at)
    warnings = []
    for service_id, registered in sorted(services.items()):
        if registered.service.kind != "payment" or (schedule and schedule.by_law(service_id)):
            continue
        zero = [c for c in CATEGORIES if (schedule.cap(service_id, c) if schedule else 0) == 0]
        if zero:
            warnings.append({"service": service_id, "zero_cap_in": zero})
    return warnings
