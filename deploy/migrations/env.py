"""Alembic environment: migrations run online against the URL the caller configured."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

config = context.config


def run_migrations_online() -> None:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("duban migrations run online only: `duban migrate`")
run_migrations_online()
