"""Who uploaded each evidence file: a file is cited by its hash only by someone who uploaded it.

Revision ID: 0019_evidence_uploads
Revises: 0018_duties
Create Date: 2026-12-08

Why:
- The blob store holds every file duban keeps under its SHA-256: evidence uploads and the
  issued documents' PDFs alike, and a document's hash is public (its verification page).
  Citing a hash that only names a stored file let anyone put another's file into a case of
  their own and read it back through that case. ``evidence_uploads`` records who uploaded
  which file (one row per file and actor, inserted again harmlessly on each upload), and a
  command may cite a stored file only if its actor uploaded it or its case already names it.
  Insert-only for the app role.
"""

from alembic import context, op

revision = "0019_evidence_uploads"
down_revision = "0018_duties"
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
        CREATE TABLE evidence_uploads (
            sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            actor       text NOT NULL,
            uploaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (sha256, actor)
        )
        """
    )
    op.execute(f'REVOKE ALL ON evidence_uploads FROM "{role}"')
    op.execute(f'GRANT SELECT, INSERT ON evidence_uploads TO "{role}"')


def downgrade() -> None:
    op.execute("DROP TABLE evidence_uploads")
