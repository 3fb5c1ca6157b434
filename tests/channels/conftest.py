"""A real notice to deliver: a case registered through the domain, its rectification notice
rendered in Chinese, as the outbox will hand it to a channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from activities.channels import RenderedMessage
from domain.case import decide, event_to_data, evolve, notifications_for
from domain.case.events import HazardRegistered
from domain.notices import CaseFacts, QueuedNotice, render_notice
from tests.domain.domain_builders import CALENDAR, DEFAULT, NOW, SHANGHAI, register

PUBLIC_URL = "https://duban.example.gov.cn"
DEADLINE = datetime(2026, 12, 31, 17, 0, tzinfo=SHANGHAI)


def rendered_notice(language: str = "zh") -> RenderedMessage:
    events = decide(None, register(deadline=DEADLINE), NOW, DEFAULT, CALENDAR)
    registered, notice_event = events[0], events[1]
    assert isinstance(registered, HazardRegistered)
    state = evolve(None, registered)
    n = next(n for n in notifications_for(state, notice_event) if n.recipient_kind == "enterprise")
    payload = {
        "step_key": n.step_key,
        "case_id": registered.hazard_id,
        "recipient": {"kind": n.recipient_kind, "id": n.recipient_id},
        "reason": n.reason,
        "event_type": notice_event.EVENT_TYPE,
        "event": event_to_data(notice_event),
    }
    text = render_notice(
        QueuedNotice.from_payload(payload),
        CaseFacts.of_registration(registered),
        language=language,
        public_url=PUBLIC_URL,
    )
    return RenderedMessage.of(text, n.step_key, notification=payload)


@pytest.fixture()
def message() -> RenderedMessage:
    return rendered_notice()


@pytest.fixture()
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http
