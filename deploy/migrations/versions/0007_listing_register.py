"""The public register of listed hazards (挂牌督办公示): every listing of a case, kept.

Revision ID: 0007_listing_register
Revises: 0006_report_figures
Create Date: 2026-11-24

Why:
- Listings and de-listings are published (DOMAIN.md: within 5 working days; from policy
  edition 2 duban's own register is the publication, ``ListingPublished``). ``case_view``'s
  ``listing_no``… columns hold only the listing in force and forget it at 摘牌, so the register
  could not show what was de-listed. ``case_view.listings`` keeps every listing of the case
  (number, level, authority, listed/published/de-listed instants, deadline, what replaced
  it), written by the projector with the rest of the row.
- A partial index covers the few cases ever listed: the register reads only those rows.
- Existing rows would start with no listings although their events have some, so the read
  tables are emptied and the projection put back to position 0: the projector rebuilds them
  from the event store, which is untouched.
"""

from alembic import op

revision = "0007_listing_register"
down_revision = "0006_report_figures"
branch_labels = None
depends_on = None

_READ_TABLES = "case_view, enterprise_view, blacklist_register, case_statistics, grid_unit_view"


def _start_over() -> None:
    op.execute(f"TRUNCATE {_READ_TABLES}")
    op.execute("UPDATE projection_positions SET position = 0, skipped = 0")


def upgrade() -> None:
    _start_over()
    op.execute("ALTER TABLE case_view ADD COLUMN listings jsonb NOT NULL DEFAULT '[]'::jsonb")
    op.execute(
        "CREATE INDEX case_view_ever_listed ON case_view (hazard_id) WHERE listings <> '[]'::jsonb"
    )


def downgrade() -> None:
    _start_over()
    op.execute("DROP INDEX IF EXISTS case_view_ever_listed")
    op.execute("ALTER TABLE case_view DROP COLUMN listings")
