from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from activities.database import create_app_engine
from activities.eventstore import EventStore
from activities.projections import READ_TABLES
from tests.conftest import APP_ROLE


@dataclass
class ReadSide:
    engine: Engine
    store: EventStore

    def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        """Every read table's rows in a fixed order, for comparing two projections."""
        tables = {
            "case_view": "hazard_id",
            "enterprise_view": "credit_code",
            "blacklist_register": "proceeding_no",
            "case_statistics": "unit_code, period",
            "grid_unit_view": "code",
            "issued_documents": "key",
            "public_report_view": "report_id",
        }
        assert set(tables) == set(READ_TABLES)
        with self.engine.connect() as conn:
            result = {
                table: [
                    tuple(r)
                    for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}").all()
                ]
                for table, order in tables.items()
            }
            result["projection_positions"] = [
                tuple(r)
                for r in conn.exec_driver_sql(
                    "SELECT name, position, skipped FROM projection_positions ORDER BY name"
                ).all()
            ]
        return result

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.exec_driver_sql(sql, params).all()]


@pytest.fixture()
def read_side(fresh_database_url: str) -> Iterator[ReadSide]:
    engine = create_app_engine(fresh_database_url, APP_ROLE, pool_size=4)
    store = EventStore(engine)
    yield ReadSide(engine, store)
    store.close()
    engine.dispose()


@pytest.fixture(autouse=True)
def _logs_to_this_tests_stderr() -> None:
    """Other suites' CLI runs leave structlog writing to a stream they have closed; the
    projector logs its skipped events, so point the logs at the stream of this test."""
    from activities.logging import configure_logging

    configure_logging("WARNING", "console")
