"""Read models: the projector's positions and the tables it keeps from the event store.

Revision ID: 0003_read_models
Revises: 0002_notification_outbox
Create Date: 2026-11-22

Why the tables look like this:
- Every read table is derived: ``duban projections rebuild`` empties them and replays the
  store, so unlike ``events`` they are mutable and the app role may UPDATE, DELETE and
  TRUNCATE them. The projector writes a batch of rows and its position in one transaction.
- ``case_view.grid_path`` holds every grid code from the enterprise's unit up to the root, so
  "cases in this county's subtree" is ``grid_path @> ARRAY[code]`` on a GIN index, whatever
  the shape of the codes.
- Overdue is never stored: it depends on the instant of the question. ``case_view`` keeps the
  deadline and whether a report awaits verification; queries compare with their ``now``.
- ``case_statistics`` keeps one row per (grid unit, month) for *every* unit on a case's path,
  so a county reads its own row to see its townships' and villages' figures (roll-up at
  write time: a handful of extra rows per event, one indexed read per question).
"""

from alembic import context, op

revision = "0003_read_models"
down_revision = "0002_notification_outbox"
branch_labels = None
depends_on = None

READ_TABLES = (
    "projection_positions",
    "case_view",
    "enterprise_view",
    "blacklist_register",
    "case_statistics",
    "grid_unit_view",
)


def _app_role() -> str:
    role = context.config.attributes.get("app_role", "duban_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"database_app_role: not a plain role name: {role!r}")
    return role


def upgrade() -> None:
    role = _app_role()
    op.execute(
        """
        CREATE TABLE projection_positions (
            name        text        PRIMARY KEY,
            position    bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
            skipped     bigint      NOT NULL DEFAULT 0,
            updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE case_view (
            hazard_id              text        PRIMARY KEY,
            stream_id              text        NOT NULL,
            credit_code            text        NOT NULL,
            enterprise_name        text        NOT NULL,
            industry               text        NOT NULL,
            grid_code              text        NOT NULL,
            grid_path              text[]      NOT NULL,
            supervising_unit_code  text        NOT NULL,
            supervising_level      text        NOT NULL,
            supervising_person     text        NOT NULL,
            status                 text        NOT NULL,
            is_open                boolean     NOT NULL,
            hazard_class           text        NOT NULL,
            checklist_clause       text,
            category               text        NOT NULL,
            source                 text        NOT NULL,
            mode                   text        NOT NULL,
            description            text        NOT NULL,
            location               text        NOT NULL,
            time_zone              text        NOT NULL,
            listing_no             text,
            listed_level           text,
            listing_authority_code text,
            listed_at              timestamptz,
            deadline               timestamptz,
            deadline_no            integer     NOT NULL DEFAULT 0,
            deadline_set_at        timestamptz,
            reported_at            timestamptz,
            review_by              timestamptz,
            reports                integer     NOT NULL DEFAULT 0,
            plan_submitted         boolean     NOT NULL DEFAULT false,
            extension_requested_deadline timestamptz,
            extensions_granted     integer     NOT NULL DEFAULT 0,
            verifications_failed   integer     NOT NULL DEFAULT 0,
            deadlines_missed       integer     NOT NULL DEFAULT 0,
            escalation_index       integer     NOT NULL DEFAULT 0,
            refused                boolean     NOT NULL DEFAULT false,
            referred               boolean     NOT NULL DEFAULT false,
            registered_at          timestamptz NOT NULL,
            found_at               timestamptz NOT NULL,
            closed_at              timestamptz,
            close_basis            text,
            withdrawn_at           timestamptz,
            rectified_on_time      boolean,
            version                integer     NOT NULL,
            last_position          bigint      NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX case_view_grid_path ON case_view USING gin (grid_path)")
    op.execute("CREATE INDEX case_view_deadline ON case_view (deadline, hazard_id)")
    op.execute("CREATE INDEX case_view_enterprise ON case_view (credit_code)")
    op.execute("CREATE INDEX case_view_status ON case_view (status)")
    op.execute(
        """
        CREATE TABLE enterprise_view (
            credit_code             text        PRIMARY KEY,
            enterprise_name         text        NOT NULL,
            industry                text,
            grid_code               text,
            grid_path               text[],
            time_zone               text,
            cases_registered        integer     NOT NULL DEFAULT 0,
            credit_opened_at        timestamptz,
            credit_entries          jsonb       NOT NULL DEFAULT '[]',
            rating                  text,
            rating_points           integer,
            open_proceeding_no      text,
            objection_until         timestamptz,
            last_proceeding_trigger text,
            last_decided_by         text,
            last_decision_basis     text,
            proceedings             integer     NOT NULL DEFAULT 0,
            blacklisted             boolean     NOT NULL DEFAULT false,
            blacklist_proceeding_no text,
            blacklisted_since       timestamptz,
            blacklisted_until       timestamptz,
            early_removal_from      timestamptz,
            last_listing_ended_at   timestamptz,
            last_position           bigint      NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX enterprise_view_grid_path ON enterprise_view USING gin (grid_path)")
    op.execute(
        """
        CREATE TABLE blacklist_register (
            proceeding_no       text        PRIMARY KEY,
            credit_code         text        NOT NULL,
            enterprise_name     text        NOT NULL,
            grid_path           text[],
            status              text        NOT NULL
                CHECK (status IN ('listed', 'expired', 'removed_early')),
            trigger             text,
            decided_by          text,
            basis               text,
            listed_at           timestamptz NOT NULL,
            expires_at          timestamptz NOT NULL,
            early_removal_from  timestamptz NOT NULL,
            removed_early_at    timestamptz,
            removal_revoked_at  timestamptz,
            expired_at          timestamptz,
            last_position       bigint      NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX blacklist_register_enterprise ON blacklist_register (credit_code)")
    op.execute("CREATE INDEX blacklist_register_listed_at ON blacklist_register (listed_at)")
    op.execute(
        """
        CREATE TABLE case_statistics (
            unit_code               text    NOT NULL,
            period                  date    NOT NULL CHECK (extract(day FROM period) = 1),
            found                   integer NOT NULL DEFAULT 0,
            found_major             integer NOT NULL DEFAULT 0,
            rectified               integer NOT NULL DEFAULT 0,
            rectified_on_time       integer NOT NULL DEFAULT 0,
            due                     integer NOT NULL DEFAULT 0,
            deadlines_missed        integer NOT NULL DEFAULT 0,
            escalations_township    integer NOT NULL DEFAULT 0,
            escalations_county      integer NOT NULL DEFAULT 0,
            escalations_city        integer NOT NULL DEFAULT 0,
            escalations_province    integer NOT NULL DEFAULT 0,
            listed                  integer NOT NULL DEFAULT 0,
            delisted                integer NOT NULL DEFAULT 0,
            referred                integer NOT NULL DEFAULT 0,
            withdrawn               integer NOT NULL DEFAULT 0,
            blacklist_listed        integer NOT NULL DEFAULT 0,
            blacklist_expired       integer NOT NULL DEFAULT 0,
            blacklist_removed_early integer NOT NULL DEFAULT 0,
            blacklist_restored      integer NOT NULL DEFAULT 0,
            PRIMARY KEY (unit_code, period)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE grid_unit_view (
            code                text PRIMARY KEY,
            name                text NOT NULL,
            level               text NOT NULL,
            parent_code         text,
            responsible_person  text NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX grid_unit_view_parent ON grid_unit_view (parent_code)")
    for table in READ_TABLES:
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {table} TO "{role}"')


def downgrade() -> None:
    for table in reversed(READ_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
