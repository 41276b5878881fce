"""The database tables. Money is BigInteger rials; times are UTC ``DateTime(timezone=True)``.

Personal data never lands here in plain text: operators and citizens appear only as keyed
pseudonyms (``identity.Pseudonymizer``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base; ``Base.metadata`` is what migrations are checked against."""


class Office(Base):
    """A licensed pishkhan or rural ICT office."""

    __tablename__ = "offices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    licence_no: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    holder: Mapped[str | None] = mapped_column(String(200))  # the licence holder
    type: Mapped[str] = mapped_column(String(16))  # pishkhan | rural_ict
    province: Mapped[str] = mapped_column(String(64), index=True)
    city: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))  # metropolis … village
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|suspended|revoked
    status_reason: Mapped[str | None] = mapped_column(Text)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(Text)
    # An approved relocation taking effect on ``moves_on`` (a Tehran date): from that day the
    # office is in ``next_city`` at ``next_address``, on ``next_category``'s tariff column.
    moves_on: Mapped[dt.date | None] = mapped_column(Date)
    next_city: Mapped[str | None] = mapped_column(String(64))
    next_category: Mapped[str | None] = mapped_column(String(32))
    next_address: Mapped[str | None] = mapped_column(Text)


class OfficeCredential(Base):
    """A bearer credential of an office: ``pgk_<id>.<secret>``; only SHA-256(secret) is kept."""

    __tablename__ = "office_credentials"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Operator(Base):
    """A person allowed to work the counter of one office (national code as pseudonym only)."""

    __tablename__ = "operators"
    __table_args__ = (UniqueConstraint("office_id", "national_code_hmac"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    national_code_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Transaction(Base):
    """One attempt at the counter, whatever its outcome; its log entry has the same index."""

    __tablename__ = "transactions"
    __table_args__ = (Index("ix_transactions_office_index", "office_id", "log_index"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    office_id: Mapped[str | None] = mapped_column(String(64))
    operator: Mapped[str | None] = mapped_column(String(64))  # pseudonym
    service: Mapped[str | None] = mapped_column(String(128), index=True)
    agency: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))  # succeeded|refused|failed|unknown
    code: Mapped[str | None] = mapped_column(String(64))
    http_status: Mapped[int] = mapped_column(Integer)
    citizen: Mapped[str | None] = mapped_column(String(64), index=True)  # pseudonym
    citizen_encrypted: Mapped[str | None] = mapped_column(
        "citizen_sealed", Text, key="citizen_encrypted"
    )  # AES-GCM (crypto/vault.py); the column keeps its first name
    agency_amount: Mapped[int | None] = mapped_column(BigInteger)
    office_fee: Mapped[int | None] = mapped_column(BigInteger)
    total: Mapped[int | None] = mapped_column(BigInteger)
    fee_cap: Mapped[int | None] = mapped_column(BigInteger)
    agency_reference: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    latency_ms: Mapped[int] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text)  # JSON of the agency's result
    receipt: Mapped[str | None] = mapped_column(Text)  # signed receipt JSON
    # An ``unknown`` outcome settled later by reconciliation (its own log entry); the fields
    # above stay as first recorded, so the row still matches its original entry.
    settled_outcome: Mapped[str | None] = mapped_column(String(16))
    settled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    settled_log_index: Mapped[int | None] = mapped_column(BigInteger)
    settled_reference: Mapped[str | None] = mapped_column(String(128))


class LogEntry(Base):
    """The append-only transaction log: RFC 8785 bytes at a gap-free index."""

    __tablename__ = "log_entries"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RegistryVersion(Base):
    """One row: bumped by database triggers on any change to offices, office credentials or
    operators (migration 0011), so a worker's cache of who is at the counter knows when to
    forget (``registry/counters.py``)."""

    __tablename__ = "registry_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class LogState(Base):
    """One row: the log's size. Updating it serialises appends, which keeps indexes gap-free."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class IdempotencyRecord(Base):
    """An office's Idempotency-Key: claimed before dispatch, completed with the response."""

    __tablename__ = "idempotency_keys"

    office_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))  # pending | done
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TariffSchedule(Base):
    """A version of the regulator's tariff, in force from ``effective_at`` until the next one."""

    __tablename__ = "tariff_schedules"
    __table_args__ = (UniqueConstraint("scope", "effective_at", name="uq_tariff_schedules_scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(80), default="national", server_default="national")
    name: Mapped[str] = mapped_column(String(200))
    effective_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    document: Mapped[str] = mapped_column(Text)  # the validated schedule, as JSON
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class MerkleNode(Base):
    """A perfect subtree of the log's Merkle tree: 2^level leaves from index·2^level."""

    __tablename__ = "merkle_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class TreeHead(Base):
    """A signed tree head; ``document`` is the exact signed JSON served to auditors."""

    __tablename__ = "tree_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)


class Supervisor(Base):
    """A regulator, provincial working group or agency auditor: ``role`` and ``scope``."""

    __tablename__ = "supervisors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # regulator | province | agency
    scope: Mapped[str | None] = mapped_column(String(64))  # province or agency name
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SupervisorCredential(Base):
    """A supervisor's bearer credential ``psk_<id>.<secret>``; only SHA-256(secret) is kept."""

    __tablename__ = "supervisor_credentials"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    supervisor_id: Mapped[str] = mapped_column(ForeignKey("supervisors.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OneTimeCode(Base):
    """A one-time code sent for identity level 3: only its keyed hash is kept, bound to the
    office, service, citizen and mobile it was sent for (pseudonyms)."""

    __tablename__ = "one_time_codes"
    __table_args__ = (
        Index("ix_one_time_codes_binding", "office_id", "service", "citizen", "mobile"),
        Index("ix_one_time_codes_mobile_created", "mobile", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office_id: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(128))
    citizen: Mapped[str] = mapped_column(String(64))  # pseudonym
    mobile: Mapped[str] = mapped_column(String(64))  # pseudonym
    code_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    consumed_key: Mapped[str | None] = mapped_column(String(255))  # unused since 2026-12


class AuditRun(Base):
    """One run of ``audit verify`` over the database: when, what it checked, what it found."""

    __tablename__ = "audit_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    entries: Mapped[int] = mapped_column(BigInteger)
    heads: Mapped[int] = mapped_column(Integer)
    problems: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)  # the first findings, one per line


class Intent(Base):
    """A payment or request about to be sent to its agency (the write-ahead half of the outbox).

    Written before the agency call, deleted in the same database transaction that records the
    outcome. One left behind means the worker died in between: ``reconcile`` records it as
    ``unknown`` and then asks the agency what became of it (``intents.py``).
    """

    __tablename__ = "intents"

    transaction_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    outcome: Mapped[str] = mapped_column(Text)  # the Outcome so far, JSON (pseudonyms, sealed)


class KeyUsage(Base):
    """A key some stored data depends on: encrypted personal data names its encryption key,
    pseudonyms were made under a pseudonym key. A host lacking one refuses to start."""

    __tablename__ = "key_usage"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # encryption | pseudonym
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    first_used_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ConsoleSession(Base):
    """A supervisor's console sign-in: the cookie holds only its id, so signing out (or the
    session's age, or revoking the key) ends it on the server, whatever copy of the cookie is
    replayed."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    credential_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LicenceFeeSchedule(Base):
    """The regulator's licence fees by location category, and the yearly fine cap, from a Jalali
    date (``contracts/licences/*.toml``; ``pricing/licencefees.py``)."""

    __tablename__ = "licence_fee_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    effective_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), unique=True)
    document: Mapped[str] = mapped_column(Text)  # the validated document, JSON
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OfficeRequest(Base):
    """An office's request about its licence — renewal, transfer to a new holder, relocation —
    through the province's recommendation to the regulator's decision (``lifecycle.py``)."""

    __tablename__ = "office_requests"
    __table_args__ = (Index("ix_office_requests_office", "office_id", "kind", "state"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    kind: Mapped[str] = mapped_column(String(16))  # renewal | transfer | relocation
    state: Mapped[str] = mapped_column(String(16))  # requested|recommended|approved|refused
    details: Mapped[str] = mapped_column(Text)  # JSON: what is asked (holder, address, …)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recommended_by: Mapped[str | None] = mapped_column(String(64))
    recommended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    recommendation: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    fee: Mapped[int | None] = mapped_column(BigInteger)  # rials, a renewal's fee


class LicenceEvent(Base):
    """One line of an office's licence history (issued, renewed, transferred, relocated,
    suspended, reinstated, revocation requested, revoked), with the log index that proves it."""

    __tablename__ = "licence_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text)  # JSON
    by: Mapped[str | None] = mapped_column(String(64))  # the supervisor (or "office", "cli")
    log_index: Mapped[int | None] = mapped_column(BigInteger)


class ViolationCase(Base):
    """A violation case against an office: opened with evidence, decided (negative points, a
    fine within the doubling rule and the yearly cap), objected to, ruled on
    (``regulation/violations.py``)."""

    __tablename__ = "violation_cases"
    __table_args__ = (Index("ix_violation_cases_office", "office_id", "type", "decided_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # open|decided|objected|upheld|overturned
    evidence: Mapped[str] = mapped_column(Text)  # JSON: transaction ids, complaint, report ids
    description: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_scope: Mapped[str] = mapped_column(String(80))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    points: Mapped[int | None] = mapped_column(Integer)  # negative points, as a positive count
    requested_fine: Mapped[int | None] = mapped_column(BigInteger)
    minimum_fine: Mapped[int | None] = mapped_column(BigInteger)
    fine: Mapped[int | None] = mapped_column(BigInteger)
    fine_cap: Mapped[int | None] = mapped_column(BigInteger)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    objection: Mapped[str | None] = mapped_column(Text)
    objected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ruled_by: Mapped[str | None] = mapped_column(String(64))
    ruled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ruling_reason: Mapped[str | None] = mapped_column(Text)


class AgencyReport(Base):
    """An agency's report about an office: the only thing an agency may do about one."""

    __tablename__ = "agency_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency: Mapped[str] = mapped_column(String(64))
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    subject: Mapped[str] = mapped_column(String(32))  # a violation type
    text: Mapped[str] = mapped_column(Text)
    transactions: Mapped[str] = mapped_column(Text)  # JSON list of transaction ids
    reported_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    log_index: Mapped[int | None] = mapped_column(BigInteger)


class WorkingHours(Base):
    """A province's working hours for one weekday (0 = Saturday … 6 = Friday, Tehran time), as
    its working group sets them; no row for a day means closed."""

    __tablename__ = "working_hours"

    province: Mapped[str] = mapped_column(String(64), primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer, primary_key=True)
    opens: Mapped[str] = mapped_column(String(5))  # HH:MM
    closes: Mapped[str] = mapped_column(String(5))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Checkpoint(Base):
    """The C2SP checkpoint of a signed tree head: ``note`` is the signed note as the log signed
    it; ``cosignatures`` the witnesses' cosignature lines gathered since (``witnessing.py``)."""

    __tablename__ = "checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    cosignatures: Mapped[str] = mapped_column(Text, default="")
    witnesses: Mapped[int] = mapped_column(Integer, default=0)  # how many cosigned it
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WitnessState(Base):
    """What the gateway knows of one witness: the size it last cosigned, when, and the last
    refusal or failure (the console's integrity page, ``/v1/health``)."""

    __tablename__ = "witness_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    cosigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    problem: Mapped[str | None] = mapped_column(Text)


class WithdrawnTariffSchedule(Base):
    """A tariff schedule withdrawn before it took effect, or on the day it was loaded by
    mistake (``tariffchanges.withdraw``): kept with the reason, out of force."""

    __tablename__ = "withdrawn_tariff_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    scope: Mapped[str] = mapped_column(String(80), default="national", server_default="national")
    name: Mapped[str] = mapped_column(String(200))
    effective_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    document: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    withdrawn_by: Mapped[str] = mapped_column(String(64))


class Entitlement(Base):
    """Which offices may sell a service (``pipeline/entitlements.py``): set by the regulator
    (``scope`` national) or a province's working group (``province:<name>``, narrowing it for its
    offices). A service without a rule may be sold by every active office."""

    __tablename__ = "entitlements"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    service: Mapped[str] = mapped_column(String(128), primary_key=True)
    office_types: Mapped[str | None] = mapped_column(Text)  # JSON list; NULL: any type
    categories: Mapped[str | None] = mapped_column(Text)  # JSON list; NULL: any category
    max_rank: Mapped[int | None] = mapped_column(Integer)  # in the newest published ranking
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Feedback(Base):
    """A citizen's rating of one receipt, and the complaint that came with it (one per receipt:
    the primary key), from the receipt's QR page (``citizens/feedback.py``)."""

    __tablename__ = "feedback"

    transaction_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office_id: Mapped[str] = mapped_column(String(64), index=True)
    service: Mapped[str] = mapped_column(String(128), index=True)
    agency: Mapped[str | None] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)
    complaint: Mapped[str | None] = mapped_column(Text)  # redacted free text
    complaint_type: Mapped[str | None] = mapped_column(String(32))
    case_id: Mapped[str | None] = mapped_column(String(40))
    given_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    log_index: Mapped[int] = mapped_column(BigInteger)


class Evaluation(Base):
    """A yearly evaluation of offices: its period, its windows from ``opens_on``, and once
    published the final ranking (``regulation/evaluation.py``)."""

    __tablename__ = "evaluations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    windows: Mapped[str] = mapped_column(Text)  # JSON: days per window, in order
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(64))
    final_ranking: Mapped[str | None] = mapped_column(Text)  # JSON, frozen at publication


class EvaluationEntry(Base):
    """One office in one evaluation: what it declared, what its region made of it, its
    objection and the ruling."""

    __tablename__ = "evaluation_entries"

    evaluation_id: Mapped[str] = mapped_column(ForeignKey("evaluations.id"), primary_key=True)
    office_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    declared: Mapped[str | None] = mapped_column(Text)  # JSON indicators
    declared_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed: Mapped[str | None] = mapped_column(Text)  # JSON indicators as the region set them
    association_score: Mapped[int | None] = mapped_column(Integer)
    referred: Mapped[bool] = mapped_column(Boolean, default=False)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    objection: Mapped[str | None] = mapped_column(Text)
    objected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ruling: Mapped[str | None] = mapped_column(String(16))  # upheld | corrected
    ruling_reason: Mapped[str | None] = mapped_column(Text)
    ruled_by: Mapped[str | None] = mapped_column(String(64))
    ruled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AppointmentCapacity(Base):
    """An office's appointment capacity (``citizens/slots.py``)."""

    __tablename__ = "appointment_capacity"

    office_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    counters: Mapped[int] = mapped_column(Integer)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    days: Mapped[str] = mapped_column(Text)  # JSON: weekday (0 = Saturday) -> [open, close]
    closures: Mapped[str] = mapped_column(Text)  # JSON: Jalali dates
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Appointment(Base):
    """A booking: one counter at one slot start while it holds one (``counter`` NULL once
    cancelled or expired — the unique index then lets the place go), the citizen's mobile sealed
    and pseudonymised (``citizens/bookings.py``)."""

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("office_id", "starts_at", "counter", name="uq_appointments_place"),
        Index("ix_appointments_mobile", "mobile_pseudonym", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the booking reference
    office_id: Mapped[str] = mapped_column(String(64), index=True)
    service: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    counter: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # pending|booked|cancelled|expired|...
    mobile_sealed: Mapped[str] = mapped_column(Text)
    mobile_pseudonym: Mapped[str] = mapped_column(String(64))
    code_sha256: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    transaction_id: Mapped[str | None] = mapped_column(String(40))


class AppointmentOrder(Base):
    """A province's (or the regulator's) order that an office serve by appointment only, from
    ``since`` to ``until`` (a Tehran date, inclusive) (``citizens/crowding.py``)."""

    __tablename__ = "appointment_orders"

    office_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    until: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
