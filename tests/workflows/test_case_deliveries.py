"""A drill case's reminders and escalation reach people: the inbox, a real SMTP server (aiosmtpd)
and a WeCom robot receiver, each exactly once per recipient and step; a receiver that is down
for a while gets every message once it is back."""

from __future__ import annotations

import asyncio
import email
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.channels import configured_channels
from activities.database import create_app_engine
from activities.deliveries import DeliveryDispatcher, FanOut
from activities.deliveries.inbox import inbox_page
from activities.deliveries.operations import set_account_contacts, set_enterprise_contact
from activities.eventstore import EventStore
from activities.settings import Settings
from api.auth import Principal
from api.services.inbox import read_message
from tests.api.conftest import build_services
from tests.channels import receivers
from tests.conftest import APP_ROLE
from tests.domain.domain_builders import TOWNSHIP, VILLAGE
from tests.workflows.case_helpers import assert_store_matches_workflow, start_case
from tests.workflows.conftest import RunningWorker
from worker import build_worker
from workflows.case import SupervisedCaseWorkflow
from workflows.ids import case_stream_id

SETTINGS: dict[str, Settings] = {}


def own_worker_settings(worker: RunningWorker) -> Settings:
    return SETTINGS[worker.task_queue]


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 2.0.0 Ok: queued"


def subject_of(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


@pytest.fixture()
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = receivers_free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def receivers_free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
async def own_worker(
    time_skipping_env: WorkflowEnvironment, test_settings: Settings, fresh_database_url: str
) -> AsyncIterator[RunningWorker]:
    """A worker over a database of this test's own: every notification in it is this case's."""
    engine = create_app_engine(fresh_database_url, APP_ROLE, pool_size=5)
    store = EventStore(engine)
    settings = test_settings.model_copy(update={"database_url": fresh_database_url})
    task_queue = f"deliveries-{uuid.uuid4().hex[:8]}"
    SETTINGS[task_queue] = settings
    parts = build_worker(time_skipping_env.client, settings, store, task_queue)
    running = RunningWorker(time_skipping_env, time_skipping_env.client, task_queue, store, engine)
    async with parts.worker:
        yield running
        await running.terminate_started()
    parts.executor.shutdown(wait=False)
    store.close()
    engine.dispose()


def add_account(engine: Engine, login: str, name: str, role: str, scope: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (login, display_name, role, scope, password_hash)"
                " VALUES (:l, :n, :r, :s, '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA')"
            ),
            {"l": login, "n": name, "r": role, "s": scope},
        )


