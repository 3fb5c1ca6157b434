"""The notification outbox: who must be told what, once per step.

Revision ID: 0002_notification_outbox
Revises: 0001_event_store
Create Date: 2026-11-22

A case's workflow writes a row per (event, recipient) through an idempotent activity; the
dispatcher in the worker delivers rows to the configured webhook with retries. ``step_key`` is
unique, so a retried activity or a replayed workflow never queues the same notice twice.
Unlike the event store this table is mutable (delivery state), and the app role may update it.
"""

from alembic import context, op

revision = "0002_notification_outbox"
down_revision = "0001_event_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    role = context.config.attributes.get("app_role", "duban_app")
    op.execute(
        """
        CREATE TABLE notification_outbox (
            id               bigserial   PRIMARY KEY,
            step_key         text        NOT NULL UNIQUE,
            case_id          text        NOT NULL,
            workflow_id      text,
            recipient_kind   text        NOT NULL,
            recipient_id     text        NOT NULL,
            reason           text        NOT NULL,
            payload          jsonb       NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
            attempts         integer     NOT NULL DEFAULT 0,
            next_attempt_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
            delivered_at     timestamptz,
            last_error       text
        )
        """
    )
    op.execute(
        "CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at)"
        " WHERE delivered_at IS NULL"
    )
    op.execute("CREATE INDEX notification_outbox_case ON notification_outbox (case_id)")
    op.execute(
        f'GRANT SELECT, INSERT, UPDATE ON notification_outbox TO "{role}";'
        f'GRANT USAGE ON SEQUENCE notification_outbox_id_seq TO "{role}"'
    )


def downgrade() -> None:
    op.execute("DROP TABLE notification_outbox")
