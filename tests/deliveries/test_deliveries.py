"""Deliveries over real receivers: a channel that is down holds its messages and delivers each
once when it returns; a final refusal gives up into the operator's queue, which a retry empties;
a step fanned out twice reaches nobody twice; quiet hours hold all but the inbox."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.channels import configured_channels
from activities.database import create_app_engine
from activities.deliveries import DeliveryDispatcher, FanOut
from activities.deliveries.inbox import inbox_page
from activities.deliveries.operations import (
    channel_figures,
    list_deliveries,
    retry_deliveries,
    set_account_contacts,
)
from activities.metrics import DubanMetrics, render_metrics
from activities.notifications import NotificationActivities
from activities.reference_data import ReferenceDataError
from activities.settings import Settings
from tests.channels import receivers
from tests.conftest import APP_ROLE
from workflows.contracts import EnqueueNotificationsInput, NotificationToQueue

HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"


@pytest.fixture()
def engine(fresh_database_url: str) -> Iterator[Engine]:
    engine = create_app_engine(fresh_database_url, APP_ROLE, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture()
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


def add_admin(engine: Engine, login: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (login, display_name, role, password_hash)"
                " VALUES (:l, :l, 'admin', :h)"
            ),
            {"l": login, "h": HASH},
        )


def queue(engine: Engine, count: int) -> list[str]:
    """``count`` notices to the administrators, each with words of its own (its reason)."""
    keys = [f"ops:{uuid.uuid4().hex[:8]}:admin" for _ in range(count)]
    NotificationActivities(engine).enqueue_notifications(
        EnqueueNotificationsInput(
            "calendar",
            "calendar-watch",
            [
                NotificationToQueue(
                    step_key=key,
                    recipient_kind="admin",
                    recipient_id="administrators",
                    reason=f"ops_notice:{key}",
                    event_type="CalendarYearMissing",
                    payload={"event": {"missing_year": 2027}},
                )
                for key in keys
            ],
        )
    )
    return keys


def dispatcher(engine: Engine, client: httpx.AsyncClient, **options: float) -> DeliveryDispatcher:
    channels = configured_channels(Settings(database_url="postgresql://unused/"), client)
    return DeliveryDispatcher(
        engine,
        channels,
        FanOut(engine, channels=channels.channels),
        backoff_base_seconds=options.pop("base", 0.2),
        backoff_max_seconds=options.pop("cap", 0.5),
        max_attempts=int(options.pop("max_attempts", 50)),
    )


def delivered(robot: receivers.Receiver, key: str | None = None) -> Counter[str]:
    """What the robot took (with ``key``: the requests to that robot key only)."""
    return Counter(
        r.json()["markdown"]["content"]
        for r in robot.received
        if key is None or r.query.get("key") == [key]
    )


async def test_a_receiver_down_for_a_while_gets_every_message_once_when_back(
    engine: Engine, client: httpx.AsyncClient
):
    robot = receivers.wecom("ops")
    try:
        add_admin(engine, "ops-admin")
        set_account_contacts(
            engine,
            "ops-admin",
            chat_kind="wecom",
            chat_url=f"{robot.base}/cgi-bin/webhook/send?key=ops",
        )
        queue(engine, 5)
        robot.mode = "error_500"
        sender = dispatcher(engine, client)
        for _ in range(4):  # the receiver stays down through several rounds
            report = await sender.dispatch_once()
            await asyncio.sleep(0.25)
        # Down: one message at a time tries it; the others are held, not spent.
        assert report.sent == 0
        tried = len(robot.received)
        assert 1 <= tried <= 5, tried
        robot.received.clear()
        robot.mode = "normal"
        deadline = asyncio.get_running_loop().time() + 10
        while sum(delivered(robot).values()) < 5 and asyncio.get_running_loop().time() < deadline:
            await sender.dispatch_once()
            await asyncio.sleep(0.1)
        for _ in range(3):  # nothing more is sent afterwards
            await sender.dispatch_once()
            await asyncio.sleep(0.1)
        counts = delivered(robot)
        assert len(counts) == 5 and set(counts.values()) == {1}, counts
        rows, total = list_deliveries(engine, channel="wecom")
        assert total == 5 and {r.status for r in rows} == {"sent"}
        with engine.connect() as conn:
            failed = conn.execute(
                sa.text("SELECT count(*) FROM notification_attempts WHERE NOT sent")
            ).scalar_one()
        assert failed >= 1  # the down time is on record
        figures = {f.channel: f for f in channel_figures(engine)}
        assert figures["wecom"].sent == 5 and figures["wecom"].failed_attempts == failed
        assert figures["inbox"].sent == 5
        assert inbox_page(engine, "ops-admin")[1] == 5
        metrics = DubanMetrics()
        metrics.refresh_read_model(engine)
        text = render_metrics(metrics).decode()
        assert 'duban_notification_deliveries_sent{channel="wecom"} 5.0' in text
        assert f'duban_notification_delivery_failures{{channel="wecom"}} {failed}.0' in text
        assert 'duban_notification_delivery_lag_seconds{channel="wecom"} 0.0' in text
    finally:
        robot.close()


async def test_a_refused_delivery_waits_in_the_operators_queue_until_retried(
    engine: Engine, client: httpx.AsyncClient
):
    robot = receivers.wecom("right-key")
    try:
        add_admin(engine, "ops-2")
        wrong = f"{robot.base}/cgi-bin/webhook/send?key=wrong-key"
        set_account_contacts(engine, "ops-2", chat_kind="wecom", chat_url=wrong)
        queue(engine, 2)
        sender = dispatcher(engine, client)
        report = await sender.dispatch_once()
        assert report.given_up == 2 and report.sent == 0
        given_up, total = list_deliveries(engine, status="given_up")
        assert total == 2
        assert all(d.last_code and d.last_error for d in given_up)
        assert (await sender.dispatch_once()).given_up == 0  # a given-up row stays put
        # The operator fixes the address and retries: each is delivered, once.
        right = f"{robot.base}/cgi-bin/webhook/send?key=right-key"
        set_account_contacts(engine, "ops-2", chat_kind="wecom", chat_url=right)
        assert retry_deliveries(engine, [given_up[0].id]) == 1
        assert (await sender.dispatch_once()).sent == 1
        assert retry_deliveries(engine) == 1
        assert (await sender.dispatch_once()).sent == 1
        assert sum(delivered(robot, "right-key").values()) == 2
        assert list_deliveries(engine, status="given_up")[1] == 0
    finally:
        robot.close()


async def test_a_step_fanned_out_again_reaches_nobody_twice(
    engine: Engine, client: httpx.AsyncClient
):
    robot = receivers.wecom("k")
    try:
        add_admin(engine, "ops-3")
        set_account_contacts(
            engine, "ops-3", chat_kind="wecom", chat_url=f"{robot.base}/cgi-bin/webhook/send?key=k"
        )
        keys = queue(engine, 1)
        sender = dispatcher(engine, client)
        await sender.dispatch_once()
        # The outbox row is fanned out a second time (a crash before the mark, say).
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE notification_outbox SET fanned_out_at = NULL WHERE step_key = :k"),
                {"k": keys[0]},
            )
        queue(engine, 0)
        await sender.dispatch_once()
        await sender.dispatch_once()
        assert sum(delivered(robot).values()) == 1
        assert inbox_page(engine, "ops-3")[1] == 1
    finally:
        robot.close()


async def test_quiet_hours_hold_everything_but_the_inbox(engine: Engine, client: httpx.AsyncClient):
    robot = receivers.wecom("q")
    try:
        add_admin(engine, "ops-4")
        now = datetime.now(UTC).astimezone()
        start = (now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
        end = (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
        set_account_contacts(
            engine,
            "ops-4",
            chat_kind="wecom",
            chat_url=f"{robot.base}/cgi-bin/webhook/send?key=q",
            quiet_hours=f"{_shanghai(start)}-{_shanghai(end)}",
        )
        queue(engine, 1)
        await dispatcher(engine, client).dispatch_once()
        assert robot.received == []
        assert inbox_page(engine, "ops-4")[1] == 1
        (pending,), _ = list_deliveries(engine, channel="wecom")
        assert pending.status == "pending"
        assert pending.next_attempt_at > datetime.now(UTC) + timedelta(minutes=30)
    finally:
        robot.close()


def _shanghai(local: time) -> str:
    """A wall-clock time of this machine's zone as Shanghai's."""
    from zoneinfo import ZoneInfo

    today = datetime.now().astimezone()
    moment = datetime.combine(today.date(), local, today.tzinfo)
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")


def test_contact_channels_are_checked_and_the_refusal_names_the_field(engine: Engine):
    add_admin(engine, "ops-5")
    for options, field in (
        ({"email": "not-an-address"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"chat_kind": "wecom"}, "chat_url"),
        ({"chat_kind": "qq", "chat_url": "https://x.example"}, "chat_kind"),
        ({"quiet_hours": "late"}, "quiet_hours"),
    ):
        with pytest.raises(ReferenceDataError) as refused:
            set_account_contacts(engine, "ops-5", **options)  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(ReferenceDataError):
        set_account_contacts(engine, "nobody-here", email="a@b.cn")
