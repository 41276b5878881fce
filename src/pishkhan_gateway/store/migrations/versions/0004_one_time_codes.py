"""one-time codes for identity level 3

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("citizen", sa.String(length=64), nullable=False),
        sa.Column("mobile", sa.String(length=64), nullable=False),
        sa.Column("code_hmac", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consumed_key", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_one_time_codes_binding",
        "one_time_codes",
        ["office_id", "service", "citizen", "mobile"],
    )
    op.create_index("ix_one_time_codes_mobile_created", "one_time_codes", ["mobile", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_one_time_codes_mobile_created", table_name="one_time_codes")
    op.drop_index("ix_one_time_codes_binding", table_name="one_time_codes")
    op.drop_table("one_time_codes")
