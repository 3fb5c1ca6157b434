"""The supervisor in a real browser (Debian's Chromium, Playwright): the 工作台 and the case
page at a phone's width and a desktop's (no overflow, no axe violation, screenshots), a
verification from the case page, and — under the drill policy, whose deadlines are seconds — a
deadline passing while the case page is open: the escalation shows without a reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from activities.settings import Settings
from activities.temporal_setup import register_search_attributes
from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import PHOTO, hazard
from tests.console.conftest import ServedConsole, served
from tests.console.test_console_browser import DESKTOP, check_page, sign_in
from tests.workflows.conftest import BIN

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DRILL = Path(__file__).resolve().parents[2] / "domain" / "policies" / "drill.toml"


@pytest.fixture(scope="module")
async def drill_console(
    test_settings: Settings, databases: Any
) -> AsyncIterator[tuple[ServedConsole, WorkflowEnvironment]]:
    """A served console under the drill policy (every deadline in seconds), on the Temporal
    time-skipping server: the test moves its clock past a deadline."""
    from activities.database import create_app_engine
    from tests.conftest import APP_ROLE

    engine = create_app_engine(databases.create("console_drill"), APP_ROLE, pool_size=10)
    store = EventStore(engine)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    settings = test_settings.model_copy(update={"policy_file": DRILL})
    try:
        await register_search_attributes(env.client, "default")
        async with served(env, settings, store) as console:
            yield console, env
    finally:
        await env.shutdown()
        store.close()
        engine.dispose()


async def register(api: ApiHarness, **overrides: Any) -> str:
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(api.grid, **overrides),
        headers=api.grid.headers("inspector_a"),
    )
    assert created.status_code == 201, created.text
    hazard_id: str = created.json()["hazard_id"]
    return hazard_id


async def test_the_supervisor_verifies_a_reported_case_from_its_page(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    from tests.api.matrix import in_days

    api = served_console.api
    hazard_id = await register(api, deadline=in_days(30), description="消防通道堆放杂物")
    reported = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "杂物已清理", "evidence": [PHOTO]},
        headers=api.grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    api.project()
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, served_console, "supervisor_county")
    assert page.url.endswith("/console/workbench")
    await page.get_by_role("link", name=hazard_id).click()
    await page.wait_for_url(f"**/console/cases/{hazard_id}")
    assert "申请验收" in await page.inner_text("#case-live")
    await check_page(page, "case-supervisor", screenshots_dir)
    await page.locator("summary", has_text="验收").first.click()
    form = page.locator("#form-verification")
    await form.get_by_label("合格", exact=True).check()
    await form.get_by_label("验收意见").fill("现场复查，杂物已清理")
    await form.get_by_role("button", name="提交").click()
    await page.wait_for_load_state("networkidle")
    assert "验收结果已记录" in await page.inner_text("main")
    assert await page.locator("#case-status").inner_text() == "已销号"
    assert "验收合格" in await page.inner_text(".timeline")
    await context.close()


async def test_a_refused_verification_names_the_field_in_the_browser(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    from tests.api.matrix import in_days

    api = served_console.api
    hazard_id = await register(api, deadline=in_days(30))
    reported = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "已整改", "evidence": [PHOTO]},
        headers=api.grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, served_console, "supervisor_county")
    await page.goto(served_console.url(f"/console/cases/{hazard_id}"))
    await page.locator("summary", has_text="验收").first.click()
    form = page.locator("#form-verification")
    await form.get_by_label("不合格").check()
    await form.get_by_label("新的整改期限").fill("2020-01-01T09:00")
    await form.get_by_role("button", name="提交").click()
    await page.wait_for_load_state("networkidle")
    error = await page.locator("#f-new_deadline-error").inner_text()
    assert "case.deadline.in_past" in error
    assert await form.get_by_label("新的整改期限").get_attribute("aria-invalid") == "true"
    await check_page(page, "case-supervisor-refused", screenshots_dir)
    await context.close()


async def test_with_the_drill_policy_a_passed_deadline_escalates_on_the_open_page(
    drill_console: tuple[ServedConsole, WorkflowEnvironment], chromium: Any, screenshots_dir: Path
):
    console, env = drill_console
    hazard_id = await register(console.api)  # the drill's deadline: 20 seconds
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, console, "supervisor_county")
    await page.goto(console.url(f"/console/cases/{hazard_id}"))
    assert "逐级升级督办" not in await page.inner_text("#case-live")
    assert await page.locator(".rung-current").count() == 1
    await page.evaluate("() => { window.notReloaded = true; }")
    await env.sleep(timedelta(seconds=25))  # the deadline passes: the case escalates
    await page.wait_for_function(
        "() => document.querySelector('#case-live').innerText.includes('逐级升级督办')",
        timeout=30_000,
    )
    assert await page.evaluate("() => window.notReloaded") is True  # swapped in, not reloaded
    live = await page.inner_text("#case-live")
    assert "逾期未整改" in live and "已升级督办" in live
    # The current step is a rung of the ladder now (the clock may have passed more than one).
    current = await page.locator('.ladder [aria-current="step"]').inner_text()
    assert current.startswith("第 ") and "当前" in current, current
    await check_page(page, "case-escalated", screenshots_dir)
    await context.close()


async def test_the_grid_statistics_and_reports_pages_read_at_both_widths(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, served_console, "supervisor_county")
    await page.get_by_role("link", name="网格", exact=True).click()
    await page.wait_for_url("**/console/grid")
    assert await page.locator("table.grid-units tbody tr").count() == 2  # both townships
    await check_page(page, "grid-supervisor", screenshots_dir)
    await page.get_by_role("link", name="统计", exact=True).click()
    await page.wait_for_url("**/console/statistics")
    assert await page.locator("svg.chart").count() >= 5
    await check_page(page, "statistics-supervisor", screenshots_dir)
    await page.get_by_role("link", name="报表", exact=True).click()
    await page.wait_for_url("**/console/reports")
    await check_page(page, "reports-supervisor", screenshots_dir)
    await context.close()


async def test_the_workbench_colours_overdue_and_due_soon_cases_at_both_widths(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    """Eighteen days on (the services' clock moved): the seeded case due in 10 days and one due
    in 2 are overdue, the one due in 20 days is due soon (the policy's first reminder: 3 days)."""
    from tests.api.matrix import in_days

    api = served_console.api
    await register(api, deadline=in_days(2), description="配电室灭火器过期未更换")
    api.project()
    services = api.services
    real_clock = services.clock
    later = real_clock() + timedelta(days=18)
    services.clock = lambda: later
    try:
        context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        await sign_in(page, served_console, "supervisor_county")
        assert int(await page.locator("#count-overdue").inner_text()) >= 2
        assert int(await page.locator("#count-due_soon").inner_text()) >= 1
        first = page.locator("table.workbench tbody tr").first
        assert "urgency-overdue" in (await first.get_attribute("class") or "")
        await check_page(page, "workbench-supervisor", screenshots_dir)
        await page.locator(".tile-due_soon a").click()
        await page.wait_for_url("**urgency=due_soon**")
        rows = page.locator("table.workbench tbody tr")
        for i in range(await rows.count()):
            assert "urgency-due_soon" in (await rows.nth(i).get_attribute("class") or "")
        await context.close()
    finally:
        services.clock = real_clock
