"""Notices that reach people: contact channels, deliveries per recipient and channel, the inbox.

Revision ID: 0014_notification_deliveries
Revises: 0013_issued_documents
Create Date: 2026-12-08

Why:
- ``accounts`` gain their contact channels (e-mail, mobile phone, a work-chat robot of their
  own) and quiet hours (wall-clock times in the policy's time zone): a person's ways of being
  reached are part of their account.
- ``enterprise_contacts``: the enterprise's registered contacts (主要负责人, 安全管理人员) with
  phone and e-mail, the addressees of notices to an enterprise that has no account.
- ``notification_outbox.fanned_out_at``: the outbox stays the single source; a notification is
  fanned out once into its deliveries.
- ``notification_deliveries``: one row per (step, recipient, channel) — the unique key that
  keeps a step from reaching one recipient twice on one channel — with its state (pending,
  sent, given_up: the operator's queue), attempts, back-off and last failure.
- ``notification_attempts``: every attempt of a delivery with its outcome (append-only).
- ``inbox_messages``: the console inbox, one message per (person, step), read or unread.
"""

from alembic import context, op

revision = "0014_notification_deliveries"
down_revision = "0013_issued_documents"
branch_labels = None
depends_on = None


def _app_role() -> str:
    role = context.config.attributes.get("app_role", "duban_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"database_app_role: not a plain role name: {role!r}")
    return role


def upgrade() -> None:
    role = _app_role()
    op.execute(
        """
        ALTER TABLE accounts
            ADD COLUMN email       text CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254),
            ADD COLUMN phone       text CHECK (phone IS NULL OR length(phone) BETWEEN 6 AND 20),
            ADD COLUMN chat_kind   text CHECK (chat_kind IN ('wecom', 'dingtalk', 'feishu')),
            ADD COLUMN chat_url    text CHECK (chat_url IS NULL OR length(chat_url) <= 500),
            ADD COLUMN chat_secret text,
            ADD COLUMN quiet_from  time,
            ADD COLUMN quiet_until time,
            ADD CONSTRAINT accounts_chat_complete CHECK ((chat_kind IS NULL) = (chat_url IS NULL)),
            ADD CONSTRAINT accounts_quiet_complete
                CHECK ((quiet_from IS NULL) = (quiet_until IS NULL))
        """
    )
    op.execute(
        """
        CREATE TABLE enterprise_contacts (
            credit_code text NOT NULL REFERENCES enterprises (credit_code),
            role        text NOT NULL CHECK (role IN ('principal', 'safety_manager')),
            name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            phone       text CHECK (phone IS NULL OR length(phone) BETWEEN 6 AND 20),
            email       text CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254),
            changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (credit_code, role)
        )
        """
    )
    op.execute("ALTER TABLE notification_outbox ADD COLUMN fanned_out_at timestamptz")
    # Notices queued before this revision had their one delivery (the webhook) already: they
    # count as fanned out, or an upgrade would send every historical notice again to everyone.
    op.execute("UPDATE notification_outbox SET fanned_out_at = clock_timestamp()")
    op.execute(
        "CREATE INDEX notification_outbox_to_fan_out ON notification_outbox (id)"
        " WHERE fanned_out_at IS NULL"
    )
    op.execute(
        """
        CREATE TABLE notification_deliveries (
            id                  bigserial   PRIMARY KEY,
            outbox_id           bigint      NOT NULL REFERENCES notification_outbox (id),
            step_key            text        NOT NULL,
            case_id             text        NOT NULL,
            kind                text        NOT NULL,
            recipient           text        NOT NULL,
            recipient_name      text        NOT NULL,
            channel             text        NOT NULL,
            address             text        NOT NULL,
            language            text        NOT NULL,
            subject             text        NOT NULL,
            body                text        NOT NULL,
            markdown            text        NOT NULL,
            link                text        NOT NULL,
            status              text        NOT NULL DEFAULT 'pending'
                                    CHECK (status IN ('pending', 'sent', 'given_up')),
            attempts            integer     NOT NULL DEFAULT 0,
            created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
            next_attempt_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
            sent_at             timestamptz,
            given_up_at         timestamptz,
            last_code           text,
            last_error          text,
            provider_message_id text,
            CONSTRAINT notification_deliveries_once UNIQUE (step_key, recipient, channel)
        )
        """
    )
    op.execute(
        "CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)"
        " WHERE status = 'pending'"
    )
    op.execute(
        "CREATE INDEX notification_deliveries_given_up ON notification_deliveries (given_up_at)"
        " WHERE status = 'given_up'"
    )
    op.execute(
        """
        CREATE TABLE notification_attempts (
            id           bigserial   PRIMARY KEY,
            delivery_id  bigint      NOT NULL REFERENCES notification_deliveries (id),
            at           timestamptz NOT NULL DEFAULT clock_timestamp(),
            sent         boolean     NOT NULL,
            code         text        NOT NULL DEFAULT '',
            reason       text        NOT NULL DEFAULT '',
            retryable    boolean     NOT NULL DEFAULT false
        )
        """
    )
    op.execute("CREATE INDEX notification_attempts_delivery ON notification_attempts (delivery_id)")
    op.execute(
        """
        CREATE TABLE inbox_messages (
            id               bigserial   PRIMARY KEY,
            login            text        NOT NULL REFERENCES accounts (login),
            step_key         text        NOT NULL,
            case_id          text        NOT NULL,
            kind             text        NOT NULL,
            subject          text        NOT NULL,
            body             text        NOT NULL,
            link             text        NOT NULL,
            must_acknowledge boolean     NOT NULL DEFAULT false,
            created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
            read_at          timestamptz,
            CONSTRAINT inbox_messages_once UNIQUE (login, step_key)
        )
        """
    )
    op.execute("CREATE INDEX inbox_messages_login ON inbox_messages (login, read_at, id)")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE ON enterprise_contacts, notification_deliveries,"
        f' inbox_messages TO "{role}";'
        f'GRANT SELECT, INSERT ON notification_attempts TO "{role}";'
        f"GRANT USAGE ON SEQUENCE notification_deliveries_id_seq, notification_attempts_id_seq,"
        f' inbox_messages_id_seq TO "{role}"'
    )


def downgrade() -> None:
    op.execute("DROP TABLE inbox_messages, notification_attempts, notification_deliveries")
    op.execute("DROP TABLE enterprise_contacts")
    op.execute("ALTER TABLE notification_outbox DROP COLUMN fanned_out_at")
    op.execute(
        "ALTER TABLE accounts DROP CONSTRAINT accounts_chat_complete,"
        " DROP CONSTRAINT accounts_quiet_complete, DROP COLUMN email, DROP COLUMN phone,"
        " DROP COLUMN chat_kind, DROP COLUMN chat_url, DROP COLUMN chat_secret,"
        " DROP COLUMN quiet_from, DROP COLUMN quiet_until"
    )
