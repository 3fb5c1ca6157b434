"""The application logs in as its own role; an append is one round trip.

Revision ID: 0005_app_login_role
Revises: 0004_api_access
Create Date: 2026-11-23

Why:
- Until now the processes connected as the owner and ran ``SET ROLE duban_app``; any code in
  the process could ``RESET ROLE`` and get the owner's rights back. Now the app role is a LOGIN
  role and the application connects as it, so there is nothing to reset to. The role is made
  harmless as a login: no superuser, no role or database creation, no replication, no RLS
  bypass, and it is a member of no other role. Its table rights stay those 0001-0004 granted
  (INSERT and SELECT on ``events``; what the outbox, read models and API tables need).
- An append is now one round trip instead of two: the database takes the append lock, reads
  the stream's version and the head, checks the expected version, hashes and inserts. Appends
  are serialised, so their round trips and the work done under the lock *are* the throughput.
  ``duban_append`` does it for a batch; a single event goes through one prepared statement
  (activities/eventstore/append.py) that is cheaper still. Both hash ``duban_event_content``:
  the very bytes ``activities/eventstore/chain.py`` defines (verification recomputes them in
  Python) — the header's strings through ``to_json`` (the same escaping as Python's
  ``json.dumps`` with ``ensure_ascii=False``), the instants through verification's ``to_char``.
- The insert trigger that notified followers is replaced by one ``pg_notify`` per append:
  its transition table cost more than the rest of a single-event append.
"""

from alembic import context, op

revision = "0005_app_login_role"
down_revision = "0004_api_access"
branch_labels = None
depends_on = None


