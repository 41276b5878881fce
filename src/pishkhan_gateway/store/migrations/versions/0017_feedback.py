"""feedback: a citizen's rating (1-5) and complaint per receipt, from its QR page

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("complaint", sa.Text(), nullable=True),
        sa.Column("complaint_type", sa.String(length=32), nullable=True),
        sa.Column("case_id", sa.String(length=40), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    with op.batch_alter_table("feedback") as batch:
        batch.create_index(batch.f("ix_feedback_office_id"), ["office_id"], unique=False)
        batch.create_index(batch.f("ix_feedback_service"), ["service"], unique=False)


def downgrade() -> None:
    op.drop_table("feedback")
