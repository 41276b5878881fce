"""Offices, their credentials and operators: registration, authentication, licence state.

An office credential is ``pgk_<id>.<secret>`` (see ``credentials``); revoking one takes effect
on the next request. Operators are kept as pseudonyms of their
national codes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from pishkhan_gateway.crypto.pseudonyms import Pseudonymizer
from pishkhan_gateway.errors import (
    InvalidNationalCode,
    InvalidRequest,
    LicenceExpired,
    NotFound,
    OfficeRevoked,
    OfficeSuspended,
    OperatorNotRegistered,
    Unauthorized,
)
from pishkhan_gateway.ids import normalise_national_code
from pishkhan_gateway.jalali import TEHRAN
from pishkhan_gateway.registry import credentials
from pishkhan_gateway.registry.counters import CounterCache
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import Office, OfficeCredential, Operator

OFFICE_TYPES = ("pishkhan", "rural_ict")
# Where an office is: its location category, what its tariffs and licence fee depend on.
CATEGORIES = ("metropolis", "province_center", "city_large", "city", "village")
LICENCE_YEARS = 5
CREDENTIAL_PREFIX = "pgk"
_OFFICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class OfficeView:
    """The fields of an office the pipeline needs."""

    id: str
    name: str
    licence_no: str
    home_category: str  # the location category before any approved move takes effect
    province: str
    status: str
    expires_on: dt.date
    moves_on: dt.date | None = None  # an approved relocation's first day (Tehran)
    next_category: str | None = None
    type: str = "pishkhan"  # or rural_ict

    def category_on(self, day: dt.date) -> str:
        """The location category on ``day`` (a Tehran date): an approved relocation moves the
        office onto its new category's tariff column the day it takes effect."""
        if self.moves_on is not None and self.next_category and day >= self.moves_on:
            return self.next_category
        return self.home_category

    @property
    def category(self) -> str:
        """The location category today."""
        return self.category_on(today())


def view(office: Office) -> OfficeView:
    """The pipeline's view of an office row."""
    return _view(office)


def _view(office: Office) -> OfficeView:
    return OfficeView(
        office.id,
        office.name,
        office.licence_no,
        office.category,
        office.province,
        office.status,
        office.expires_on,
        office.moves_on,
        office.next_category,
        office.type,
    )


def add_office(
    store: Store,
    *,
    id: str,
    licence_no: str,
    name: str,
    type: str,
    province: str,
    city: str,
    category: str,
    issued_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    holder: str | None = None,
) -> OfficeView:
    """Register an office; its licence runs five years from ``issued_on`` unless told otherwise."""
    if not _OFFICE_ID.match(id):
        raise InvalidRequest("office id: letters, digits, '.', '_', '-' (at most 64)", field="id")
    if type not in OFFICE_TYPES:
        raise InvalidRequest(f"type must be one of {OFFICE_TYPES}", field="type")
    if category not in CATEGORIES:
        raise InvalidRequest(f"category must be one of {CATEGORIES}", field="category")
    issued = issued_on or today()
    expires = expires_on or years_later(issued, LICENCE_YEARS)
    office = Office(
        id=id,
        licence_no=licence_no,
        name=name,
        holder=holder,
        type=type,
        province=province,
        city=city,
        category=category,
        status="active",
        issued_on=issued,
        expires_on=expires,
        created_at=utcnow(),
    )
    try:
        with store.write() as session:
            session.add(office)
    except IntegrityError:
        raise InvalidRequest(f"office {id} or licence {licence_no} already exists") from None
    return _view(office)


