"""Read models for the reports: one set of figures, per deadline and per period end.

Revision ID: 0006_report_figures
Revises: 0005_app_login_role
Create Date: 2026-11-23

Why:
- Reports are computed from the read tables, so those tables must hold every figure of
  DOMAIN.md "Reports and figures" with the definitions in
  activities/projections/read_models/figures/:
  found by ``found_at``; the on-time rate per deadline, counted in the deadline's month;
  listings and de-listings by level; blacklist proceedings opened; and the cases overdue at
  each month's end (``overdue_at_end``: overdue spells that ended after the month's end; the
  spells still running are read from ``case_view``).
- ``case_view.settled_deadline_no``: the last deadline whose outcome (met or missed) has been
  counted, so a deadline is counted once whichever event settles it (a missed-deadline timer,
  a failed verification after it, a passed one).
- ``case_view.deadline_running_since``: since when the deadline in force has been running
  with no rectification report awaiting verification; with the deadline it tells whether the
  case was overdue at a past instant.
- The old counters meant something else (found by registration time, one "due" per case), so
  the read tables are emptied and the projection put back to position 0: the projector
  rebuilds them from the event store, which is untouched.
"""

from alembic import op

revision = "0006_report_figures"
down_revision = "0005_app_login_role"
branch_labels = None
depends_on = None

_READ_TABLES = "case_view, enterprise_view, blacklist_register, case_statistics, grid_unit_view"
_NEW_METRICS = (
    "overdue_at_end",
    "listed_county",
    "listed_city",
    "listed_province",
    "delisted_county",
    "delisted_city",
    "delisted_province",
    "blacklist_proceedings_opened",
)


def _start_over() -> None:
    op.execute(f"TRUNCATE {_READ_TABLES}")
    op.execute("UPDATE projection_positions SET position = 0, skipped = 0")


def upgrade() -> None:
    _start_over()
    op.execute(
        "ALTER TABLE case_view"
        " ADD COLUMN settled_deadline_no integer NOT NULL DEFAULT 0,"
        " ADD COLUMN deadline_running_since timestamptz"
    )
    op.execute("ALTER TABLE case_statistics DROP COLUMN listed, DROP COLUMN delisted")
    op.execute(
        "ALTER TABLE case_statistics "
        + ", ".join(f"ADD COLUMN {m} integer NOT NULL DEFAULT 0" for m in _NEW_METRICS)
    )
    # The enterprise list filters by rating and by being on the list.
    op.execute("CREATE INDEX enterprise_view_rating ON enterprise_view (rating, credit_code)")
    op.execute(
        "CREATE INDEX enterprise_view_blacklisted ON enterprise_view (credit_code)"
        " WHERE blacklisted"
    )


def downgrade() -> None:
    _start_over()
    op.execute("DROP INDEX IF EXISTS enterprise_view_blacklisted")
    op.execute("DROP INDEX IF EXISTS enterprise_view_rating")
    op.execute("ALTER TABLE case_statistics " + ", ".join(f"DROP COLUMN {m}" for m in _NEW_METRICS))
    op.execute(
        "ALTER TABLE case_statistics"
        " ADD COLUMN listed integer NOT NULL DEFAULT 0,"
        " ADD COLUMN delisted integer NOT NULL DEFAULT 0"
    )
    op.execute(
        "ALTER TABLE case_view DROP COLUMN deadline_running_since, DROP COLUMN settled_deadline_no"
    )
