"""An Idempotency-Key is claimed for its request before the command is sent.

Revision ID: 0009_idempotency_claims
Revises: 0008_app_schema_rights
Create Date: 2026-12-02

Why: the key was stored only with the answer. A request whose answer was lost left no row, so
a second request under the same key with another body was sent as well (and, under the same
update id, answered with the first one's outcome). Now the API writes the key and the request's
fingerprint first (a *claim*: no status, no answer yet), sends the command, then fills in the
answer. A claim without an answer is a request in flight or one whose answer was lost: the
same request is sent again under the same update id, another is refused.

``attempt`` numbers the sends of one key: a request the domain refused changed nothing, so
the next request under that key (the same body, say once a timer passed, or a corrected one) is
a new attempt with an update id of its own; Temporal would otherwise answer it with the
remembered refusal.
"""

from alembic import op

revision = "0009_idempotency_claims"
down_revision = "0008_app_schema_rights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE api_idempotency"
        " ALTER COLUMN status_code DROP NOT NULL,"
        " ALTER COLUMN response DROP NOT NULL,"
        " ADD COLUMN attempt integer NOT NULL DEFAULT 1"
    )


def downgrade() -> None:
    # Claims without an answer cannot be kept by the older schema: they changed nothing the
    # older code could answer from.
    op.execute("DELETE FROM api_idempotency WHERE response IS NULL")
    op.execute(
        "ALTER TABLE api_idempotency"
        " DROP COLUMN attempt,"
        " ALTER COLUMN status_code SET NOT NULL,"
        " ALTER COLUMN response SET NOT NULL"
    )