async def test_a_drill_cases_reminders_and_escalation_reach_inbox_mail_and_chat_once_each(
    own_worker: RunningWorker, smtp_server: tuple[Mailbox, int]
):
    mailbox, smtp_port = smtp_server
    robot = receivers.wecom("zhou-robot")
    engine = own_worker.engine
    try:
        handle, command = await start_case(own_worker, f"H-{uuid.uuid4().hex[:12]}")
        credit_code = command.enterprise.credit_code
        # The grid's people as accounts: the village's inspector (周), the township's
        # supervisor (孙, the escalation's target), the enterprise's own account; and the
        # enterprise's registered safety manager, reached by e-mail only.
        add_account(engine, "zhou", "网格员 周", "inspector", VILLAGE.code)
        add_account(engine, "sun", "站长 孙", "supervisor", TOWNSHIP.code)
        add_account(engine, "ent", "企业 安全员", "enterprise", credit_code)
        set_account_contacts(
            engine,
            "zhou",
            email="zhou@grid.example.cn",
            chat_kind="wecom",
            chat_url=f"{robot.base}/cgi-bin/webhook/send?key=zhou-robot",
        )
        set_account_contacts(engine, "sun", email="sun@town.example.cn")
        with engine.begin() as conn:  # the enterprise is reference data first
            conn.execute(
                sa.text(
                    "INSERT INTO grid_units (code, name, level, parent_code, responsible_person)"
                    " VALUES (:c, '东关社区', 'village', NULL, '网格员 周')"
                ),
                {"c": VILLAGE.code},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO enterprises (credit_code, name, industry, grid_code)"
                    " VALUES (:c, :n, '制造业', :g)"
                ),
                {"c": credit_code, "n": command.enterprise.name, "g": VILLAGE.code},
            )
        set_enterprise_contact(
            engine, credit_code, "safety_manager", "李安全", email="li@ent.example.cn"
        )
        # Past both reminders and the deadline: the case escalates to the township.
        await own_worker.env.sleep(timedelta(days=16))
        await asyncio.sleep(0.3)
        settings = Settings(
            database_url="postgresql://unused/",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            smtp_from_address="duban@yjj.example.cn",
            public_url="https://duban.example.gov.cn",
        )
        async with httpx.AsyncClient(timeout=5) as client:
            channels = configured_channels(settings, client)
            dispatcher = DeliveryDispatcher(
                engine,
                channels,
                FanOut(engine, channels=channels.channels, public_url=settings.public_url),
                backoff_base_seconds=0.1,
            )
            for _ in range(3):  # a second and third round find nothing more to send
                await dispatcher.dispatch_once()
        with engine.connect() as conn:
            outbox = conn.execute(
                sa.text("SELECT reason FROM notification_outbox ORDER BY id")
            ).scalars()
            reasons = [r.split(":")[0] for r in outbox]
        assert reasons.count("deadline_reminder") == 4  # two offsets × enterprise and grid
        assert "case_escalated" in reasons
        # The inbox: zhou sees both reminders, the missed deadline and that the case left
        # him; sun sees the escalation; the enterprise its own reminders.
        zhou, _ = inbox_page(engine, "zhou", limit=100)
        zhou_kinds = Counter(m.kind for m in zhou)
        assert zhou_kinds["deadline_reminder"] == 2
        assert zhou_kinds["case_escalated_from_you"] == 1
        sun, _ = inbox_page(engine, "sun", limit=100)
        assert [m.kind for m in sun if m.kind.startswith("case_escalated")] == ["case_escalated"]
        assert all(m.link.endswith(f"/console/cases/{command.hazard_id}") for m in zhou + sun)
        ent, _ = inbox_page(engine, "ent", limit=100)
        assert Counter(m.kind for m in ent)["deadline_reminder"] == 2
        escalated = next(m for m in ent if m.kind == "case_escalated")
        assert escalated.must_acknowledge
        # E-mail: one message per step and recipient, to the right addresses.
        # (Message-ID is derived from the step and the recipient: a repeat would share it.)
        ids = Counter(m["Message-ID"] for m in mailbox.messages)
        assert ids and max(ids.values()) == 1, ids
        to = [(m["To"].split("<")[-1].rstrip(">"), subject_of(m)) for m in mailbox.messages]
        addressed = Counter(address for address, _ in to)
        assert addressed["zhou@grid.example.cn"] == len(zhou)
        assert addressed["sun@town.example.cn"] == len(sun)
        assert addressed["li@ent.example.cn"] == len(ent)  # the contact reads what the
        # enterprise's account reads
        assert all(subject.startswith("【督办】") for _, subject in to)
        # The chat robot: zhou's messages once each.
        contents = [r.json()["markdown"]["content"] for r in robot.received]
        assert len(contents) == len(set(contents)) == len(zhou)
        with engine.connect() as conn:
            statuses = Counter(
                conn.execute(
                    sa.text("SELECT channel || ':' || status FROM notification_deliveries")
                ).scalars()
            )
        assert set(statuses) == {"inbox:sent", "email:sent", "wecom:sent"}
        # 签收: the enterprise reads its rectification notice; the case records the
        # acknowledgement with who and when, once however often it is read.
        services = build_services(
            own_worker.client,
            own_worker_settings(own_worker),
            own_worker.store,
            own_worker.task_queue,
        )
        principal = Principal("account:ent", "ent", "enterprise", credit_code)
        notice = next(m for m in ent if m.kind == "rectification_notice")
        assert notice.must_acknowledge and notice.unread
        read = await read_message(services, principal, notice.id)
        assert read.read_at is not None
        again = await read_message(services, principal, notice.id)
        assert again.read_at == read.read_at
        acknowledged = [
            e.data
            for e in own_worker.store.read_stream(case_stream_id(command.hazard_id))
            if e.event_type == "ServiceAcknowledged"
        ]
        assert len(acknowledged) == 1
        assert acknowledged[0]["acknowledged_by"] == "ent"
        assert acknowledged[0]["step_key"] == notice.step_key
        view = await handle.query(SupervisedCaseWorkflow.state)
        assert_store_matches_workflow(own_worker.store, command.hazard_id, view)
        # A reminder is not served: reading it records nothing on the case.
        reminder = next(m for m in ent if m.kind == "deadline_reminder")
        await read_message(services, principal, reminder.id)
        types = [
            e.event_type for e in own_worker.store.read_stream(case_stream_id(command.hazard_id))
        ]
        assert types.count("ServiceAcknowledged") == 1
    finally:
        robot.close()
