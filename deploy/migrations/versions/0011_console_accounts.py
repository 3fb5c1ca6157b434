"""People sign in as people: accounts, console sessions and the append-only account log.

Revision ID: 0011_console_accounts
Revises: 0010_hazard_figures
Create Date: 2026-12-09

Why:
- ``accounts``: a person's login name, display name, role and scope (as a token's: a grid unit
  for inspectors and supervisors, the enterprise's credit code for the enterprise), the argon2id
  hash of their password (api/passwords.py holds the parameters), preferred language and
  whether the account is disabled. The console's sessions resolve to the same principal as an
  API token, with the login name as the actor recorded on every event.
- ``api_tokens.account_login``: a machine's token may act for an account; the actor it records
  is then the account's, and a disabled account's tokens authenticate nobody.
- ``console_sessions``: only the SHA-256 of a session id is stored (the id itself lives in the
  browser's cookie), with its synchronizer CSRF token, when it started, when it was last used
  and when it ended (signed out, idle, absolute timeout, the account disabled or its password
  reset). The app role reads, inserts and updates (last use, end); it never deletes.
- ``account_log``: every sign-in, failed attempt, lockout, sign-out and account change (who,
  when, from which address, with which user agent), append-only in the database as ``events``
  is: triggers refuse UPDATE, DELETE and TRUNCATE for everyone, and the app role has INSERT and
  SELECT only. Lockouts are computed from it, so an unknown login name is slowed down and locked
  exactly as a known one (the answer never tells them apart).
"""

from alembic import context, op

revision = "0011_console_accounts"
down_revision = "0010_hazard_figures"
branch_labels = None
depends_on = None

ROLES = "('inspector', 'enterprise', 'supervisor', 'auditor', 'admin')"
LOG_KINDS = (
    "('signed_in', 'sign_in_failed', 'locked', 'refused_locked', 'signed_out', 'session_expired',"
    " 'account_created', 'account_disabled', 'account_enabled', 'password_reset')"
)


def _app_role() -> str:
    role = context.config.attributes.get("app_role", "duban_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"database_app_role: not a plain role name: {role!r}")
    return role


def upgrade() -> None:
    role = _app_role()
    op.execute(
        f"""
        CREATE TABLE accounts (
            login          text PRIMARY KEY CHECK (login ~ '^[a-z0-9][a-z0-9._-]{{1,62}}$'),
            display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
            role           text NOT NULL CHECK (role IN {ROLES}),
            scope          text,
            password_hash  text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
            language       text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en')),
            disabled_at    timestamptz,
            created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
            changed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
            password_changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute("ALTER TABLE api_tokens ADD COLUMN account_login text REFERENCES accounts (login)")
    op.execute(
        """
        CREATE TABLE console_sessions (
            session_hash   bytea PRIMARY KEY CHECK (length(session_hash) = 32),
            login          text NOT NULL REFERENCES accounts (login),
            csrf_token     text NOT NULL,
            started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
            last_seen_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
            expires_at     timestamptz NOT NULL,
            ended_at       timestamptz,
            ended_reason   text CHECK (ended_reason IN
                               ('signed_out', 'idle', 'absolute', 'disabled', 'password_reset')),
            client_address text,
            user_agent     text
        )
        """
    )
    op.execute(
        "CREATE INDEX console_sessions_open ON console_sessions (login) WHERE ended_at IS NULL"
    )
    op.execute(
        f"""
        CREATE TABLE account_log (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at             timestamptz NOT NULL DEFAULT clock_timestamp(),
            kind           text NOT NULL CHECK (kind IN {LOG_KINDS}),
            login          text NOT NULL CHECK (length(login) BETWEEN 1 AND 200),
            known_account  boolean NOT NULL,
            actor          text,
            client_address text,
            user_agent     text,
            detail         text
        )
        """
    )
    op.execute("COMMENT ON TABLE account_log IS 'sign-ins and account changes: append-only'")
    op.execute("CREATE INDEX account_log_login ON account_log (login, at)")
    op.execute(
        "CREATE INDEX account_log_address_failures ON account_log (client_address, at)"
        " WHERE kind = 'sign_in_failed'"
    )
    op.execute(
        """
        CREATE FUNCTION account_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the account log is append-only: % on account_log is refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER account_log_no_update_or_delete BEFORE UPDATE OR DELETE ON account_log "
        "FOR EACH ROW EXECUTE FUNCTION account_log_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER account_log_no_truncate BEFORE TRUNCATE ON account_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION account_log_refuse_change()"
    )
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON accounts, console_sessions TO "{role}"')
    op.execute(f'REVOKE ALL ON account_log FROM "{role}"')
    op.execute(f'GRANT SELECT, INSERT ON account_log TO "{role}"')


def downgrade() -> None:
    op.execute("DROP TABLE account_log, console_sessions")
    op.execute("DROP FUNCTION account_log_refuse_change()")
    op.execute("ALTER TABLE api_tokens DROP COLUMN account_login")
    op.execute("DROP TABLE accounts")
