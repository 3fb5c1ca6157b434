"""A reporter's identity and the flood-protection records are insert-only for the application:
what was kept cannot be changed or erased by it (migration 0018)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE public_report_identities SET name = 'x' WHERE report_id = %(r)s",
        "DELETE FROM public_report_identities WHERE report_id = %(r)s",
        "DELETE FROM public_report_challenges WHERE challenge = %(r)s",
        "UPDATE public_report_submissions SET report_id = 'x' WHERE challenge = %(r)s",
        "TRUNCATE public_report_identities",
    ],
)
def test_the_application_may_only_add_to_the_identities_and_flood_records(
    app_engine: Engine, statement: str
):
    report_id = f"R-{uuid.uuid4().hex[:24]}"
    with app_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO public_report_identities (report_id, name, contact, digest)"
            " VALUES (%(r)s, '张某', '138', %(d)s)",
            {"r": report_id, "d": "e" * 64},
        )
    with app_engine.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.exec_driver_sql(statement, {"r": report_id})
        conn.rollback()
    with app_engine.connect() as conn:
        kept = conn.exec_driver_sql(
            "SELECT name FROM public_report_identities WHERE report_id = %(r)s", {"r": report_id}
        ).scalar()
    assert kept == "张某"
