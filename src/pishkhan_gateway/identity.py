"""Citizen identity: national codes, pseudonyms, and the identity step of the pipeline.

Levels (DESIGN.md §2 step 4): 0 none; 1 national code well formed; 2 matched against the Civil
Registry and alive; 3 plus mobile ownership and a one-time code. Levels 2 and 3 ask identity
provider plugins and fail closed: no provider, or a provider outage, is ``identity_unavailable``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import jdatetime
from cachetools import TTLCache

from pishkhan_gateway import agencyhttp
from pishkhan_gateway.agency import AgencyContext, Citizen, CitizenRecord
from pishkhan_gateway.errors import (
    AgencyError,
    CitizenDeceased,
    IdentityMismatch,
    IdentityUnavailable,
    InvalidNationalCode,
    InvalidRequest,
    MobileNotOwned,
    OtpInvalid,
    OtpRequired,
)
from pishkhan_gateway.plugins import Plugins

_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_MOBILE = re.compile(r"^(?:\+98|0098|0)?(9\d{9})$")


def ascii_digits(text: str) -> str:
    """Persian (U+06F0…) and Arabic-Indic (U+0660…) digits to ASCII; other characters kept."""
    return text.translate(_TO_ASCII)


def is_valid_national_code(code: str) -> bool:
    """10 digits, not all the same, last digit the mod-11 check over the first nine."""
    if len(code) != 10 or not code.isascii() or not code.isdigit() or len(set(code)) == 1:
        return False
    remainder = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    check = int(code[9])
    return check == remainder if remainder < 2 else check == 11 - remainder


def normalise_national_code(raw: Any) -> str:
    """A valid national code as 10 ASCII digits, or ``InvalidNationalCode``."""
    if not isinstance(raw, str):
        raise InvalidNationalCode("national_code must be a string of 10 digits")
    code = ascii_digits(raw.strip()).replace("-", "")
    if not is_valid_national_code(code):
        raise InvalidNationalCode("national_code fails its check digit or is not 10 digits")
    return code


def normalise_mobile(raw: Any) -> str:
    """An Iranian mobile number as ``09xxxxxxxxx``, or ``InvalidRequest``."""
    match = _MOBILE.match(ascii_digits(str(raw)).replace(" ", "")) if raw else None
    if not match:
        raise InvalidRequest("citizen.mobile is not an Iranian mobile number", field="mobile")
    return "0" + match.group(1)


def parse_jalali_date(raw: Any, field: str) -> dt.date:
    """``1369-05-12`` (or ``1369/05/12``, Persian digits allowed) → Gregorian date."""
    try:
        year, month, day = (int(p) for p in re.split(r"[-/]", ascii_digits(str(raw).strip())))
        return jdatetime.date(year, month, day).togregorian()
    except (ValueError, TypeError):
        raise InvalidRequest(
            f"{field} must be a Jalali date like 1369-05-12", field=field
        ) from None


class Pseudonymizer:
    """Keyed pseudonyms (HMAC-SHA256, hex) so the log can be searched without holding the value.

    Domain-separated, so a national code and a mobile never share a pseudonym.
    """

    def __init__(self, keys: bytes | Sequence[bytes]) -> None:
        # the current key first, then retired ones (records made under them are still found)
        self._keys = [keys] if isinstance(keys, bytes) else list(keys)
        self._key = self._keys[0]

    def keyed(self, domain: bytes, value: str, key: bytes | None = None) -> str:
        """HMAC-SHA256 (hex) of ``value`` in ``domain`` under the (current) pseudonym key."""
        message = domain + b":" + value.encode()
        return hmac.new(key or self._key, message, hashlib.sha256).hexdigest()

    def national_code(self, code: str) -> str:
        """Pseudonym of a (normalised) national code."""
        return self.keyed(b"national_code", code)

    def national_codes(self, code: str) -> tuple[str, ...]:
        """Its pseudonyms under every key held, current first: for finding what was recorded
        before a key rotation."""
        return tuple(self.keyed(b"national_code", code, key) for key in self._keys)

    def mobile(self, mobile: str) -> str:
        """Pseudonym of a (normalised) mobile number."""
        return self.keyed(b"mobile", mobile)


def citizen_pseudonym(citizen: Mapping[str, Any] | None, pseudonyms: Pseudonymizer) -> str | None:
    """The pseudonym to record for whatever national code the request carried, valid or not."""
    raw = (citizen or {}).get("national_code")
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
    *,
    level: int,
    citizen: Mapping[str, Any] | None,
    plugins: Plugins,
    agencies: Mapping[str, AgencyContext],
    otp: OtpCheck | None = None,
    cache: IdentityCache | None = None,
) -> Citizen:
    """Verify the citizen to ``level`` and return what the plugin may see.

    Level 3 needs ``otp`` to confirm the code; without it level 3 fails closed.
    """
    verified = verify_before_otp(
        level=level, citizen=citizen, plugins=plugins, agencies=agencies, cache=cache
    )
    if level < 3:
        return verified
    code = ascii_digits(str((citizen or {}).get("otp") or "")).strip()
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
    citizen: Mapping[str, Any] | None,
    plugins: Plugins,
    agencies: Mapping[str, AgencyContext],
    cache: IdentityCache | None = None,
) -> Citizen:
    """Every check of ``level`` but the one-time code (what ``POST /v1/otp`` needs first)."""
    given = citizen or {}
    if level == 0:
        code = given.get("national_code")
        valid = isinstance(code, str) and is_valid_national_code(ascii_digits(code.strip()))
        return Citizen(national_code=ascii_digits(code.strip()) if valid else None)
    if "national_code" not in given:
        raise InvalidNationalCode("this service needs the citizen's national_code")
    code = normalise_national_code(given["national_code"])
    if level == 1:
        return Citizen(national_code=code, level=1)

    if "birth_date" not in given:
        raise InvalidRequest("this service needs citizen.birth_date (Jalali)", field="birth_date")
    birth_date = parse_jalali_date(given["birth_date"], "birth_date")
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

    mobile = normalise_mobile(given.get("mobile"))
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