def _app_role() -> str:
    role = context.config.attributes.get("app_role", "duban_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"database_app_role: not a plain role name: {role!r}")
    return role


def upgrade() -> None:
    role = _app_role()
    # ALTER ROLE needs CREATEROLE; skip it when a DBA already made the role exactly so.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (
                SELECT FROM pg_roles WHERE rolname = '{role}'
                AND (NOT rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb
                     OR rolreplication OR rolbypassrls OR rolinherit)
            ) THEN
                ALTER ROLE "{role}" LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB
                    NOREPLICATION NOBYPASSRLS NOINHERIT;
            END IF;
        END $$
        """
    )
    # Connecting as the app role must not smuggle in another role's rights.
    op.execute(
        f"""
        DO $$
        DECLARE granted record;
        BEGIN
            FOR granted IN
                SELECT r.rolname FROM pg_auth_members m
                JOIN pg_roles r ON r.oid = m.roleid
                JOIN pg_roles a ON a.oid = m.member
                WHERE a.rolname = '{role}'
            LOOP
                EXECUTE format('REVOKE %I FROM %I', granted.rolname, '{role}');
            END LOOP;
            -- A grant made by another role's ADMIN may survive the REVOKE above: say so.
            IF EXISTS (
                SELECT FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member
                WHERE a.rolname = '{role}'
            ) THEN
                RAISE EXCEPTION 'role {role} is still a member of another role; revoke that '
                    'membership (its grantor must) and migrate again';
            END IF;
        END $$
        """
    )
    # The appends notify followers themselves, once each (delivered at commit, as before).
    op.execute("DROP TRIGGER events_notify ON events")
    op.execute("DROP FUNCTION events_notify_appended()")
    op.execute(_CONTENT_FUNCTION)
    op.execute(f'GRANT EXECUTE ON FUNCTION {_CONTENT_SIGNATURE} TO "{role}"')
    op.execute(_APPEND_FUNCTION)
    op.execute(
        "REVOKE ALL ON FUNCTION duban_append(text, integer, uuid[], text[], integer[], text[],"
        " text[], timestamptz[]) FROM PUBLIC"
    )
    op.execute(
        "GRANT EXECUTE ON FUNCTION duban_append(text, integer, uuid[], text[], integer[], text[],"
        f' text[], timestamptz[]) TO "{role}"'
    )


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION duban_append(text, integer, uuid[], text[], integer[], text[], text[],"
        " timestamptz[])"
    )
    op.execute(f"DROP FUNCTION {_CONTENT_SIGNATURE}")
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


_CONTENT_SIGNATURE = (
    "duban_event_content(bigint, text, integer, uuid, text, integer, timestamptz, timestamptz,"
    " text, text)"
)
# The canonical bytes of activities/eventstore/chain.py (canonical_event_bytes), spelled in SQL
# once for every writer here. A plain SQL expression, so the planner inlines it: no call costs.
_CONTENT_FUNCTION = r"""
CREATE FUNCTION duban_event_content(
    p_position bigint, p_stream_id text, p_stream_version integer, p_event_id uuid,
    p_event_type text, p_schema_version integer, p_occurred_at timestamptz,
    p_recorded_at timestamptz, p_data text, p_metadata text
) RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT convert_to(
        '["duban/1",' || p_position || ',' || to_json(p_stream_id)::text || ','
        || p_stream_version || ',"' || p_event_id || '",' || to_json(p_event_type)::text || ','
        || p_schema_version || ',"'
        || to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '","'
        || to_char(p_recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"]'
        || chr(10) || p_data || chr(10) || p_metadata,
        'UTF8')
$$
"""

# 431466111342 = 0x647562616E ("duban"), activities.eventstore.append.APPEND_LOCK_KEY. It runs as
# the caller (SECURITY INVOKER): the app role's own INSERT and SELECT are all it needs.
_APPEND_FUNCTION = r"""
CREATE FUNCTION duban_append(
    p_stream_id text,
    p_expected_version integer,
    p_event_ids uuid[],
    p_event_types text[],
    p_schema_versions integer[],
    p_data text[],
    p_metadata text[],
    p_occurred_at timestamptz[],
    OUT outcome text,
    OUT current_version integer,
    OUT last_position bigint
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    batch_size integer := cardinality(p_event_ids);
    head_position bigint;
    running_hash bytea;
    recorded timestamptz;
    prev_hashes bytea[] := '{}';
    hashes bytea[] := '{}';
    k integer;
BEGIN
    -- Under REPEATABLE READ or SERIALIZABLE the snapshot would predate the lock and the head
    -- read below could be stale: two appends would compute the same position.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'duban_append runs at READ COMMITTED only, not %',
            current_setting('transaction_isolation') USING ERRCODE = 'DU001';
    END IF;
    IF batch_size IS NULL OR batch_size < 1
        OR cardinality(p_event_types) <> batch_size OR cardinality(p_schema_versions) <> batch_size
        OR cardinality(p_data) <> batch_size OR cardinality(p_metadata) <> batch_size
        OR cardinality(p_occurred_at) <> batch_size THEN
        RAISE EXCEPTION 'duban_append: the event arrays must be non-empty and of one length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Global order = commit order: every append holds this lock until its transaction ends,
    -- and PostgreSQL makes a transaction's rows visible before it releases its locks; so the
    -- head read next (a fresh READ COMMITTED snapshot, taken after the lock) already includes
    -- every earlier append, and position head+1 can never become visible before the head.
    PERFORM pg_advisory_xact_lock(431466111342);
    SELECT coalesce((SELECT max(e.stream_version) FROM events e
                     WHERE e.stream_id = p_stream_id), 0),
           head.position, head.hash
        INTO current_version, head_position, running_hash
        FROM (SELECT) AS one
        LEFT JOIN LATERAL (SELECT e.position, e.hash FROM events e
                           ORDER BY e.position DESC LIMIT 1) AS head ON true;
    IF p_expected_version IS NOT NULL AND p_expected_version <> current_version THEN
        outcome := 'conflict';
        RETURN;
    END IF;
    IF head_position IS NULL THEN
        head_position := 0;
        running_hash := decode(repeat('00', 32), 'hex');
    END IF;
    recorded := clock_timestamp();
    FOR k IN 1 .. batch_size LOOP
        prev_hashes[k] := running_hash;
        running_hash := sha256(running_hash || duban_event_content(
            head_position + k, p_stream_id, current_version + k, p_event_ids[k],
            p_event_types[k], p_schema_versions[k], p_occurred_at[k], recorded, p_data[k],
            p_metadata[k]));
        hashes[k] := running_hash;
    END LOOP;
    INSERT INTO events (position, stream_id, stream_version, event_id, event_type,
                        schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)
    SELECT head_position + s.k, p_stream_id, current_version + s.k, p_event_ids[s.k],
           p_event_types[s.k], p_schema_versions[s.k], p_data[s.k]::json, p_metadata[s.k]::json,
           p_occurred_at[s.k], recorded, prev_hashes[s.k], hashes[s.k]
    FROM generate_series(1, batch_size) AS s(k);
    outcome := 'appended';
    current_version := current_version + batch_size;
    last_position := head_position + batch_size;
    -- Wakes followers (wait_for_events) once per batch; PostgreSQL delivers it at commit.
    PERFORM pg_notify('duban_events', last_position::text);
END $$
"""
