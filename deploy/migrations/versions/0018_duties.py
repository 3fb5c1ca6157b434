"""The grid's other duties: self-inspection figures and public reports (举报).

Revision ID: 0018_duties
Revises: 0015_ledger_columns
Create Date: 2026-12-08

Why:
- 企业自查 (policy edition 5): ``case_statistics`` counts the hazards the enterprises found
  themselves (``found_self_inspection``; the rest of ``found`` was found by inspectors) and those
  written off on the enterprise's own report (``self_rectified``). Rows already projected would
  lack them, so the read tables are emptied and the projection put back to position 0: the
  projector rebuilds them from the event store, which is untouched.
- ``public_report_view``: the list of public reports (举报) per grid unit, projected from the
  ``public-report-`` streams (activities/projections/read_models/public_reports.py). It holds
  no identity of a reporter.
- ``public_report_identities``: the reporter's name and contact, kept out of the event store
  (which auditors read in full) because the law keeps the identity secret and the policy names
  who may see it; the report's first event records the SHA-256 of what is stored here, so a
  changed identity is evident. Insert-only for the app role, like the challenges below.
- ``public_report_challenges`` / ``public_report_submissions``: the flood protection of the
  public endpoint, with no outside service: a challenge is issued (and counted) per address, a
  submission spends a solved challenge once (its primary key) and is counted per address and
  hour. Addresses are stored as a SHA-256 digest, never in clear.
"""

from alembic import context, op

revision = "0018_duties"
down_revision = "0015_ledger_columns"
branch_labels = None
depends_on = None

_READ_TABLES = "case_view, enterprise_view, blacklist_register, case_statistics, grid_unit_view"


def _app_role() -> str:
    role = context.config.attributes.get("app_role", "duban_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"database_app_role: not a plain role name: {role!r}")
    return role


def _start_over() -> None:
    op.execute(f"TRUNCATE {_READ_TABLES}")
    # The read models rebuild; the document issuer keeps its place (it issues each document once
    # and would only walk the whole store again).
    op.execute(
        "UPDATE projection_positions SET position = 0, skipped = 0 WHERE name <> 'document_issuer'"
    )


def upgrade() -> None:
    role = _app_role()
    _start_over()
    op.execute(
        "ALTER TABLE case_statistics"
        " ADD COLUMN found_self_inspection integer NOT NULL DEFAULT 0,"
        " ADD COLUMN self_rectified integer NOT NULL DEFAULT 0"
    )
    op.execute(
        """
        CREATE TABLE public_report_view (
            report_id          text PRIMARY KEY,
            received_at        timestamptz NOT NULL,
            assigned_unit_code text NOT NULL,
            grid_path          text[] NOT NULL,
            credit_code        text,
            place              text NOT NULL,
            summary            text NOT NULL,
            status             text NOT NULL,
            verify_by          timestamptz NOT NULL,
            alerts             integer NOT NULL DEFAULT 0,
            verified_at        timestamptz,
            hazard_ids         text[] NOT NULL DEFAULT '{}',
            dismissal_reason   text,
            reward_yuan        integer,
            reward_basis       text,
            closed_at          timestamptz,
            last_position      bigint NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX public_report_view_grid_path ON public_report_view USING gin (grid_path)"
    )
    op.execute("CREATE INDEX public_report_view_received ON public_report_view (received_at)")
    op.execute(
        """
        CREATE TABLE public_report_identities (
            report_id   text PRIMARY KEY,
            name        text NOT NULL,
            contact     text NOT NULL,
            digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
            recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE public_report_challenges (
            challenge      text PRIMARY KEY,
            address_digest text NOT NULL,
            issued_at      timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute(
        "CREATE INDEX public_report_challenges_address"
        " ON public_report_challenges (address_digest, issued_at)"
    )
    op.execute(
        """
        CREATE TABLE public_report_submissions (
            challenge      text PRIMARY KEY REFERENCES public_report_challenges (challenge),
            address_digest text NOT NULL,
            report_id      text NOT NULL,
            submitted_at   timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """
    )
    op.execute(
        "CREATE INDEX public_report_submissions_address"
        " ON public_report_submissions (address_digest, submitted_at)"
    )
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON public_report_view TO "{role}"')
    for table in (
        "public_report_identities",
        "public_report_challenges",
        "public_report_submissions",
    ):
        op.execute(f'REVOKE ALL ON {table} FROM "{role}"')
        op.execute(f'GRANT SELECT, INSERT ON {table} TO "{role}"')


def downgrade() -> None:
    op.execute("UPDATE projection_positions SET position = 0, skipped = 0")
    op.execute(f"TRUNCATE {_READ_TABLES}")
    op.execute(
        "DROP TABLE public_report_submissions, public_report_challenges,"
        " public_report_identities, public_report_view"
    )
    op.execute(
        "ALTER TABLE case_statistics DROP COLUMN found_self_inspection, DROP COLUMN self_rectified"
    )
