"""The inspector's, the enterprise's, the auditor's and the admin's pages in a real browser
(Debian's headless Chromium, Playwright) against the served app: real PostgreSQL, the Temporal
time-skipping server and a worker. Every action goes through the API's own routes; the tests
read what happened from the event store, not from the page."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.blobs.samples import jpeg
from tests.console.conftest import ServedConsole
from tests.console.test_console_browser import DESKTOP, PHONE, check_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def local(moment: datetime) -> str:
    """A ``datetime-local`` value in the policy's zone (Asia/Shanghai)."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def events_of(console: ServedConsole, hazard_id: str) -> list[str]:
    with console.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT event_type FROM events WHERE stream_id = :s ORDER BY stream_version"),
            {"s": f"case-{hazard_id}"},
        ).all()
    return [r[0] for r in rows]


def case_of(console: ServedConsole, description: str) -> str:
    with console.engine.connect() as conn:
        return str(
            conn.execute(
                sa.text("SELECT hazard_id FROM case_view WHERE description = :d"),
                {"d": description},
            ).scalar_one()
        )


async def test_the_inspector_registers_a_hazard_in_a_few_taps_on_a_phone(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    context = await chromium.new_context(viewport=PHONE, locale="zh-CN", has_touch=True)
    page = await context.new_page()
    await sign_in(page, served_console, "inspector_a")
    assert page.url == served_console.url("/console/inspector/due")
    await check_page(page, "inspector-due", screenshots_dir)
    await page.set_viewport_size(PHONE)
    await page.get_by_role("link", name="登记新隐患").click()
    await page.wait_for_url("**/console/inspector/register")
    # Nothing picked: the API's refusal, naming the field, in the form.
    await page.get_by_label("隐患描述").fill("消防通道堆放杂物")
    await page.get_by_label("部位").fill("二号厂房北侧")
    await page.get_by_role("button", name="登记", exact=True).click()
    await page.wait_for_load_state("networkidle")
    said = await page.locator("#f-credit_code .field-error").inner_text()
    assert "request.invalid" in said and "at least 18 characters" in said, said  # the API's
    assert await page.locator(".error-summary a").get_attribute("href") == "#f-credit_code"
    assert await page.get_by_label("隐患描述").input_value() == "消防通道堆放杂物"  # kept
    await check_page(page, "inspector-register-refused", screenshots_dir)
    await page.set_viewport_size(PHONE)
    # Another township's enterprise is not offered; one's own is, by a part of its name.
    await page.get_by_label("查找企业").fill("化工")
    await page.wait_for_timeout(800)
    assert await page.locator("#enterprise-choices input[type=radio]").count() == 0
    await page.get_by_label("查找企业").fill("机械")
    await page.locator("#enterprise-choices input[type=radio]").first.wait_for()
    await page.locator("#enterprise-choices label.choice").first.tap()
    await page.get_by_text("限期整改", exact=True).tap()
    await page.get_by_text("物的不安全状态", exact=True).tap()
    await page.get_by_label("整改期限").fill(local(datetime.now(UTC) + timedelta(days=15)))
    await page.get_by_label("整改措施").fill("清理杂物, 设置禁止堆放标识")
    await page.get_by_label("整改责任人").fill("李四 (行政科)")
    await check_page(page, "inspector-register", screenshots_dir)
    await page.set_viewport_size(PHONE)
    await page.get_by_role("button", name="登记", exact=True).click()
    await page.wait_for_load_state("networkidle")
    assert page.url == served_console.url("/console/inspector/due"), await page.inner_text("main")
    flash = await page.locator(".flash").inner_text()
    assert flash.startswith("已登记隐患 H-"), flash
    hazard_id = flash.removeprefix("已登记隐患 ").rstrip("。")
    assert events_of(served_console, hazard_id)[0] == "HazardRegistered"
    with served_console.engine.connect() as conn:
        data = conn.execute(
            sa.text(
                "SELECT data, metadata FROM events WHERE stream_id = :s AND stream_version = 1"
            ),
            {"s": f"case-{hazard_id}"},
        ).one()
    assert data[0]["credit_code"] == served_console.api.grid.enterprise_a
    assert data[0]["description"] == "消防通道堆放杂物"
    with served_console.engine.connect() as conn:
        notice = conn.execute(
            sa.text("SELECT count(*) FROM events WHERE stream_id = :s AND data::text LIKE :m"),
            {"s": f"case-{hazard_id}", "m": "%清理杂物, 设置禁止堆放标识%"},
        ).scalar_one()
    assert notice >= 1  # the rectification notice's measures
    assert data[1]["actor_id"] == served_console.logins["inspector_a"]  # the person
    await context.close()


async def test_the_enterprise_submits_its_plan_and_its_report_and_a_refusal_names_the_field(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    hazard_id = case_of(served_console, "粉尘涉爆除尘系统未按规定设置泄爆装置")
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, served_console, "enterprise_a")
    assert page.url == served_console.url("/console/enterprise/hazards")
    await page.get_by_role("link", name=f"办理 {hazard_id}").click()
    await page.wait_for_url(f"**/console/enterprise/hazards/case?case={hazard_id}")
    await check_page(page, "enterprise-case", screenshots_dir)
    # An extension to a day already past: the domain's refusal, in the form, by its field.
    await page.get_by_label("申请延至").fill(local(datetime.now(UTC) - timedelta(days=2)))
    await page.get_by_label("延期理由").fill("设备到货延迟")
    await page.get_by_label("整改期间的安全防范措施").fill("停用除尘系统, 人工清扫")
    await page.get_by_role("button", name="提交延期申请").click()
    await page.wait_for_load_state("networkidle")
    refusal = await page.locator(".error-summary").inner_text()
    assert "case.deadline.in_past" in refusal and "is not after now" in refusal, refusal
    assert await page.locator(".error-summary a").get_attribute("href") == "#f-requested_deadline"
    assert await page.get_by_label("申请延至").get_attribute("aria-invalid") == "true"
    await check_page(page, "enterprise-refused", screenshots_dir)
    assert "ExtensionRequested" not in events_of(served_console, hazard_id)
    parts = {
        "治理的目标和任务": "消除粉尘爆炸隐患",
        "采取的方法和措施": "加装泄爆片, 更换防爆电机",
        "经费和物资的落实": "专项资金 12 万元",
        "负责治理的机构和人员": "设备科 张三",
        "治理的时限和要求": "30 日内完成",
        "安全措施和应急预案": "停用抛光线, 现场配备灭火器材",
    }
    for label, text in parts.items():
        await page.get_by_label(label).fill(text)
    await page.get_by_role("button", name="提交治理方案").click()
    await page.wait_for_load_state("networkidle")
    assert "治理方案已提交" in await page.locator(".flash").inner_text()
    await page.get_by_label("整改情况").fill("泄爆片已安装, 电机已更换")
    await page.get_by_label("整改证据").fill("https://files.example/zc/photo-1.jpg " + "ab" * 32)
    photo = jpeg(90, 60)  # a photo chosen in the form: uploaded, then cited beside the line
    await page.get_by_label("整改照片和文件").set_input_files(
        files=[{"name": "泄爆片.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    await page.get_by_role("button", name="提交整改报告").click()
    await page.wait_for_load_state("networkidle")
    assert "整改报告已提交" in await page.locator(".flash").inner_text()
    with served_console.engine.connect() as conn:
        evidence = conn.execute(
            sa.text(
                "SELECT data -> 'evidence' FROM events WHERE stream_id = :s"
                " AND event_type = 'RectificationReported'"
            ),
            {"s": f"case-{hazard_id}"},
        ).scalar_one()
    assert [(e["sha256"], e.get("name")) for e in evidence] == [
        (hashlib.sha256(photo).hexdigest(), "泄爆片.jpg"),
        ("ab" * 32, None),
    ], evidence
    recorded = events_of(served_console, hazard_id)
    assert recorded.count("GovernancePlanSubmitted") == 1, recorded
    assert recorded.count("RectificationReported") == 1, recorded
    await check_page(page, "enterprise-reported", screenshots_dir)
    await page.get_by_role("link", name="信用记录").click()
    await page.wait_for_url("**/console/enterprise/credit")
    assert "没有正在进行的失信认定程序" in await page.inner_text("main")
    await check_page(page, "enterprise-credit", screenshots_dir)
    await context.close()


async def test_the_auditor_reads_a_case_as_of_an_instant_and_downloads_its_dossier(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path, tmp_path: Path
):
    from activities.audit.keys import signing_key
    from activities.eventstore.checkpoint import (
        public_key_bytes,
        sign_checkpoint,
        write_checkpoint_file,
    )
    from deploy.verify_dossier import verify_dossier

    hazard_id = case_of(served_console, "危化品仓库防火门损坏, 无法自动关闭")
    recorded = events_of(served_console, hazard_id)
    assert len(recorded) >= 2, recorded
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = await context.new_page()
    await sign_in(page, served_console, "auditor")
    assert page.url == served_console.url("/console/audit")
    await page.get_by_label("隐患编号").fill(hazard_id)
    await page.get_by_role("button", name="查找").click()
    await page.wait_for_load_state("networkidle")
    total = len(recorded)
    assert f"已记录 {total} / {total} 个事件" in await page.locator("#state-at").inner_text()
    assert await page.locator("table.history tbody tr").count() == total
    assert "尚无签名检查点覆盖它" in await page.inner_text("main")
    # The slider to the first event: the case as it was registered, swapped in place.
    await page.evaluate("() => { window.notReloaded = true; }")
    await page.locator("#f-version").fill("1")
    await page.locator("#f-version").dispatch_event("change")
    await page.wait_for_function(
        "() => document.querySelector('#state-at').innerText.includes('1 / ')"
    )
    assert await page.evaluate("() => window.notReloaded") is True
    assert await page.locator("table.history tr.later").count() == total - 1
    await check_page(page, "audit-as-of", screenshots_dir)
    # An instant before the case existed.
    await page.get_by_label("或选择时刻").fill(local(datetime.now(UTC) - timedelta(days=3)))
    await page.get_by_role("button", name="回放").click()
    await page.wait_for_function(
        "() => document.querySelector('#state-at').innerText.includes('0 / ')"
    )
    assert "该时刻案件尚未登记" in await page.inner_text("#replay")
    # The hourly job's checkpoint (signed here as it signs one): the chain is checked against
    # it and the dossier can be exported.
    settings = served_console.settings
    key = signing_key(settings)
    head = served_console.api.store.head()
    write_checkpoint_file(
        sign_checkpoint(key, head.position, head.hash, datetime.now(UTC)),
        settings.resolved_checkpoint_dir,
    )
    await page.goto(served_console.url(f"/console/audit?case={hazard_id}"))
    assert "哈希链完整；已核对到位置" in await page.inner_text("main")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="下载一案一档（dossier）").click()
    download = await downloading.value
    assert download.suggested_filename == f"case-{hazard_id}.zip"
    saved = tmp_path / f"dossier-{hazard_id}.zip"
    await download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert {"events.jsonl", "MANIFEST.json", "checkpoint.json"} <= set(archive.namelist())
    report = verify_dossier(str(saved), io.StringIO(), public_key=public_key_bytes(key))
    assert report  # verified offline: every link, the signed checkpoint
    await context.close()


async def test_the_admin_adds_a_grid_unit_and_loads_enterprises_from_csv_with_row_errors(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    grid = served_console.api.grid
    context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, served_console, "admin")
    await page.goto(served_console.url("/console/admin/grid"))
    code = f"{grid.township_a}-V9"
    await page.locator("#f-code").fill(code)
    await page.get_by_label("名称").fill("新建村")
    await page.get_by_label("层级").select_option("village")
    await page.get_by_label("上级单元代码").fill("NO-SUCH-UNIT")
    await page.get_by_label("责任人").fill("网格员 冯")
    await page.get_by_role("button", name="新增").click()
    await page.wait_for_load_state("networkidle")
    assert "grid.parent.unknown" in await page.locator(".error-summary").inner_text()
    await check_page(page, "admin-grid-refused", screenshots_dir)
    await page.get_by_label("上级单元代码").fill(grid.township_a)
    await page.get_by_role("button", name="新增").click()
    await page.wait_for_load_state("networkidle")
    assert f"已新增网格单元 {code}" in await page.locator(".flash").inner_text()
    await check_page(page, "admin-grid", screenshots_dir)
    await page.goto(served_console.url("/console/admin/enterprises"))
    good = "91370782MA0000020N"
    csv = (
        "credit_code,name,industry,grid_code\n"
        f"{good},诸城某食品有限公司,食品,{code}\n"
        f"913707820000000001,坏代码企业,食品,{code}\n"
    )
    await page.get_by_label("企业 CSV").set_input_files(
        files=[{"name": "enterprises.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    await page.get_by_role("button", name="导入").click()
    await page.wait_for_load_state("networkidle")
    result = await page.inner_text("main")
    assert "企业 1 家；被拒 1 行" in result, result
    rejected = await page.locator("#rejected-rows tbody tr").all_inner_texts()
    assert len(rejected) == 1 and "3" in rejected[0] and "credit_code" in rejected[0], rejected
    assert good in await page.inner_text("#enterprises")
    await check_page(page, "admin-enterprises-csv", screenshots_dir)
    await context.close()
