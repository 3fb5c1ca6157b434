"""Reference data (grid units, enterprises), API tokens and idempotency keys.

Revision ID: 0004_api_access
Revises: 0003_read_models
Create Date: 2026-11-22

Grid units and enterprises are reference data an administrator maintains (定格、定责、定人);
every change is also appended to the event store (streams ``grid-<code>`` and
``enterprise-<credit code>``), so the record of who changed what is as tamper-evident as a
case's. Tokens are stored as SHA-256 hashes only. An idempotency key remembers the first
answer to a POST so that a client's retry gets the same answer, not a second hazard.
"""

from alembic import context, op

revision = "0004_api_access"
down_revision = "0003_read_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    role = context.config.attributes.get("app_role", "duban_app")
    op.execute(
        """
        CREATE TABLE grid_units (
            code               text PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 64),
            name               text NOT NULL,
            level              text NOT NULL CHECK (level IN
                                   ('province', 'city', 'county', 'township', 'village')),
            parent_code        text REFERENCES grid_units (code),
            responsible_person text NOT NULL,
            created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
            updated_at         timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute("CREATE INDEX grid_units_parent ON grid_units (parent_code)")
    op.execute(
        """
        CREATE TABLE enterprises (
            credit_code text PRIMARY KEY CHECK (length(credit_code) = 18),
            name        text NOT NULL,
            industry    text NOT NULL,
            grid_code   text NOT NULL REFERENCES grid_units (code),
            created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
            updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute("CREATE INDEX enterprises_grid ON enterprises (grid_code)")
    op.execute(
        """
        CREATE TABLE api_tokens (
            token_id    text PRIMARY KEY,
            token_hash  bytea NOT NULL UNIQUE,
            role        text NOT NULL CHECK (role IN
                            ('inspector', 'enterprise', 'supervisor', 'auditor', 'admin')),
            scope       text,
            actor_id    text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
            revoked_at  timestamptz
        )
        """
    )
    op.execute(
        """
        CREATE TABLE api_idempotency (
            token_id     text NOT NULL,
            key          text NOT NULL,
            request_hash text NOT NULL,
            status_code  integer NOT NULL,
            response     jsonb NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (token_id, key)
        )
        """
    )
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE ON grid_units, enterprises, api_tokens, api_idempotency"
        f' TO "{role}"'
    )


def downgrade() -> None:
    op.execute("DROP TABLE api_idempotency, api_tokens, enterprises, grid_units")
