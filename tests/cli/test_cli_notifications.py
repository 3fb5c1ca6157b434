"""``duban notifications …``: people's contact channels and an enterprise's contacts set from the
command line (refusals naming the field), the operator's queue listed and retried."""

from __future__ import annotations

import json

import sqlalchemy as sa

from activities.database import create_app_engine
from activities.deliveries import FanOut
from activities.notifications import NotificationActivities
from tests.cli.helpers import assert_one_line_refusal
from tests.cli.test_cli_users import ENTERPRISE, demo_env, duban

__all__ = ["demo_env"]
from tests.conftest import APP_ROLE
from workflows.contracts import EnqueueNotificationsInput, NotificationToQueue


def test_contacts_deliveries_and_the_operators_queue_from_the_command_line(
    demo_env: dict[str, str], fresh_database_url: str
):
    made = duban(
        demo_env,
        "user",
        "create",
        "ops",
        "--display-name",
        "值班员",
        "--role",
        "admin",
        "--generate-password",
    )
    assert made.exit_code == 0, made.output
    refused = duban(demo_env, "notifications", "contact", "ops", "--email", "nope")
    assert_one_line_refusal(refused, "email")
    ok = duban(
        demo_env,
        "notifications",
        "contact",
        "ops",
        "--email",
        "ops@bureau.example.cn",
        "--quiet-hours",
        "22:00-07:00",
    )
    assert ok.exit_code == 0, ok.output
    contact = duban(
        demo_env,
        "notifications",
        "enterprise-contact",
        ENTERPRISE,
        "--role",
        "safety_manager",
        "--name",
        "李安全",
        "--phone",
        "138 0000 0000",
    )
    assert contact.exit_code == 0, contact.output
    refused = duban(
        demo_env,
        "notifications",
        "enterprise-contact",
        ENTERPRISE,
        "--role",
        "boss",
        "--name",
        "x",
    )
    assert_one_line_refusal(refused, "role")
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    try:
        with engine.connect() as conn:
            phone = conn.execute(
                sa.text("SELECT phone FROM enterprise_contacts WHERE credit_code = :c"),
                {"c": ENTERPRISE},
            ).scalar_one()
        assert phone == "13800000000"
        NotificationActivities(engine).enqueue_notifications(
            EnqueueNotificationsInput(
                "calendar",
                "calendar-watch",
                [
                    NotificationToQueue(
                        "calendar:2027:missing:admin:administrators",
                        "admin",
                        "administrators",
                        "calendar_year_missing:2027",
                        "CalendarYearMissing",
                    )
                ],
            )
        )
        FanOut(engine, channels=("email",)).fan_out_once()
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE notification_deliveries SET status = 'given_up',"
                    " last_code = 'network', last_error = 'refused' WHERE channel = 'email'"
                )
            )
    finally:
        engine.dispose()
    listed = duban(demo_env, "notifications", "list", "--status", "given_up", "--json")
    assert listed.exit_code == 0, listed.output
    page = json.loads(listed.output)
    assert page["total"] == 1
    (row,) = page["items"]
    assert (row["recipient"], row["channel"], row["address"]) == (
        "account:ops",
        "email",
        "ops@bureau.example.cn",
    )
    table = duban(demo_env, "notifications", "list")
    assert table.exit_code == 0 and "network: refused" in table.output
    figures = duban(demo_env, "notifications", "list", "--figures", "--json")
    by_channel = {f["channel"]: f for f in json.loads(figures.output)}
    assert by_channel["email"]["given_up"] == 1 and by_channel["inbox"]["sent"] == 1
    retried = duban(demo_env, "notifications", "retry", "--id", str(row["id"]))
    assert retried.exit_code == 0 and "1 given-up" in retried.output
    assert (
        json.loads(
            duban(demo_env, "notifications", "list", "--status", "given_up", "--json").output
        )["total"]
        == 0
    )
    bad = duban(demo_env, "notifications", "list", "--status", "lost")
    assert_one_line_refusal(bad, "status")
