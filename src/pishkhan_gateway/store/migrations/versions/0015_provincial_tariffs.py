"""provincial tariff schedules: a schedule has a scope (national, or province:<name>), and one
schedule per scope and effective instant

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# SQLite's copy of 0001's unnamed UNIQUE(effective_at) gets this name while the table is rebuilt
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _effective_at_unique() -> str:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return "uq_tariff_schedules_effective_at"
    for constraint in sa.inspect(bind).get_unique_constraints("tariff_schedules"):
        if constraint["column_names"] == ["effective_at"]:
            return str(constraint["name"])
    raise RuntimeError("tariff_schedules has no UNIQUE(effective_at) to replace")


def upgrade() -> None:
    old = _effective_at_unique()
    with op.batch_alter_table("tariff_schedules", naming_convention=NAMING) as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=80), nullable=False, server_default="national")
        )
        batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint("uq_tariff_schedules_scope", ["scope", "effective_at"])
    with op.batch_alter_table("withdrawn_tariff_schedules") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=80), nullable=False, server_default="national")
        )


def downgrade() -> None:
    with op.batch_alter_table("withdrawn_tariff_schedules") as batch:
        batch.drop_column("scope")
    with op.batch_alter_table("tariff_schedules") as batch:
        batch.drop_constraint("uq_tariff_schedules_scope", type_="unique")
        batch.create_unique_constraint("uq_tariff_schedules_effective_at", ["effective_at"])
        batch.drop_column("scope")
