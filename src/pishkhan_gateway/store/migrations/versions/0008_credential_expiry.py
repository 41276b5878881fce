"""credentials expire: office and supervisor credentials carry an optional end of validity

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("office_credentials", "supervisor_credentials"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("office_credentials", "supervisor_credentials"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("expires_at")
