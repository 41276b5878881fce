"""evaluations: the yearly evaluation of offices (windows, declarations, reviews, objections,
the published ranking)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("windows", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.Column("final_ranking", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "evaluation_entries",
        sa.Column("evaluation_id", sa.String(length=40), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("declared", sa.Text(), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed", sa.Text(), nullable=True),
        sa.Column("association_score", sa.Integer(), nullable=True),
        sa.Column("referred", sa.Boolean(), nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("objection", sa.Text(), nullable=True),
        sa.Column("objected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ruling", sa.String(length=16), nullable=True),
        sa.Column("ruling_reason", sa.Text(), nullable=True),
        sa.Column("ruled_by", sa.String(length=64), nullable=True),
        sa.Column("ruled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"]),
        sa.PrimaryKeyConstraint("evaluation_id", "office_id"),
    )


def downgrade() -> None:
    op.drop_table("evaluation_entries")
    op.drop_table("evaluations")
