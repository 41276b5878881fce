"""entitlements: which office types, location categories and ranks may sell a service, set by the
regulator (national) or a province's working group (its offices)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entitlements",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("office_types", sa.Text(), nullable=True),
        sa.Column("categories", sa.Text(), nullable=True),
        sa.Column("max_rank", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "service"),
    )


def downgrade() -> None:
    op.drop_table("entitlements")
