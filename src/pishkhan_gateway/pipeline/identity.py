"""Step 4: the citizen's identity, to the level the service needs; and national codes.

Levels (DESIGN.md §2 step 4): 0 none; 1 national code well formed; 2 matched against the Civil
Registry and alive; 3 plus mobile ownership and a one-time code. Levels 2 and 3 ask identity
provider plugins and fail closed: no provider, or a provider outage, is ``identity_unavailable``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from cachetools import TTLCache

from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
from pishkhan_gateway.errors import (
    AgencyError,
    CitizenDeceased,
    IdentityError,
    IdentityMismatch,
    IdentityUnavailable,
    InvalidNationalCode,
    InvalidRequest,
    MobileNotOwned,
    OtpInvalid,
    OtpRequired,
)
from pishkhan_gateway.ids import is_valid_national_code, normalise_mobile, normalise_national_code
from pishkhan_gateway.jalali import ascii_digits, parse_date
from pishkhan_gateway.pipeline.request import CitizenInput
from pishkhan_gateway.plugins.door import Plugins
from pishkhan_gateway.sdk import agencyhttp
from pishkhan_gateway.sdk.values import AgencyContext, Citizen, CitizenRecord


def parse_birth_date(raw: str | None, field: str = "birth_date") -> dt.date:
    """A typed Jalali birth date (``1369-05-12``, ``۱۳۶۹/۰۵/۱۲``) → its Gregorian date."""
    try:
        return parse_date(raw)
    except ValueError:
        raise InvalidRequest(
            f"{field} must be a Jalali date like 1369-05-12", field=field
        ) from None


def citizen_pseudonym(citizen: CitizenInput, pseudonyms: Pseudonymizer) -> str | None:
    """The pseudonym to record for whatever national code the request carried, valid or not."""
    raw = citizen.national_code
    if not isinstance(raw, str) or not raw.strip():
        return None
    return pseudonyms.national_code(ascii_digits(raw.strip()).replace("-", ""))


class OtpCheck(Protocol):
    """Confirms the one-time code the citizen typed in (``OneTimeCodes.confirm`` bound to the
    request's office, service and idempotency key)."""

    def __call__(self, *, national_code: str, mobile: str, code: str) -> None: ...


class IdentityCache:
    """The Civil Registry's records and mobile-ownership answers, kept ``ttl`` seconds so one
    counter visit (several services for one citizen) queries the registry once.

    Keyed by pseudonym, so the process holds no national code as a key. Only positive answers
    are kept: a refusal is always asked again. ``ttl`` 0 turns it off. Per process.
    """

    def __init__(self, ttl: float, pseudonyms: Pseudonymizer, maxsize: int = 20_000) -> None:
        self.pseudonyms = pseudonyms
        self._records: TTLCache[str, CitizenRecord] | None = (
            TTLCache(maxsize, ttl) if ttl > 0 else None
        )
        self._owners: TTLCache[str, bool] | None = TTLCache(maxsize, ttl) if ttl > 0 else None
        self._lock = threading.Lock()

    def record(self, code: str, fetch: Callable[[], CitizenRecord | None]) -> CitizenRecord | None:
        """The registry's record of ``code``: cached, or ``fetch()``-ed and cached."""
        key = self.pseudonyms.national_code(code)
        if self._records is not None:
            with self._lock:
                found = self._records.get(key)
            if found is not None:
                return found
        record = fetch()
        if record is not None and self._records is not None:
            with self._lock:
                self._records[key] = record
        return record

    def owner(self, mobile: str, code: str, fetch: Callable[[], bool | None]) -> bool | None:
        """Whether ``mobile`` belongs to ``code``: cached when it does, else ``fetch()``-ed."""
        key = self.pseudonyms.mobile(mobile) + self.pseudonyms.national_code(code)
        if self._owners is not None:
            with self._lock:
                if self._owners.get(key):
                    return True
        owned = fetch()
        if owned and self._owners is not None:
            with self._lock:
                self._owners[key] = True
        return owned


def _deadline(agencies: Mapping[str, AgencyContext]) -> contextlib.AbstractContextManager[None]:
    """Identity providers answer within the longest agency timeout, however the network acts."""
    return agencyhttp.within(max((a.timeout for a in agencies.values()), default=10.0))


def verify_identity(
    level: int,
    citizen: CitizenInput,
    plugins: Plugins,
    agencies: Mapping[str, AgencyContext],
    otp: OtpCheck | None = None,
    cache: IdentityCache | None = None,
) -> Citizen:
    """Verify the citizen to ``level`` and return what the plugin may see; a refusal names the
    level the service needs (``identity_level``: the counter learns what to ask for).

    Level 3 needs ``otp`` to confirm the code; without it level 3 fails closed.
    """
    try:
        return _verify(level, citizen, plugins, agencies, otp, cache)
    except (IdentityError, InvalidRequest) as refused:
        refused.extra.setdefault("identity_level", level)
        raise


def _verify(
    level: int,
    citizen: CitizenInput,
    plugins: Plugins,
    agencies: Mapping[str, AgencyContext],
    otp: OtpCheck | None,
    cache: IdentityCache | None,
) -> Citizen:
    verified = verify_before_otp(
        level=level, citizen=citizen, plugins=plugins, agencies=agencies, cache=cache
    )
    if level < 3:
        return verified
    code = ascii_digits(citizen.otp or "").strip()
    if not code:
        raise OtpRequired()
    if otp is None or not re.fullmatch(r"[0-9]{6}", code):
        raise OtpInvalid()
    assert verified.national_code and verified.mobile
    otp(national_code=verified.national_code, mobile=verified.mobile, code=code)
    return verified


def verify_before_otp(
    *,
    level: int,
    citizen: CitizenInput,
    plugins: Plugins,
    agencies: Mapping[str, AgencyContext],
    cache: IdentityCache | None = None,
) -> Citizen:
    """Every check of ``level`` but the one-time code (what ``POST /v1/otp`` needs first)."""
    if level == 0:
        code = citizen.national_code
        valid = isinstance(code, str) and is_valid_national_code(ascii_digits(code.strip()))
        return Citizen(national_code=ascii_digits(code.strip()) if valid else None)
    if citizen.national_code is None:
        raise InvalidNationalCode("this service needs the citizen's national_code")
    code = normalise_national_code(citizen.national_code)
    if level == 1:
        return Citizen(national_code=code, level=1)

    if citizen.birth_date is None:
        raise InvalidRequest("this service needs citizen.birth_date (Jalali)", field="birth_date")
    birth_date = parse_birth_date(citizen.birth_date)
    try:
        lookup = functools.partial(plugins.identity_lookup, national_code=code, agencies=agencies)
        with _deadline(agencies):
            record = cache.record(code, lookup) if cache else lookup()
    except AgencyError as exc:
        raise IdentityUnavailable(f"the Civil Registry cannot be reached: {exc.detail}") from exc
    if record is None:
        raise IdentityUnavailable("no identity provider plugin is installed")
    if record.birth_date != birth_date:
        raise IdentityMismatch()
    if not record.alive:
        raise CitizenDeceased()
    if level == 2:
        return Citizen(national_code=code, birth_date=birth_date, level=2)

    mobile = normalise_mobile(citizen.mobile)
    try:
        ask = functools.partial(
            plugins.mobile_owner, mobile=mobile, national_code=code, agencies=agencies
        )
        with _deadline(agencies):
            owned = cache.owner(mobile, code, ask) if cache else ask()
    except AgencyError as exc:
        raise IdentityUnavailable(f"mobile ownership cannot be checked: {exc.detail}") from exc
    if owned is None:
        raise IdentityUnavailable("no mobile-ownership provider plugin is installed")
    if not owned:
        raise MobileNotOwned()
    return Citizen(national_code=code, birth_date=birth_date, mobile=mobile, level=3)
