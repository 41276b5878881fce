"""registry version: a counter the database bumps on any change to offices, their credentials or
operators (triggers), so each worker may cache who is at the counter and still see a revocation
on the next request

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("offices", "office_credentials", "operators")


def upgrade() -> None:
    op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO registry_version (id, version) VALUES (1, 0)")
    bump = "UPDATE registry_version SET version = version + 1 WHERE id = 1"
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER registry_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"BEGIN {bump}; END"
                )
        return
    op.execute(
        "CREATE FUNCTION pishkhan_registry_changed() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {bump}; RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER registry_{table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION pishkhan_registry_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER registry_{table}_{event}")
    else:
        for table in TABLES:
            op.execute(f"DROP TRIGGER registry_{table}_changed ON {table}")
        op.execute("DROP FUNCTION pishkhan_registry_changed()")
    op.drop_table("registry_version")
