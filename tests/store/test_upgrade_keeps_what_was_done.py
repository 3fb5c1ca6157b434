"""Upgrading a database that already holds work: what was done before stays done.

An outbox row queued before the per-recipient deliveries existed was delivered (or given up)
by the webhook of its day; an upgrade must not fan it out again to every person. The document
issuer's position is not rewound by the read models' rebuild: it would walk the whole store.
"""

from __future__ import annotations

import sqlalchemy as sa

from activities.database import migrate
from tests.conftest import APP_ROLE, DatabaseFactory


def test_an_upgrade_sends_no_historical_notice_and_keeps_the_issuers_place(
    databases: DatabaseFactory,
) -> None:
    url = databases.create("upgrade")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        migrate(url, APP_ROLE, revision="0013_issued_documents")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO notification_outbox (step_key, case_id, recipient_kind,"
                    " recipient_id, reason, payload, delivered_at)"
                    " VALUES ('H-1:1:ReminderDue:enterprise:x', 'H-1', 'enterprise', 'x',"
                    " 'reminder', '{}', now())"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO projection_positions (name, position) VALUES"
                    " ('document_issuer', 42), ('read_models', 42)"
                    " ON CONFLICT (name) DO UPDATE SET position = 42"
                )
            )
        migrate(url, APP_ROLE)
        with engine.connect() as conn:
            waiting = conn.execute(
                sa.text("SELECT count(*) FROM notification_outbox WHERE fanned_out_at IS NULL")
            ).scalar_one()
            positions = dict(
                conn.execute(sa.text("SELECT name, position FROM projection_positions")).all()
            )
        assert waiting == 0
        assert positions["document_issuer"] == 42
        assert positions["read_models"] == 0
    finally:
        engine.dispose()
