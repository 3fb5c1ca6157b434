"""The inbox in a real browser (Debian's Chromium via Playwright): an enterprise finds its
rectification notice unread and marked 需签收, acknowledges it with one click, and the case
records the acknowledgement; the operator's undelivered page passes the same checks (axe-core,
no overflow at 360 px, no untranslated key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activities.deliveries import FanOut
from tests.console.conftest import ServedConsole
from tests.console.test_console_browser import DESKTOP, check_page, sign_in
from workflows.ids import case_stream_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_an_enterprise_acknowledges_its_notice_in_the_inbox(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    fan_out = FanOut(served_console.engine, channels=())
    while fan_out.fan_out_once():
        pass
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, served_console, "enterprise_a")
    await page.goto(served_console.url("/console/inbox"))
    assert await page.get_by_role("heading", level=1).inner_text() == "收件箱"
    await check_page(page, "inbox-enterprise", screenshots_dir)
    row = page.locator("tr", has_text="整改通知书").first
    assert "需签收" in await row.inner_text()
    await row.get_by_role("button", name="签收").click()
    await page.wait_for_load_state("networkidle")
    assert "已标为已读" in await page.inner_text("body")
    acknowledged = [
        e
        for hazard_id in _cases(served_console)
        for e in served_console.api.store.read_stream(case_stream_id(hazard_id))
        if e.event_type == "ServiceAcknowledged"
    ]
    assert len(acknowledged) == 1
    assert acknowledged[0].data["acknowledged_by"] == served_console.logins["enterprise_a"]
    await context.close()
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, served_console, "admin")
    await page.goto(served_console.url("/console/admin/notifications"))
    assert await page.get_by_role("heading", level=1).inner_text() == "未送达消息"
    await check_page(page, "undelivered", screenshots_dir)
    await context.close()


def _cases(console: ServedConsole) -> list[str]:
    import sqlalchemy as sa

    with console.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text("SELECT DISTINCT case_id FROM inbox_messages WHERE login = :l"),
                {"l": console.logins["enterprise_a"]},
            ).scalars()
        )
