"""Issued documents (公文): the read model of every ``DocumentIssued`` event.

Revision ID: 0013_issued_documents
Revises: 0011_console_accounts
Create Date: 2026-12-08

Why:
- duban issues the documents a case produces (整改通知书, 督办通知书, …) as events in the
  issuing authority's yearly stream ``documents-<year>-<unit>`` (``activities/documents/
  issuing.py``). The API lists a case's documents, serves their PDFs and answers the public
  verification of a printed short code; reading the events for that would scan the whole
  store. ``issued_documents`` keeps one row per issued document (its key, number, authority,
  date, the PDF's SHA-256, the stream version the event is at), written by the projector.
- ``short_code`` is unique: a verification code leads to one document, or to none.
- A read table like the others: derived, emptied and refilled by a rebuild.
"""

from alembic import context, op

revision = "0013_issued_documents"
down_revision = "0011_console_accounts"
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
        CREATE TABLE issued_documents (
            key                  text PRIMARY KEY,
            short_code           text NOT NULL UNIQUE,
            kind                 text NOT NULL,
            subject              text NOT NULL,
            source_stream        text NOT NULL,
            source_version       integer NOT NULL,
            source_event         text NOT NULL,
            authority_unit_code  text NOT NULL,
            authority_name       text NOT NULL,
            number               text NOT NULL,
            year                 integer NOT NULL,
            serial               integer NOT NULL,
            title                text NOT NULL,
            signed_on            date NOT NULL,
            deadline             timestamptz,
            sha256               text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            size                 integer NOT NULL,
            stream_id            text NOT NULL,
            stream_version       integer NOT NULL,
            position             bigint NOT NULL,
            UNIQUE (stream_id, stream_version)
        )
        """
    )
    op.execute(
        "CREATE INDEX issued_documents_subject ON issued_documents"
        " (subject, source_version, position)"
    )
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON issued_documents TO "{role}"')


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS issued_documents")
