"""appointments: offices' capacity, citizens' bookings (one counter at one slot start) and
appointment-only orders

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment_capacity",
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("counters", sa.Integer(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("days", sa.Text(), nullable=False),
        sa.Column("closures", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("office_id"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("mobile_sealed", sa.Text(), nullable=False),
        sa.Column("mobile_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "starts_at", "counter", name="uq_appointments_place"),
    )
    op.create_table(
        "appointment_orders",
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("office_id"),
    )
    with op.batch_alter_table("appointments") as batch:
        batch.create_index("ix_appointments_mobile", ["mobile_pseudonym", "created_at"])
        batch.create_index(batch.f("ix_appointments_office_id"), ["office_id"], unique=False)


def downgrade() -> None:
    op.drop_table("appointment_orders")
    op.drop_table("appointments")
    op.drop_table("appointment_capacity")
