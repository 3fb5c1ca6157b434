"""The append-only, hash-chained event store.

Revision ID: 0001_event_store
Revises:
Create Date: 2026-11-22

Why each piece is here:
- ``position`` is assigned by the appender under a transaction-scoped advisory lock, not by a
  sequence: sequences leave gaps on rollback and hand out numbers in start order rather than
  commit order. See activities/eventstore/append.py for the argument.
- ``data`` and ``metadata`` are ``json``, not ``jsonb``: ``json`` keeps the exact text it was
  given, so the hash chain is computed over bytes PostgreSQL never re-serialises.
- Triggers refuse UPDATE, DELETE and TRUNCATE for everyone, owner included; the application
  role additionally has only INSERT and SELECT. Both are needed: privileges stop the app,
  triggers stop an operator's mistake. Only a superuser who disables triggers can tamper, and
  the hash chain plus signed checkpoints catch that.
"""

from alembic import context, op

revision = "0001_event_store"
down_revision = None
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
        CREATE TABLE events (
            position        bigint      PRIMARY KEY CHECK (position > 0),
            stream_id       text        NOT NULL CHECK (length(stream_id) BETWEEN 1 AND 200),
            stream_version  integer     NOT NULL CHECK (stream_version > 0),
            event_id        uuid        NOT NULL,
            event_type      text        NOT NULL CHECK (length(event_type) BETWEEN 1 AND 200),
            schema_version  integer     NOT NULL CHECK (schema_version > 0),
            data            json        NOT NULL,
            metadata        json        NOT NULL,
            occurred_at     timestamptz NOT NULL,
            recorded_at     timestamptz NOT NULL,
            prev_hash       bytea       NOT NULL CHECK (length(prev_hash) = 32),
            hash            bytea       NOT NULL CHECK (length(hash) = 32),
            CONSTRAINT events_event_id_key UNIQUE (event_id),
            CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
        )
        """
    )
    op.execute("COMMENT ON TABLE events IS 'duban event store: append-only, hash-chained'")
    op.execute(
        """
        CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the event store is append-only: % on events is refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()"
    )
    # Wake followers (projections) once per appended batch; delivered at commit only.
    op.execute(
        """
        CREATE FUNCTION events_notify_appended() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('duban_events', (SELECT max(position)::text FROM appended));
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_notify AFTER INSERT ON events REFERENCING NEW TABLE AS appended "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_notify_appended()"
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" LOGIN;
            END IF;
        END $$
        """
    )
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    op.execute(f'REVOKE ALL ON events FROM "{role}"')
    op.execute(f'GRANT SELECT, INSERT ON events TO "{role}"')
    # The migrating user must be able to SET ROLE to the app role (a no-op for superusers).
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
                EXECUTE format('GRANT %I TO %I', '{role}', current_user);
            END IF;
        END $$
        """
    )


def downgrade() -> None:
    raise RuntimeError("the event store is never dropped by a migration")
