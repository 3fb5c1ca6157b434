"""The app role cannot create objects; the hourly audit job's scans use indexes.

Revision ID: 0008_app_schema_rights
Revises: 0007_listing_register
Create Date: 2026-11-25

Why:
- PostgreSQL up to 14 grants CREATE on schema ``public`` to PUBLIC, so the app role could
  create tables (or functions that shadow ours) next to the event store. CREATE is revoked
  from the app role and from PUBLIC. The owner (the migrating user) keeps creating objects
  for later migrations: when it is not the schema's owner it is granted CREATE and USAGE
  itself first, which the schema's owner or a superuser can do. When the migrating user is
  neither, the revoke from PUBLIC would silently do nothing, so the migration checks the app
  role really lost CREATE and stops with the statements a DBA must run if it did not.
- The hourly history export lists case closings (``event_type`` CaseClosed/CaseWithdrawn)
  and the recorded exports (streams ``history-case-…``). Without indexes both read the whole
  events table every hour; at province scale that is hundreds of millions of rows. Two
  partial indexes cover exactly those rows: the closings by position (the export's cursor)
  and the history streams by (stream_id, stream_version) (the restore check's cursor).
  They are built CONCURRENTLY: appends go on during the build of a large table. A build
  interrupted half-way leaves an invalid index, so each build first drops one left over.
"""

from alembic import context, op

revision = "0008_app_schema_rights"
down_revision = "0007_listing_register"
branch_labels = None
depends_on = None

CASE_ENDINGS_INDEX = "events_case_endings"
HISTORY_STREAMS_INDEX = "events_history_streams"

_INDEXES = {
    CASE_ENDINGS_INDEX: (
        "ON events (position) WHERE event_type IN ('CaseClosed', 'CaseWithdrawn')"
        " AND stream_id LIKE 'case-%'"
    ),
    HISTORY_STREAMS_INDEX: (
        "ON events (stream_id, stream_version) WHERE stream_id LIKE 'history-case-%'"
    ),
}


def _app_role() -> str:
    role = context.config.attributes.get("app_role", "duban_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"database_app_role: not a plain role name: {role!r}")
    return role


def upgrade() -> None:
    role = _app_role()
    op.execute(
        f"""
        DO $$
        DECLARE
            schema_owner oid := (SELECT nspowner FROM pg_namespace WHERE nspname = 'public');
            migrator_is_super boolean := (SELECT rolsuper FROM pg_roles
                                          WHERE rolname = current_user);
        BEGIN
            IF migrator_is_super OR pg_has_role(schema_owner, 'MEMBER') THEN
                IF NOT pg_has_role(schema_owner, 'MEMBER') THEN
                    -- The owner creates the next migrations' objects by its own grant, not
                    -- PUBLIC's.
                    EXECUTE format('GRANT USAGE, CREATE ON SCHEMA public TO %I', current_user);
                END IF;
                REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            END IF;
            REVOKE CREATE ON SCHEMA public FROM "{role}";
            IF has_schema_privilege('{role}', 'public', 'CREATE') THEN
                RAISE EXCEPTION 'role {role} can still CREATE in schema public (through '
                    'PUBLIC or another grant) and % may not revoke it; as the schema''s owner '
                    'or a superuser run: GRANT USAGE, CREATE ON SCHEMA public TO %I; REVOKE '
                    'CREATE ON SCHEMA public FROM PUBLIC; then migrate again',
                    current_user, current_user;
            END IF;
        END $$
        """
    )
    with op.get_context().autocommit_block():
        for name, definition in _INDEXES.items():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"CREATE INDEX CONCURRENTLY {name} {definition}")


def downgrade() -> None:
    role = _app_role()
    with op.get_context().autocommit_block():
        for name in _INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    # PUBLIC's CREATE is not given back: PostgreSQL 15 does not grant it either.
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