def years_later(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def get_office(store: Store, office_id: str) -> Office | None:
    """The office row, or None."""
    with store.read() as session:
        return session.get(Office, office_id)


def list_offices(store: Store) -> list[Office]:
    """All offices, by id."""
    with store.read() as session:
        return list(session.scalars(select(Office).order_by(Office.id)))


def set_status(store: Store, office_id: str, status: str, reason: str) -> None:
    """Suspend, revoke or reinstate an office (supervisors only; see the oversight API)."""
    with store.write() as session:
        changed = session.execute(
            update(Office).where(Office.id == office_id).values(status=status, status_reason=reason)
        ).rowcount
    if not changed:
        raise InvalidRequest(f"no office {office_id}", field="office")


def issue_key(store: Store, office_id: str, valid_days: int | None = None) -> str:
    """Create a credential for the office (valid ``valid_days``, or until revoked) and return
    it; it is never shown again."""
    credential, credential_id, secret_sha256 = credentials.new(CREDENTIAL_PREFIX)
    with store.write() as session:
        if session.get(Office, office_id) is None:
            raise InvalidRequest(f"no office {office_id}", field="office")
        session.add(
            OfficeCredential(
                id=credential_id,
                office_id=office_id,
                secret_sha256=secret_sha256,
                created_at=utcnow(),
                expires_at=credentials.expiry(valid_days),
            )
        )
    return credential


def revoke_key(store: Store, credential: str) -> str:
    """Revoke a credential (given whole or as its ``pgk_<id>`` prefix); return the office id."""
    with store.write() as session:
        return credentials.revoke(
            session, OfficeCredential, CREDENTIAL_PREFIX, credential
        ).office_id


def add_operator(
    store: Store, pseudonyms: Pseudonymizer, office_id: str, national_code: str
) -> None:
    """Register an operator (by national code) to an office."""
    code = normalise_national_code(national_code)
    try:
        with store.write() as session:
            if session.get(Office, office_id) is None:
                raise InvalidRequest(f"no office {office_id}", field="office")
            session.add(
                Operator(
                    office_id=office_id,
                    national_code_hmac=pseudonyms.national_code(code),
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        raise InvalidRequest("this operator is already registered to the office") from None


def revoke_operator(
    store: Store, pseudonyms: Pseudonymizer, office_id: str, national_code: str
) -> None:
    """Revoke an operator of an office, effective on the next request."""
    pseudonym = pseudonyms.national_codes(normalise_national_code(national_code))
    with store.write() as session:
        operator = session.scalar(
            select(Operator).where(
                Operator.office_id == office_id,
                Operator.national_code_hmac.in_(pseudonym),
                Operator.revoked_at.is_(None),
            )
        )
        if operator is None:
            raise NotFound("no such active operator at this office")
        operator.revoked_at = utcnow()


def list_operators(store: Store, office_id: str) -> list[dict[str, Any]]:
    """An office's operators: registration number and dates (never the national code)."""
    with store.read() as session:
        rows = session.scalars(
            select(Operator).where(Operator.office_id == office_id).order_by(Operator.id)
        )
        return [
            {
                "operator": row.id,
                "registered": row.created_at.isoformat(),
                "revoked": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            for row in rows
        ]


_CREDENTIAL_AND_OFFICE = (
    select(
        OfficeCredential.secret_sha256,
        OfficeCredential.revoked_at,
        OfficeCredential.expires_at,
        OfficeCredential.office_id,
        Office.name,
        Office.licence_no,
        Office.category,
        Office.province,
        Office.status,
        Office.expires_on,
        Office.moves_on,
        Office.next_category,
        Office.type,
    )
    .join(Office, Office.id == OfficeCredential.office_id)
    .where(OfficeCredential.id == bindparam("id"))
)
_REGISTERED_OPERATOR = select(Operator.national_code_hmac).where(
    Operator.national_code_hmac.in_(bindparam("pseudonyms", expanding=True)),
    Operator.revoked_at.is_(None),
)
_ACTIVE_OPERATOR = _REGISTERED_OPERATOR.where(Operator.office_id == bindparam("office"))
_CREDENTIAL_OFFICE_AND_OPERATOR = _CREDENTIAL_AND_OFFICE.add_columns(
    _REGISTERED_OPERATOR.where(Operator.office_id == OfficeCredential.office_id)
    .limit(1)
    .scalar_subquery()
    .label("operator")
)


def authenticate(store: Store, authorization: str | None) -> OfficeView:
    """The office behind a ``Bearer pgk_…`` header, or ``Unauthorized``.

    A revoked or expired credential still names its office: ``Unauthorized.office_id`` carries
    it so the refused attempt is recorded against that office.
    """
    credential_id, secret = _credential(authorization)
    # One prepared Core query per request (credential and office together): this runs on every
    # transaction, and the ORM's per-call overhead was most of its cost.
    with store.statement() as connection:
        row = connection.execute(_CREDENTIAL_AND_OFFICE, {"id": credential_id}).first()
    return _office(row, secret)


def authenticate_counter(
    store: Store,
    pseudonyms: Pseudonymizer,
    authorization: str | None,
    operator: str | None,
    cache: CounterCache | None = None,
) -> tuple[OfficeView, str]:
    """``authenticate`` and ``authenticate_operator`` in one query (the transaction's hot path):
    the office, and the pseudonym of its operator. The credential is judged first. With a
    ``cache`` the query's row is reused while the registry is unchanged (``counters.py``)."""
    credential_id, secret = _credential(authorization)
    refusal: OperatorNotRegistered | None = None
    try:
        code = _operator_code(operator)
    except OperatorNotRegistered as exc:
        code, refusal = "", exc

    def query() -> Any:
        candidates = list(pseudonyms.national_codes(code)) if code else []
        with store.statement() as connection:
            return connection.execute(
                _CREDENTIAL_OFFICE_AND_OPERATOR, {"id": credential_id, "pseudonyms": candidates}
            ).first()

    row = cache.row(credential_id, code, query) if cache is not None and code else query()
    office = _office(row, secret)
    if refusal is None and row.operator is None:
        refusal = OperatorNotRegistered()
    if refusal is not None:
        refusal.office_id = office.id  # type: ignore[attr-defined]
        raise refusal
    return office, str(row.operator)


def _credential(authorization: str | None) -> tuple[str, str]:
    parsed = credentials.parse(CREDENTIAL_PREFIX, authorization)
    if parsed is None:
        raise Unauthorized("send Authorization: Bearer <office credential>")
    return parsed


def _office(row: Any, secret: str) -> OfficeView:
    """The office of a credential row, unless the secret is wrong or the credential is dead."""
    if row is None or not credentials.matches(row.secret_sha256, secret):
        raise Unauthorized()
    if row.revoked_at is not None or credentials.expired(row.expires_at):
        error = Unauthorized(
            "this credential has been revoked"
            if row.revoked_at is not None
            else "this credential has expired; ask for a new one"
        )
        error.office_id = row.office_id  # type: ignore[attr-defined]
        raise error
    return OfficeView(
        row.office_id,
        row.name,
        row.licence_no,
        row.category,
        row.province,
        row.status,
        row.expires_on,
        row.moves_on,
        row.next_category,
        row.type,
    )


def _operator_code(national_code: str | None) -> str:
    """The operator's national code as sent, normalised, or ``OperatorNotRegistered``."""
    if not national_code:
        raise OperatorNotRegistered("send X-Operator: <operator's national code>")
    try:
        return normalise_national_code(national_code)
    except InvalidNationalCode:
        raise OperatorNotRegistered("X-Operator is not a valid national code") from None


def _operator_candidates(pseudonyms: Pseudonymizer, national_code: str | None) -> list[str]:
    """The pseudonyms an operator's national code may be registered under (one per key)."""
    return list(pseudonyms.national_codes(_operator_code(national_code)))


def authenticate_operator(
    store: Store, pseudonyms: Pseudonymizer, office: OfficeView, national_code: str | None
) -> str:
    """The operator's pseudonym if registered (and not revoked) at this office."""
    candidates = _operator_candidates(pseudonyms, national_code)
    with store.statement() as connection:
        found = connection.execute(
            _ACTIVE_OPERATOR, {"office": office.id, "pseudonyms": candidates}
        ).scalar()
    if found is None:
        raise OperatorNotRegistered()
    return str(found)  # as registered: an operator keeps one pseudonym across key rotations


def today() -> dt.date:
    """Today's date in Tehran."""
    return dt.datetime.now(TEHRAN).date()


def check_licence(office: OfficeView, on: dt.date | None = None) -> None:
    """Refuse an office that is suspended, revoked, or past its licence's expiry."""
    if office.status == "suspended":
        raise OfficeSuspended()
    if office.status == "revoked":
        raise OfficeRevoked()
    if office.expires_on < (on or today()):
        raise LicenceExpired(f"the licence expired on {office.expires_on.isoformat()}")
