"""One-time codes for identity level 3: sent by SMS, kept only as a keyed hash, bound to one
office, service, citizen and mobile, dead after ``OTP_TTL_SECONDS`` or ``OTP_MAX_ATTEMPTS`` wrong
tries or one use, and rate limited per mobile.

A used code never passes again. A counter that retries after a lost response, with the same
``Idempotency-Key``, gets the first result all the same: the pipeline answers a finished key from
its stored response before identity is checked (``idempotency.replayed``), so the code check is
never skipped, and a key whose attempt was refused or failed unlocks nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from sqlalchemy import func, select, update

from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
from pishkhan_gateway.errors import (
    AgencyError,
    IdentityUnavailable,
    OtpInvalid,
    OtpRateLimited,
)
from pishkhan_gateway.plugins.door import Plugins
from pishkhan_gateway.sdk.values import AgencyContext, Citizen
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import OneTimeCode

log = structlog.get_logger(__name__)


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes for what was stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def mask_mobile(mobile: str) -> str:
    """``09121234567`` → ``0912***4567`` (what the counter may show)."""
    return mobile[:4] + "***" + mobile[-4:]


class OneTimeCodes:
    """Issues and checks one-time codes (one per app; state lives in the database)."""

    def __init__(
        self, store: Store, pseudonyms: Pseudonymizer, plugins: Plugins, config: Mapping[str, Any]
    ) -> None:
        self.store = store
        self.pseudonyms = pseudonyms
        self.plugins = plugins
        self.ttl = dt.timedelta(seconds=int(config["OTP_TTL_SECONDS"]))
        self.max_attempts = int(config["OTP_MAX_ATTEMPTS"])
        self.sends_per_window = int(config["OTP_SENDS_PER_WINDOW"])
        self.window = dt.timedelta(seconds=int(config["OTP_WINDOW_SECONDS"]))

    def _hash(self, otp_id: str, code: str) -> str:
        return self.pseudonyms.keyed(b"one_time_code", f"{otp_id}:{code}")

    def send(
        self,
        *,
        office_id: str,
        service_id: str,
        service_title_fa: str,
        citizen: Citizen,
        agencies: Mapping[str, AgencyContext],
    ) -> dict[str, Any]:
        """Send a fresh code to ``citizen.mobile`` (already verified as the citizen's)."""
        assert citizen.national_code and citizen.mobile
        mobile = self.pseudonyms.mobile(citizen.mobile)
        now = utcnow()
        otp_id = "otp_" + secrets.token_hex(12)
        code = f"{secrets.randbelow(10**6):06d}"
        with self.store.write() as session:
            recent = session.scalar(
                select(func.count())
                .select_from(OneTimeCode)
                .where(
                    # counted under every key's pseudonym: a key rotation resets no limit
                    OneTimeCode.mobile.in_(self.pseudonyms.mobiles(citizen.mobile)),
                    OneTimeCode.created_at > now - self.window,
                )
            )
            if recent >= self.sends_per_window:
                raise OtpRateLimited(
                    f"at most {self.sends_per_window} codes per mobile in "
                    f"{int(self.window.total_seconds())} s",
                    retry_after=int(self.window.total_seconds()),
                )
            session.add(
                OneTimeCode(
                    id=otp_id,
                    office_id=office_id,
                    service=service_id,
                    citizen=self.pseudonyms.national_code(citizen.national_code),
                    mobile=mobile,
                    code_hmac=self._hash(otp_id, code),
                    created_at=now,
                    expires_at=now + self.ttl,
                    attempts=0,
                )
            )
        text = (
            f"کد تأیید پیشخوان دولت: {code}\nبرای: {service_title_fa}\n"
            "این کد را به کسی جز متصدی دفتر ندهید."
        )
        try:
            sent = self.plugins.send_sms(mobile=citizen.mobile, text=text, agencies=agencies)
        except AgencyError as exc:
            sent, why = None, exc.detail
        else:
            why = "no SMS provider plugin is installed"
        if not sent:
            with self.store.write() as session:
                session.execute(
                    update(OneTimeCode).where(OneTimeCode.id == otp_id).values(consumed_at=now)
                )
            raise IdentityUnavailable(f"the one-time code could not be sent: {why}")
        log.info("otp_sent", otp_id=otp_id, office_id=office_id, service=service_id, mobile=mobile)
        return {
            "otp_id": otp_id,
            "mobile": mask_mobile(citizen.mobile),
            "expires_in": int(self.ttl.total_seconds()),
            "max_attempts": self.max_attempts,
        }

    def checker(self, office_id: str, service_id: str) -> Callable[..., None]:
        """``confirm`` bound to one request's office and service (the identity step's ``otp``)."""
        return functools.partial(self.confirm, office_id=office_id, service_id=service_id)

    def confirm(
        self,
        *,
        office_id: str,
        service_id: str,
        national_code: str,
        mobile: str,
        code: str,
    ) -> None:
        """Accept ``code`` for this binding (and use it up), or raise ``OtpInvalid``: it must be
        right, unexpired, unused and for this office, service, citizen and mobile. Nothing else
        unlocks it (a retry of a finished request is answered before identity, from its stored
        response)."""
        now = utcnow()
        wrong: OtpInvalid | None = None
        with self.store.write() as session:
            row = session.scalar(
                select(OneTimeCode)
                .where(
                    OneTimeCode.office_id == office_id,
                    OneTimeCode.service == service_id,
                    OneTimeCode.citizen == self.pseudonyms.national_code(national_code),
                    OneTimeCode.mobile == self.pseudonyms.mobile(mobile),
                )
                .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
                .limit(1)
            )
            if row is None:
                raise OtpInvalid("no code was sent for this citizen and service (POST /v1/otp)")
            if row.consumed_at is not None:
                raise OtpInvalid("this code has already been used; request a new one")
            if now > _aware(row.expires_at):
                raise OtpInvalid("the code has expired; request a new one")
            if row.attempts >= self.max_attempts:
                raise OtpInvalid("too many wrong tries; request a new code")
            if hmac.compare_digest(row.code_hmac, self._hash(row.id, code)):
                used = session.execute(
                    update(OneTimeCode)
                    .where(OneTimeCode.id == row.id, OneTimeCode.consumed_at.is_(None))
                    .values(consumed_at=now)
                )
                if used.rowcount != 1:
                    raise OtpInvalid("this code has already been used; request a new one")
                return
            # A wrong try is counted (committed) before it is refused.
            row.attempts += 1
            wrong = OtpInvalid(f"wrong code ({self.max_attempts - row.attempts} tries left)")
        raise wrong
