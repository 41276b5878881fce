"""A booking's life. The citizen asks for a slot with a mobile number: one counter at that slot
is held for ``HOLD`` and a six-digit code goes to the mobile by SMS (through whichever plugin
sends SMS: the telecom operator's); the code confirms it (``booked``), the reference cancels it
(``cancelled``); the office marks it ``arrived``, ``served`` (with the transaction that followed)
or ``no_show``. A hold not confirmed in time expires and frees its counter.

Limits: ``PER_MOBILE_PER_DAY`` live bookings per mobile per Tehran day; ``MAX_ATTEMPTS`` wrong
codes. The mobile is sealed (the vault) and pseudonymised; the log holds the pseudonym only.
Every step is a log entry (``appointment_requested``, ``appointment_booked``, …) in the same
database transaction as the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from pishkhan_gateway.auditlog.append import ENTRY_VERSION, append
from pishkhan_gateway.errors import (
    AgencyError,
    AppointmentLimit,
    IdentityUnavailable,
    InvalidRequest,
    NotFound,
    OtpInvalid,
    SlotFull,
    SlotUnavailable,
    UnknownService,
    WrongState,
)
from pishkhan_gateway.ids import normalise_mobile
from pishkhan_gateway.jalali import TEHRAN, format_date, iso, midnight_utc
from pishkhan_gateway.registry import offices
from pishkhan_gateway.store import utcnow
from pishkhan_gateway.store.tables import Appointment, Office, Transaction

if TYPE_CHECKING:
    from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
    from pishkhan_gateway.crypto.vault import Vault
    from pishkhan_gateway.plugins.door import Plugins
    from pishkhan_gateway.registry.offices import OfficeView
    from pishkhan_gateway.sdk.values import AgencyContext
    from pishkhan_gateway.store import Store

from pishkhan_gateway.citizens import slots

HOLD = dt.timedelta(minutes=10)
PER_MOBILE_PER_DAY = 3
MAX_ATTEMPTS = 5
LIVE = ("pending", "booked")
# action -> (the states it may follow, the state it leads to)
MARKS = {
    "arrived": (("booked",), "arrived"),
    "served": (("booked", "arrived"), "served"),
    "no-show": (("booked",), "no_show"),
}


class Entitled(Protocol):
    """The entitlement step as a booking asks it (``pipeline.entitlements``)."""

    def check(self, office: OfficeView, service_id: str) -> None:
        """``service_not_entitled`` unless ``office`` may sell ``service_id``."""


class Desk(Protocol):
    """What bookings need of the app (the ``Gateway`` has it): the record, the services, who may
    sell them, the mobiles' pseudonyms and seal, and the SMS plugin with its agencies."""

    store: Store
    plugins: Plugins
    entitlements: Entitled
    pseudonyms: Pseudonymizer
    vault: Vault

    def agencies(self) -> dict[str, AgencyContext]:
        """How to reach every declared agency now."""


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _digest(reference: str, code: str) -> str:
    return hashlib.sha256(f"{reference}:{code}".encode()).hexdigest()


def _entry(session: Any, kind: str, row: Appointment, now: dt.datetime, **more: Any) -> int:
    return append(
        session,
        {"v": ENTRY_VERSION, "type": kind, "time": iso(now), "appointment": row.id,
         "office": row.office_id, "service": row.service, "starts_at": iso(row.starts_at),
         "mobile": row.mobile_pseudonym, **more},
        now,
    )  # fmt: skip


def public(row: Appointment, title_fa: str | None = None) -> dict[str, Any]:
    """A booking as its holder and its office see it (no mobile)."""
    local = _aware(row.starts_at).astimezone(TEHRAN)
    return {
        "reference": row.id,
        "office": row.office_id,
        "service": row.service,
        "service_title_fa": title_fa,
        "date": format_date(local.date(), "-"),
        "time": local.strftime("%H:%M"),
        "starts_at": iso(_aware(row.starts_at)),
        "counter": row.counter,
        "state": row.state,
    }


