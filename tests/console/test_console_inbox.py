"""The console's inbox and the operator's undelivered page: a person sees and marks read only
their own notices; the admin sees the given-up deliveries with their failure and retries them."""

from __future__ import annotations

import sqlalchemy as sa

from activities.deliveries import FanOut
from activities.deliveries.operations import set_account_contacts
from activities.notifications import NotificationActivities
from tests.console.conftest import ConsoleHarness, form_token
from workflows.contracts import EnqueueNotificationsInput, NotificationToQueue


def notify(console: ConsoleHarness, kind: str, rid: str, reason: str, channels=()) -> None:
    credit_code = console.api.grid.enterprise_a
    NotificationActivities(console.engine).enqueue_notifications(
        EnqueueNotificationsInput(
            f"credit-{credit_code}",
            f"credit-{credit_code}",
            [
                NotificationToQueue(
                    step_key=f"console:{reason}:{kind}:{rid}",
                    recipient_kind=kind,
                    recipient_id=rid,
                    reason=reason,
                    event_type=reason.removeprefix("credit_"),
                    payload={"credit_code": credit_code, "enterprise_name": "诸城某机械有限公司"},
                )
            ],
        )
    )
    fan_out = FanOut(console.engine, channels=channels)
    while fan_out.fan_out_once():
        pass


async def test_a_person_reads_and_acknowledges_their_own_notice_in_the_console(
    console: ConsoleHarness,
):
    notify(console, "enterprise", console.api.grid.enterprise_a, "credit_ProceedingNoticeIssued")
    owner = await console.sign_in("enterprise_a")
    page = await owner.get("/console/inbox")
    assert page.status_code == 200
    assert "【督办】" in page.text and "需签收" in page.text and "未读 1 条" in page.text
    with console.engine.connect() as conn:
        (message_id,) = conn.execute(
            sa.text("SELECT id FROM inbox_messages WHERE login = :l"),
            {"l": console.logins["enterprise_a"]},
        ).one()
    # Someone else cannot mark it: not found, and it stays unread.
    other = await console.sign_in("enterprise_b")
    token = form_token((await other.get("/console/inbox")).text)
    refused = await other.post(f"/console/inbox/{message_id}/read", data={"csrf_token": token})
    assert refused.status_code == 404
    assert "未读 0 条" in (await other.get("/console/inbox")).text
    token = form_token(page.text)
    read = await owner.post(f"/console/inbox/{message_id}/read", data={"csrf_token": token})
    assert read.status_code == 303 and read.headers["location"] == "/console/inbox"
    after = await owner.get("/console/inbox")
    assert "未读 0 条" in after.text and "已标为已读" in after.text
    english = await owner.get("/console/inbox?lang=en")
    assert english.status_code == 200


async def test_the_operator_sees_given_up_deliveries_and_retries_them(console: ConsoleHarness):
    admin_login = console.logins["admin"]
    set_account_contacts(console.engine, admin_login, email="ops@bureau.example.cn")
    notify(console, "admin", "administrators", "ops_check", channels=("email",))
    with console.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE notification_deliveries SET status = 'given_up', attempts = 12,"
                " given_up_at = now(), last_code = 'network', last_error = 'connection refused'"
                " WHERE channel = 'email' AND recipient = :r"
            ),
            {"r": f"account:{admin_login}"},
        )
    admin = await console.sign_in("admin")
    page = await admin.get("/console/admin/notifications")
    assert page.status_code == 200
    assert "connection refused" in page.text and "ops_check" in page.text
    retried = await admin.post(
        "/console/admin/notifications/retry", data={"csrf_token": form_token(page.text)}
    )
    assert retried.status_code == 303
    with console.engine.connect() as conn:
        status = conn.execute(
            sa.text(
                "SELECT status FROM notification_deliveries"
                " WHERE channel = 'email' AND recipient = :r"
            ),
            {"r": f"account:{admin_login}"},
        ).scalar_one()
    assert status == "pending"
    assert "已重新排队 1 条" in (await admin.get("/console/admin/notifications")).text
