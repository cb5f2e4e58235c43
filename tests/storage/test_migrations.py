"""Alembic migrations run up and down on the database under test, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.storage.db import sync_url
from app.storage.migrations import current, downgrade, upgrade
from app.storage.tables import metadata

TABLES = {
    "clients", "users", "signing_keys", "server_secrets", "used_jtis",
    "auth_requests", "devices", "enrollments", "outbox",
    "authorization_requests", "authorization_codes", "browser_sessions", "rate_events",
}  # fmt: skip


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(fresh_database_url):
    assert current(fresh_database_url) is None
    upgrade(fresh_database_url)
    assert current(fresh_database_url) == "0013"
    assert _tables(fresh_database_url) >= TABLES
    downgrade(fresh_database_url, "base")
    assert current(fresh_database_url) is None
    assert _tables(fresh_database_url) == set()
    upgrade(fresh_database_url)
    assert _tables(fresh_database_url) >= TABLES


def test_migrations_match_the_models(fresh_database_url):
    """A model change without a migration fails here (generate one with Alembic autogenerate)."""
    upgrade(fresh_database_url)
    engine = create_engine(sync_url(fresh_database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
