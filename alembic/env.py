"""Alembic environment: the URL comes from ``app.storage.migrations``, the schema from SQLModel."""

from __future__ import annotations

from sqlalchemy import create_engine, pool, text

from alembic import context
from app.storage.tables import metadata

# Several replicas may start together against one PostgreSQL: only one migrates at a time.
MIGRATION_LOCK_ID = 0x6D696772  # "migr"


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.attributes["database_url"],
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.attributes["database_url"]
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
