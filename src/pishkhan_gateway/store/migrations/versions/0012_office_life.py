"""the office's life: licence fee schedules, licence requests (renewal, transfer, relocation)
and history, violation cases, agency reports, provincial working hours; offices gain an address
and a relocation taking effect on a date

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = (
    "violation_cases",
    "office_requests",
    "licence_events",
    "agency_reports",
    "working_hours",
    "licence_fee_schedules",
)
COLUMNS = ("address", "moves_on", "next_city", "next_category", "next_address")


def upgrade() -> None:
    op.create_table(
        "licence_fee_schedules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("effective_at"),
    )
    op.create_table(
        "working_hours",
        sa.Column("province", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.String(length=5), nullable=False),
        sa.Column("closes", sa.String(length=5), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("province", "weekday"),
    )
    op.create_table(
        "agency_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("transactions", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_agency_reports_office_id"), "agency_reports", ["office_id"], unique=False
    )
    op.create_table(
        "licence_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_licence_events_office_id"), "licence_events", ["office_id"], unique=False
    )
    op.create_table(
        "office_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recommended_by", sa.String(length=64), nullable=True),
        sa.Column("recommended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recommendation", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_office_requests_office", "office_requests", ["office_id", "kind", "state"], unique=False
    )
    op.create_table(
        "violation_cases",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_scope", sa.String(length=80), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("requested_fine", sa.BigInteger(), nullable=True),
        sa.Column("minimum_fine", sa.BigInteger(), nullable=True),
        sa.Column("fine", sa.BigInteger(), nullable=True),
        sa.Column("fine_cap", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("objection", sa.Text(), nullable=True),
        sa.Column("objected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ruled_by", sa.String(length=64), nullable=True),
        sa.Column("ruled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ruling_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_violation_cases_office",
        "violation_cases",
        ["office_id", "type", "decided_at"],
        unique=False,
    )
    op.add_column("offices", sa.Column("address", sa.Text(), nullable=True))
    op.add_column("offices", sa.Column("moves_on", sa.Date(), nullable=True))
    op.add_column("offices", sa.Column("next_city", sa.String(length=64), nullable=True))
    op.add_column("offices", sa.Column("next_category", sa.String(length=32), nullable=True))
    op.add_column("offices", sa.Column("next_address", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
    for column in COLUMNS:  # SQLite 3.35+ drops a column in place, keeping the triggers
        op.execute(f"ALTER TABLE offices DROP COLUMN {column}")
