"""The schema: migrations match the tables, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import Base


def test_migrations_match_the_table_definitions(db_url):
    store = Store(db_url)
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    store.dispose()
    assert diff == []


def test_upgrade_is_idempotent_and_current(db_url):
    store = Store(db_url)
    store.upgrade()
    assert store.is_current()
    store.dispose()


def test_sqlite_runs_in_wal_with_full_sync(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.dispose()


def test_a_one_statement_read_opens_no_sqlite_transaction(tmp_path):
    """``Store.statement()`` (the credential check) skips BEGIN: nothing holds a read snapshot
    between requests, and the statement is not charged a round of its own."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.upgrade()
    with store.statement() as connection:
        assert connection.exec_driver_sql("SELECT size FROM log_state").scalar() == 0
        assert not connection.connection.dbapi_connection.in_transaction
    with store.read() as session:
        session.execute(text("SELECT size FROM log_state")).scalar()
        assert session.connection().connection.dbapi_connection.in_transaction
    store.dispose()