def request(gw: Desk, body: dict[str, Any]) -> dict[str, Any]:
    """Hold a counter at the slot and send the confirmation code to the mobile."""
    office_row = offices.get_office(gw.store, str(body.get("office") or ""))
    if office_row is None:
        raise NotFound("no such office", field="office")
    registered = gw.plugins.service(str(body.get("service") or ""))
    if registered is None:
        raise UnknownService("no such service; see the catalog", field="service")
    mobile = normalise_mobile(body.get("mobile"))
    starts_at = slots.parse_start(body.get("date"), body.get("time"))
    capacity = slots.capacity(gw.store, office_row.id)
    now = utcnow()
    if not capacity.offers(starts_at) or starts_at <= now:
        raise SlotUnavailable("not one of this office's coming slots (its hours, closed days)")
    if starts_at > now + dt.timedelta(days=slots.MAX_DAYS_AHEAD):
        raise SlotUnavailable(f"book at most {slots.MAX_DAYS_AHEAD} days ahead")
    office = offices.view(office_row)
    offices.check_licence(office)
    gw.entitlements.check(office, registered.service.id)
    pseudonyms = gw.pseudonyms.mobiles(mobile)
    day_start = midnight_utc(now.astimezone(TEHRAN).date())  # UTC: SQLite compares text
    code = f"{secrets.randbelow(10**6):06d}"
    reference = f"ap_{secrets.token_hex(8)}"
    for _ in range(capacity.counters + 1):
        try:
            with gw.store.write() as session:
                session.execute(  # holds not confirmed in time let their counter go
                    update(Appointment)
                    .where(Appointment.state == "pending", Appointment.created_at < now - HOLD)
                    .values(state="expired", counter=None, updated_at=now)
                )
                live = session.scalar(
                    select(func.count()).where(
                        Appointment.mobile_pseudonym.in_(pseudonyms),
                        Appointment.state.in_(LIVE),
                        Appointment.created_at >= day_start,
                    )
                )
                if live >= PER_MOBILE_PER_DAY:
                    raise AppointmentLimit(f"at most {PER_MOBILE_PER_DAY} bookings a day")
                taken = set(
                    session.scalars(
                        select(Appointment.counter).where(
                            Appointment.office_id == office.id,
                            Appointment.starts_at == starts_at,
                            Appointment.counter.is_not(None),
                        )
                    )
                )
                free = [c for c in range(1, capacity.counters + 1) if c not in taken]
                if not free:
                    raise SlotFull()
                row = Appointment(
                    id=reference,
                    office_id=office.id,
                    service=registered.service.id,
                    starts_at=starts_at,
                    counter=free[0],
                    state="pending",
                    mobile_sealed=gw.vault.encrypt(reference, {"mobile": mobile}),
                    mobile_pseudonym=pseudonyms[0],
                    code_sha256=_digest(reference, code),
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()  # the unique place: a racing booking of this counter fails here
                _entry(session, "appointment_requested", row, now)
            break
        except IntegrityError:
            continue  # someone took that counter a moment ago: try the next free one
    else:
        raise SlotFull()
    _send(gw, row, mobile, code, office_row.name, registered.service.title_fa)
    return {**public(row, registered.service.title_fa), "expires_in": int(HOLD.total_seconds())}


def _send(gw: Desk, row: Appointment, mobile: str, code: str, office: str, title: str) -> None:
    local = _aware(row.starts_at).astimezone(TEHRAN)
    text = (
        f"کد تأیید نوبت پیشخوان: {code}\n{title} — {office}\n"
        f"{format_date(local.date())} ساعت {local.strftime('%H:%M')}"
    )
    try:
        sent = gw.plugins.send_sms(mobile=mobile, text=text, agencies=gw.agencies())
        why = "no SMS provider plugin is installed"
    except AgencyError as exc:
        sent, why = None, exc.detail
    if not sent:
        with gw.store.write() as session:
            session.execute(
                update(Appointment)
                .where(Appointment.id == row.id)
                .values(state="expired", counter=None, updated_at=utcnow())
            )
        raise IdentityUnavailable(f"the confirmation code could not be sent: {why}")


def _row(session: Any, reference: str) -> Appointment:
    row = session.get(Appointment, reference, with_for_update=True)
    if row is None:
        raise NotFound("no appointment with this reference")
    return row


def confirm(gw: Desk, reference: str, code: Any) -> dict[str, Any]:
    """The code from the SMS makes the hold a booking."""
    now = utcnow()
    with gw.store.write() as session:
        row = _row(session, reference)
        if row.state != "pending" or _aware(row.created_at) < now - HOLD:
            raise WrongState("this appointment is not waiting for its code (expired or done)")
        if row.attempts >= MAX_ATTEMPTS:
            raise OtpInvalid("too many wrong codes: book again")
        right = isinstance(code, str) and hmac.compare_digest(
            _digest(reference, code.strip()), row.code_sha256
        )
        if right:
            row.state = "booked"
            _entry(session, "appointment_booked", row, now)
        else:
            row.attempts += 1  # counted (committed) before the refusal below
        row.updated_at = now
        answer = public(row, _title(gw, row.service))
    if not right:
        raise OtpInvalid()
    return answer


def cancel(gw: Desk, reference: str) -> dict[str, Any]:
    """The reference cancels a coming booking (or a hold) and frees its counter."""
    now = utcnow()
    with gw.store.write() as session:
        row = _row(session, reference)
        if row.state not in LIVE or _aware(row.starts_at) <= now:
            raise WrongState("only a coming appointment can be cancelled")
        row.state, row.counter, row.updated_at = "cancelled", None, now
        _entry(session, "appointment_cancelled", row, now)
        return public(row, _title(gw, row.service))


def show(gw: Desk, reference: str) -> dict[str, Any]:
    """A booking by its reference (what its QR code opens)."""
    with gw.store.read() as session:
        row = session.get(Appointment, reference)
        if row is None:
            raise NotFound("no appointment with this reference")
        office = session.get(Office, row.office_id)
        return {
            **public(row, _title(gw, row.service)),
            "office_name": office.name if office else None,
        }


def mark(
    gw: Desk, office_id: str, reference: str, action: str, transaction_id: Any = None
) -> dict[str, Any]:
    """The office marks its appointment ``arrived``, ``served`` (optionally naming the
    transaction that followed, one of its own) or ``no-show`` (once its time has come)."""
    allowed, state = MARKS[action]
    now = utcnow()
    with gw.store.write() as session:
        row = _row(session, reference)
        if row.office_id != office_id:
            raise NotFound("no appointment with this reference at this office")
        if row.state not in allowed:
            raise WrongState(f"a {row.state} appointment cannot be marked {action}")
        if action == "no-show" and _aware(row.starts_at) > now:
            raise WrongState("its time has not come yet")
        if transaction_id is not None:
            tx = session.get(Transaction, str(transaction_id)[:40])
            if action != "served" or tx is None or tx.office_id != office_id:
                raise InvalidRequest("transaction_id: one of this office's", field="transaction_id")
            row.transaction_id = tx.id
        row.state, row.updated_at = state, now
        _entry(session, f"appointment_{state}", row, now, transaction_id=row.transaction_id)
        return public(row, _title(gw, row.service))


def queue(gw: Desk, office_id: str, day: dt.date) -> list[dict[str, Any]]:
    """The office's appointments of a Tehran day, in order (holds and cancellations left out)."""
    start = midnight_utc(day)  # UTC: SQLite compares stored text
    with gw.store.read() as session:
        rows = session.scalars(
            select(Appointment)
            .where(
                Appointment.office_id == office_id,
                Appointment.starts_at >= start,
                Appointment.starts_at < start + dt.timedelta(days=1),
                Appointment.state.not_in(("pending", "cancelled", "expired")),
            )
            .order_by(Appointment.starts_at, Appointment.counter)
        )
        return [public(r, _title(gw, r.service)) for r in rows]


def _title(gw: Desk, service_id: str) -> str | None:
    registered = gw.plugins.service(service_id)
    return registered.service.title_fa if registered else None
