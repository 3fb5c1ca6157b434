"""The ledger's columns (台账): the rectification notice's measures and responsible person, and
who verified the rectification, kept in ``case_view``.

Revision ID: 0015_ledger_columns
Revises: 0014_notification_deliveries
Create Date: 2026-12-08

Why: a bureau files its hazard ledger with 整改措施, 责任人 and 复查人 beside the dates and
levels the case list already has; the events carry them (RectificationNoticeIssued,
VerificationPassed), the read model did not. The new columns would be empty for rows already
projected, so the read tables are emptied and the projection put back to position 0: the
projector rebuilds them from the event store, which is untouched (as 0010 did).
"""

from alembic import op

revision = "0015_ledger_columns"
down_revision = "0014_notification_deliveries"
branch_labels = None
depends_on = None

_READ_TABLES = "case_view, enterprise_view, blacklist_register, case_statistics, grid_unit_view"


def _start_over() -> None:
    op.execute(f"TRUNCATE {_READ_TABLES}")
    # The read models rebuild; the document issuer keeps its place (it issues each document once
    # and would only walk the whole store again).
    op.execute(
        "UPDATE projection_positions SET position = 0, skipped = 0 WHERE name <> 'document_issuer'"
    )


def upgrade() -> None:
    _start_over()
    op.execute(
        "ALTER TABLE case_view"
        " ADD COLUMN measures text,"
        " ADD COLUMN responsible_person text,"
        " ADD COLUMN verified_by text"
    )
    op.execute("CREATE INDEX case_view_found_at ON case_view (found_at, hazard_id)")


def downgrade() -> None:
    _start_over()
    op.execute("DROP INDEX case_view_found_at")
    op.execute(
        "ALTER TABLE case_view"
        " DROP COLUMN measures, DROP COLUMN responsible_person, DROP COLUMN verified_by"
    )
