"""The database itself refuses to change or remove an event, whoever asks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from activities.database import app_database_url, create_app_engine
from activities.eventstore import EventStore
from tests.conftest import APP_ROLE
from tests.store.helpers import new_event, unique_stream

CHANGES = [
    "UPDATE events SET data = '{}' WHERE stream_id = :s",
    "DELETE FROM events WHERE stream_id = :s",
    "TRUNCATE events",
]


@pytest.fixture()
def stream(store: EventStore) -> str:
    name = unique_stream()
    store.append(name, 0, [new_event()])
    return name


@pytest.mark.parametrize("statement", CHANGES)
def test_the_application_role_may_not_update_delete_or_truncate(
    app_engine: Engine, store: EventStore, stream: str, statement: str
):
    with app_engine.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(statement), {"s": stream})
        conn.rollback()
    assert len(store.read_stream(stream)) == 1


@pytest.mark.parametrize("statement", CHANGES)
def test_triggers_refuse_changes_even_from_the_table_owner(
    owner_engine: Engine, store: EventStore, stream: str, statement: str
):
    with owner_engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text(statement), {"s": stream})
        conn.rollback()
    assert len(store.read_stream(stream)) == 1


def test_the_application_role_really_is_in_use(app_engine: Engine):
    with app_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT current_user").scalar() == "duban_app"
        privileges = conn.exec_driver_sql(
            "SELECT privilege_type FROM information_schema.role_table_grants"
            " WHERE table_name = 'events' AND grantee = 'duban_app' ORDER BY 1"
        ).scalars()
        assert list(privileges) == ["INSERT", "SELECT"]


def _owner_of_events(owner_engine: Engine) -> str:
    with owner_engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'events'"
        ).scalar_one()


def test_the_application_logs_in_as_its_role_so_reset_role_gains_nothing(
    app_engine: Engine, store: EventStore, stream: str
):
    with app_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT session_user, current_user").one() == (
            APP_ROLE,
            APP_ROLE,
        )
        conn.exec_driver_sql("RESET ROLE")
        assert conn.exec_driver_sql("SELECT current_user").scalar() == APP_ROLE
        conn.exec_driver_sql("SET SESSION AUTHORIZATION DEFAULT")
        assert conn.exec_driver_sql("SELECT current_user").scalar() == APP_ROLE
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(CHANGES[0]), {"s": stream})
        conn.rollback()
    assert len(store.read_stream(stream)) == 1


@pytest.mark.parametrize(
    "statement",
    [
        'SET ROLE "{owner}"',
        'SET SESSION AUTHORIZATION "{owner}"',
        "SET session_replication_role = replica",
        "ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete",
        "ALTER TABLE events DISABLE TRIGGER ALL",
        "DROP TRIGGER events_no_update_or_delete ON events",
        "CREATE ROLE duban_escape SUPERUSER",
        # Nothing of its own next to the store (PostgreSQL <= 14 lets PUBLIC create there;
        # migration 0008 revokes it): no table, no function shadowing ours.
        "CREATE TABLE public.events_shadow (position bigint)",
        "CREATE FUNCTION public.duban_shadow() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ],
)
def test_the_application_role_cannot_climb_out_of_its_rights(
    app_engine: Engine, owner_engine: Engine, store: EventStore, stream: str, statement: str
):
    sql = statement.format(owner=_owner_of_events(owner_engine))
    with app_engine.connect() as conn:
        with pytest.raises(
            sa.exc.DBAPIError, match=r"permission denied|must be owner|must be superuser"
        ):
            conn.exec_driver_sql(sql)
        conn.rollback()
        assert conn.exec_driver_sql("SELECT current_user").scalar() == APP_ROLE
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(CHANGES[0]), {"s": stream})
        conn.rollback()
    assert len(store.read_stream(stream)) == 1


def test_the_application_role_is_a_plain_login_that_belongs_to_no_other_role(
    owner_engine: Engine,
):
    with owner_engine.connect() as conn:
        attributes = conn.exec_driver_sql(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication,"
            " rolbypassrls FROM pg_roles WHERE rolname = %(r)s",
            {"r": APP_ROLE},
        ).one()
        memberships = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member"
            " WHERE a.rolname = %(r)s",
            {"r": APP_ROLE},
        ).scalar_one()
    assert tuple(attributes) == (True, False, False, False, False, False)
    assert memberships == 0


def test_an_app_url_that_logs_in_as_another_user_is_refused(database_url: str):
    engine = create_app_engine(database_url, APP_ROLE, app_url=database_url)
    try:
        with pytest.raises(ValueError, match="database_app_url: connects as"), engine.connect():
            pass
    finally:
        engine.dispose()


def test_the_app_url_is_the_configured_url_with_the_app_role_as_user():
    owner = "postgresql://owner:secret@db.example:5432/duban?sslmode=verify-full"
    assert app_database_url(owner, "duban_app") == (
        "postgresql+psycopg2://duban_app@db.example:5432/duban?sslmode=verify-full"
    )
    socket = "postgresql+psycopg2://postgres@/duban?host=%2Ftmp%2Fpg"
    assert make_url(app_database_url(socket, "duban_app")).username == "duban_app"
    assert make_url(app_database_url(socket, "duban_app")).query["host"] == "/tmp/pg"
    explicit = "postgresql://duban_app:app-secret@db.example/duban"
    assert app_database_url(owner, "duban_app", explicit) == (
        "postgresql+psycopg2://duban_app:app-secret@db.example/duban"
    )
    assert app_database_url(owner, None) == (
        "postgresql+psycopg2://owner:secret@db.example:5432/duban?sslmode=verify-full"
    )


def test_a_process_given_only_the_app_url_runs_without_the_owners_credentials(
    database_url: str, store: EventStore, stream: str
):
    """Workers, API replicas and the projector get DUBAN_DATABASE_APP_URL alone (deploy/k8s):
    they store and read as the app role, report themselves ready, and cannot migrate."""
    from activities.health import database_check
    from activities.settings import Settings
    from api.runtime import Runtime

    app_url = app_database_url(database_url, APP_ROLE)
    settings = Settings(database_url=None, database_app_url=app_url)
    runtime = Runtime(settings)
    try:
        with runtime.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == APP_ROLE
        runtime.store.append(stream, 1, [new_event()])
        assert len(runtime.store.read_stream(stream)) == 2
        assert database_check(settings) == (True, "ok")
        with pytest.raises(sa.exc.DBAPIError, match=r"permission denied|must be owner"):
            runtime.migrate()
    finally:
        runtime.close()
