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


def test_a_chat_robots_secret_is_never_an_argument_but_the_environment_or_a_hidden_prompt(
    demo_env: dict[str, str], fresh_database_url: str
):
    """Arguments show in ``ps`` and the shell's history: ``--chat-secret`` is no option; the
    secret comes from DUBAN_CHAT_SECRET or is typed at a hidden prompt, and is never echoed."""
    made = duban(
        demo_env, "user", "create", "duty", "--display-name", "值班员", "--role", "admin",
        "--generate-password",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    robot = ("--chat-kind", "wecom", "--chat-url", "https://qyapi.weixin.qq.com/cgi-bin/webhook")

    def stored_secret() -> str | None:
        engine = create_app_engine(fresh_database_url, APP_ROLE)
        try:
            with engine.connect() as conn:
                secret: str | None = conn.execute(
                    sa.text("SELECT chat_secret FROM accounts WHERE login = 'duty'")
                ).scalar_one()
            return secret
        finally:
            engine.dispose()

    on_the_line = duban(
        demo_env, "notifications", "contact", "duty", *robot, "--chat-secret", "SEC-argv"
    )
    assert on_the_line.exit_code == 2 and "No such option" in on_the_line.output
    assert stored_secret() is None

    from_env = duban(
        {**demo_env, "DUBAN_CHAT_SECRET": "SEC-from-env"}, "notifications", "contact", "duty",
        *robot,
    )  # fmt: skip
    assert from_env.exit_code == 0, from_env.output
    assert stored_secret() == "SEC-from-env" and "SEC-from-env" not in from_env.output

    typed = duban(
        demo_env, "notifications", "contact", "duty", *robot, "--ask-chat-secret",
        stdin="SEC-typed\n",
    )  # fmt: skip
    assert typed.exit_code == 0, typed.output
    assert stored_secret() == "SEC-typed" and "SEC-typed" not in typed.output

    none = duban(demo_env, "notifications", "contact", "duty", *robot)
    assert none.exit_code == 0, none.output
    assert stored_secret() is None  # an option left out: none
