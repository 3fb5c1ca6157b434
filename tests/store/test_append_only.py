"""The database itself refuses to change or remove an event, whoever asks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.eventstore import EventStore
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
