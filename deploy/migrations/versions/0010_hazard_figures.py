"""Figures per hazard: 到期整改率 counts hazards, overdue is judged on the hazard's deadline.

Revision ID: 0010_hazard_figures
Revises: 0009_idempotency_claims
Create Date: 2026-12-08

Why:
- 到期整改率 counted deadlines: one unattended case that escalated four times counted five
  "due", so a county showed 2/7 where 2 of 3 hazards due were rectified in time. The rate
  the seeds report (Huzhou's 99.83 %) counts hazards whose rectification deadline fell due
  and that were rectified by it. ``case_statistics`` gets ``hazards_due`` and
  ``hazards_rectified_on_time``; the per-deadline counters keep their meaning under names
  that say it: ``due`` becomes ``deadlines_due``, ``rectified_on_time`` ``deadlines_met``
  (``deadlines_missed`` already said so). Definitions: activities/projections/read_models/figures/.
- Overdue (逾期) ended when escalation set a case a new supervision deadline, so the overdue
  list held only referred cases. ``case_view.rectification_deadline`` is the hazard's own
  deadline (the one in force for the enterprise until the case first missed one, then the
  one missed) and ``rectification_missed`` whether it was missed, as the domain's
  ``CaseState`` keeps them; ``overdue_watch_since`` (since when the case has been open with
  that deadline and nothing holding it off) replaces ``deadline_running_since``.
- Reports already stored keep their figures: they are records, and their content says which
  definition they used (from now on a ``definitions`` entry; the ones before have none).
- The new columns would be empty for rows already projected, so the read tables are emptied
  and the projection put back to position 0: the projector rebuilds them from the event
  store, which is untouched.
"""

from alembic import op

revision = "0010_hazard_figures"
down_revision = "0009_idempotency_claims"
branch_labels = None
depends_on = None

_READ_TABLES = "case_view, enterprise_view, blacklist_register, case_statistics, grid_unit_view"


def _start_over() -> None:
    op.execute(f"TRUNCATE {_READ_TABLES}")
    op.execute("UPDATE projection_positions SET position = 0, skipped = 0")


def upgrade() -> None:
    _start_over()
    op.execute("ALTER TABLE case_statistics RENAME COLUMN due TO deadlines_due")
    op.execute("ALTER TABLE case_statistics RENAME COLUMN rectified_on_time TO deadlines_met")
    op.execute(
        "ALTER TABLE case_statistics"
        " ADD COLUMN hazards_due integer NOT NULL DEFAULT 0,"
        " ADD COLUMN hazards_rectified_on_time integer NOT NULL DEFAULT 0"
    )
    op.execute(
        "ALTER TABLE case_view"
        " ADD COLUMN rectification_deadline timestamptz,"
        " ADD COLUMN rectification_missed boolean NOT NULL DEFAULT false,"
        " ADD COLUMN overdue_watch_since timestamptz,"
        " DROP COLUMN deadline_running_since"
    )
    # The overdue list and the running spells of the statistics read it.
    op.execute(
        "CREATE INDEX case_view_overdue ON case_view (rectification_deadline)"
        " WHERE overdue_watch_since IS NOT NULL"
    )


def downgrade() -> None:
    _start_over()
    op.execute("DROP INDEX IF EXISTS case_view_overdue")
    op.execute(
        "ALTER TABLE case_view"
        " DROP COLUMN rectification_deadline,"
        " DROP COLUMN rectification_missed,"
        " DROP COLUMN overdue_watch_since,"
        " ADD COLUMN deadline_running_since timestamptz"
    )
    op.execute(
        "ALTER TABLE case_statistics DROP COLUMN hazards_due, DROP COLUMN hazards_rectified_on_time"
    )
    op.execute("ALTER TABLE case_statistics RENAME COLUMN deadlines_met TO rectified_on_time")
    op.execute("ALTER TABLE case_statistics RENAME COLUMN deadlines_due TO due")
