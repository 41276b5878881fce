"""Supervisors and their scope: the regulator sees everything, a region (one of the regulator's
nine) the offices of its provinces, a province its offices, an agency auditor its own services.
Scope is applied inside every query, never after it. What each may *do*: ``authority.py``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.exc import IntegrityError

from pishkhan_gateway.errors import InvalidRequest, Unauthorized
from pishkhan_gateway.registry import credentials, regions
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import (
    ConsoleSession,
    Office,
    Supervisor,
    SupervisorCredential,
    Transaction,
)

ROLES = ("regulator", "region", "province", "agency")
CREDENTIAL_PREFIX = "psk"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Scope:
    """What one supervisor may see and do."""

    supervisor_id: str
    role: str
    name: str | None = None  # the province or agency

    @property
    def label(self) -> str:
        """``regulator``, ``region:3``, ``province:Fars`` or ``agency:postbank``."""
        return self.role if self.role == "regulator" else f"{self.role}:{self.name}"

    @property
    def provinces(self) -> tuple[str, ...] | None:
        """The provinces whose offices this scope oversees: None for all (the regulator), none
        for an agency auditor (it sees its services' transactions, not offices)."""
        if self.role == "regulator":
            return None
        if self.role == "province":
            return (self.name or "",)
        if self.role == "region":
            return regions.provinces_of(self.name or "")
        return ()

    def oversees(self, province: str | None) -> bool:
        """Whether an office in ``province`` is under this supervisor."""
        covered = self.provinces
        return covered is None or (province is not None and province in covered)

    def offices(self) -> ColumnElement[bool]:
        """SQL condition on ``offices``: the offices this scope lists (those it oversees; an
        agency auditor lists every office, which it may report about)."""
        covered = self.provinces
        if covered is None or self.role == "agency":
            return true()
        return Office.province.in_(covered)

    def transactions(self) -> ColumnElement[bool]:
        """SQL condition on ``transactions`` restricting rows to this scope."""
        if self.role == "regulator":
            return true()
        if self.role == "agency":
            return Transaction.agency == self.name
        offices = select(Office.id).where(Office.province.in_(self.provinces or ()))
        return Transaction.office_id.in_(offices.scalar_subquery())

    def sees_entry(self, entry: dict[str, Any], office_province: str | None) -> bool:
        """Whether a decoded log entry is in scope (province, region: the entry's office's)."""
        if self.role == "agency":
            return entry.get("agency") == self.name
        return self.oversees(office_province)


def add(store: Store, supervisor_id: str, role: str, scope: str | None) -> Scope:
    """Register a supervisor; province and agency roles need a scope name."""
    if not _ID.match(supervisor_id):
        raise InvalidRequest("supervisor id: letters, digits, '.', '_', '-'", field="id")
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {ROLES}", field="role")
    if (role == "regulator") != (scope is None):
        raise InvalidRequest(
            "region, province and agency supervisors need --scope; the regulator none",
            field="scope",
        )
    if role == "region" and scope not in regions.NUMBERS:
        raise InvalidRequest("a region is one of the regulator's nine: 1 to 9", field="scope")
    try:
        with store.write() as session:
            session.add(Supervisor(id=supervisor_id, role=role, scope=scope, created_at=utcnow()))
    except IntegrityError:
        raise InvalidRequest(f"supervisor {supervisor_id} already exists") from None
    return Scope(supervisor_id, role, scope)


def issue_key(store: Store, supervisor_id: str, valid_days: int | None = None) -> str:
    """A new credential for the supervisor (valid ``valid_days``, or until revoked), shown
    once."""
    credential, credential_id, secret_sha256 = credentials.new(CREDENTIAL_PREFIX)
    with store.write() as session:
        if session.get(Supervisor, supervisor_id) is None:
            raise InvalidRequest(f"no supervisor {supervisor_id}", field="supervisor")
        session.add(
            SupervisorCredential(
                id=credential_id,
                supervisor_id=supervisor_id,
                secret_sha256=secret_sha256,
                created_at=utcnow(),
                expires_at=credentials.expiry(valid_days),
            )
        )
    return credential


def revoke_key(store: Store, credential: str) -> str:
    """Revoke a supervisor credential (given whole or as its ``psk_<id>`` prefix), effective on
    its next request and ending its console sessions; return the supervisor's id."""
    with store.write() as session:
        row = credentials.revoke(session, SupervisorCredential, CREDENTIAL_PREFIX, credential)
        return row.supervisor_id


def credentials_of_all(store: Store) -> list[dict[str, Any]]:
    """Every supervisor credential (its id half only, never the secret), for the regulator."""
    with store.read() as session:
        rows = session.execute(
            select(SupervisorCredential, Supervisor)
            .join(Supervisor, Supervisor.id == SupervisorCredential.supervisor_id)
            .order_by(Supervisor.id, SupervisorCredential.created_at)
        ).all()
    return [
        {
            "credential": f"{CREDENTIAL_PREFIX}_{cred.id}",
            "supervisor": sup.id,
            "role": sup.role,
            "scope": sup.scope,
            "created_at": cred.created_at.isoformat(),
            "expires_at": cred.expires_at.isoformat() if cred.expires_at else None,
            "revoked": cred.revoked_at is not None,
        }
        for cred, sup in rows
    ]


def authenticate(store: Store, authorization: str | None) -> Scope:
    """The scope behind a ``Bearer psk_…`` header; office credentials never pass here."""
    parsed = credentials.parse(CREDENTIAL_PREFIX, authorization)
    if parsed is None:
        raise Unauthorized("send Authorization: Bearer <supervisor credential>")
    credential_id, secret = parsed
    with store.read() as session:
        row = session.get(SupervisorCredential, credential_id)
        if (
            row is None
            or row.revoked_at is not None
            or credentials.expired(row.expires_at)
            or not credentials.matches(row.secret_sha256, secret)
        ):
            raise Unauthorized()
        supervisor = session.get_one(Supervisor, row.supervisor_id)
        return Scope(supervisor.id, supervisor.role, supervisor.scope)


def scope_of_credential(store: Store, credential_id: str) -> Scope:
    """The scope of a credential already proven once (the console's session holds its id);
    ``Unauthorized`` as soon as it is revoked."""
    with store.read() as session:
        row = session.get(SupervisorCredential, credential_id)
        if row is None or row.revoked_at is not None or credentials.expired(row.expires_at):
            raise Unauthorized("this credential has been revoked or has expired")
        supervisor = session.get_one(Supervisor, row.supervisor_id)
        return Scope(supervisor.id, supervisor.role, supervisor.scope)


SESSION_HOURS = 8  # a console sign-in lasts a working day at most
IDLE_MINUTES = 30  # and ends after half an hour without a click


def open_session(store: Store, credential_id: str) -> str:
    """A console session for a credential just proven; its id is all the cookie holds."""
    session_id, now = secrets.token_hex(16), utcnow()
    with store.write() as session:
        session.add(
            ConsoleSession(
                id=session_id, credential_id=credential_id, created_at=now, last_seen_at=now
            )
        )
    return session_id


def session_scope(store: Store, session_id: str) -> Scope:
    """The scope of a live console session, which this use keeps alive; ``Unauthorized`` once
    it was signed out, idle ``IDLE_MINUTES``, older than ``SESSION_HOURS``, or its credential
    was revoked or expired."""
    now = utcnow()
    with store.write() as session:
        row = session.get(ConsoleSession, session_id)
        if row is None or row.ended_at is not None:
            raise Unauthorized("this session has ended; sign in again")
        if now - _aware(row.created_at) > dt.timedelta(hours=SESSION_HOURS):
            raise Unauthorized("this session is too old; sign in again")
        if now - _aware(row.last_seen_at) > dt.timedelta(minutes=IDLE_MINUTES):
            raise Unauthorized("this session was idle too long; sign in again")
        row.last_seen_at = now
        credential_id = row.credential_id
    return scope_of_credential(store, credential_id)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def end_session(store: Store, session_id: str) -> None:
    """Sign out: the session is over for every copy of its cookie."""
    with store.write() as session:
        row = session.get(ConsoleSession, session_id)
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
