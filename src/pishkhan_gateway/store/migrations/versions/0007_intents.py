"""intents: payments and requests in flight, so a crash mid-call leaves a trace to reconcile

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intents",
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    op.create_index("ix_intents_created_at", "intents", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_intents_created_at", table_name="intents")
    op.drop_table("intents")
