"""The console in a real browser: Debian's headless Chromium driven by Playwright against the
app served by uvicorn (real PostgreSQL, the Temporal time-skipping server, a worker).

Each page is looked at at 360 px (a phone) and 1280 px: nothing wider than the screen, axe-core
finds no violation, and a screenshot is written (``DUBAN_SCREENSHOTS_DIR``; ``make screenshots``
writes docs/screenshots/)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.console.conftest import PASSWORD, ServedConsole

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}
# Who lands where, and what the page's heading says.
START_PAGES = {
    "inspector_a": ("/console/inspector/due", "我的网格：待办"),
    "enterprise_a": ("/console/enterprise/hazards", "本企业的隐患与整改期限"),
    "supervisor_county": ("/console/workbench", "督办工作台"),
    "auditor": ("/console/audit", "案件审计"),
    "admin": ("/console/admin/accounts", "账号管理"),
}


async def sign_in(page: Any, console: ServedConsole, who: str, password: str = PASSWORD) -> None:
    await page.goto(console.url("/console/"))
    await page.get_by_label("登录名").fill(console.logins.get(who, who))
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_load_state("networkidle")


async def check_page(page: Any, name: str, screenshots: Path) -> None:
    """At a phone's width and a desktop's: no horizontal overflow, no axe violation, no text
    left untranslated (a catalogue key would show as ``group.word``), a screenshot of each."""
    from axe_playwright_python.async_playwright import Axe

    for label, size in (("360", PHONE), ("1280", DESKTOP)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(50)
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        widest = await page.evaluate(
            "() => [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth)"
            ".slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"
        )
        assert overflow <= 0, (
            f"{name} at {label} px is {overflow} px wider than the screen: {widest}"
        )
        results = await Axe().run(page)
        assert results.violations_count == 0, f"{name} at {label} px:\n{results.generate_report()}"
        # Rule names are shown on purpose, in <code>: the rest is words for people.
        text = await page.evaluate(
            "() => { const b = document.body.cloneNode(true);"
            " b.querySelectorAll('code').forEach(c => c.remove()); return b.innerText; }"
        )
        stray = re.findall(r"\b[a-z]+\.[a-z_]+\.[a-z_.]+\b", text)
        assert not stray, f"{name}: untranslated keys {stray}"
        await page.screenshot(path=str(screenshots / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


async def test_each_role_signs_in_and_lands_on_its_page(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    for who, (path, heading) in START_PAGES.items():
        context = await chromium.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        await sign_in(page, served_console, who)
        assert page.url == served_console.url(path), (who, page.url)
        assert await page.get_by_role("heading", level=1).inner_text() == heading
        header = await page.inner_text("header")
        assert served_console.logins[who] in header
        if who == "supervisor_county":
            rows = await page.locator("table.workbench tbody tr").count()
            assert rows == 3, rows  # both townships' cases
            assert "示范" not in header and "诸城市" in header  # the scope's name
        if who == "enterprise_a":
            assert await page.locator("table.list tbody tr").count() == 2  # its own only
        if who == "inspector_a":
            assert await page.locator("li.card").count() == 2  # township A's open cases
        await check_page(page, f"start-{who.split('_')[0]}", screenshots_dir)
        await context.close()


async def test_the_sign_in_page_refuses_a_wrong_password_as_it_refuses_an_unknown_name(
    served_console: ServedConsole, browser_context: Any, screenshots_dir: Path
):
    page = await browser_context.new_page()
    await page.goto(served_console.url("/console/sign-in"))
    await check_page(page, "sign-in", screenshots_dir)
    said = []
    for login, password in (
        (served_console.logins["inspector_b"], "not the password"),
        ("nobody-at-all", PASSWORD),
    ):
        await page.get_by_label("登录名").fill(login)
        await page.get_by_label("密码").fill(password)
        await page.get_by_role("button", name="登录").click()
        said.append(await page.get_by_role("alert").inner_text())
        assert "/console/sign-in" in page.url
    assert said == ["登录名或密码不正确。", "登录名或密码不正确。"]
    await check_page(page, "sign-in-refused", screenshots_dir)


async def test_a_login_name_locks_after_repeated_failures(
    served_console: ServedConsole, browser_context: Any
):
    page = await browser_context.new_page()
    await page.goto(served_console.url("/console/sign-in"))
    login = served_console.logins["supervisor_b"]
    for _ in range(3):  # the served console locks a name after 3
        await page.get_by_label("登录名").fill(login)
        await page.get_by_label("密码").fill("wrong password")
        await page.get_by_role("button", name="登录").click()
    assert (await page.get_by_role("alert").inner_text()).startswith("登录失败次数过多")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    assert (await page.get_by_role("alert").inner_text()).startswith("登录失败次数过多")
    assert "/console/sign-in" in page.url


async def test_sign_out_ends_the_session_and_the_cookie_no_longer_works(
    served_console: ServedConsole, chromium: Any
):
    context = await chromium.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, served_console, "auditor")
    kept = [c for c in await context.cookies() if c["name"] == "duban_session"]
    assert len(kept) == 1
    await page.get_by_role("button", name="退出").click()
    await page.wait_for_url("**/console/sign-in")
    assert "您已退出" in await page.inner_text("main")
    other = await chromium.new_context(viewport=DESKTOP)
    await other.add_cookies(kept)
    stolen = await other.new_page()
    await stolen.goto(served_console.url("/console/cases"))
    assert stolen.url.startswith(served_console.url("/console/sign-in"))
    await other.close()
    await context.close()


async def test_an_idle_session_is_refused(served_console: ServedConsole, browser_context: Any):
    page = await browser_context.new_page()
    await sign_in(page, served_console, "inspector_a")
    with served_console.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE console_sessions SET last_seen_at = last_seen_at - :idle"
                " WHERE login = :l AND ended_at IS NULL"
            ),
            {"idle": timedelta(minutes=31), "l": served_console.logins["inspector_a"]},
        )
    await page.goto(served_console.url("/console/cases"))
    assert page.url.startswith(served_console.url("/console/sign-in"))
    assert "登录已过期" in await page.inner_text("main")


async def test_a_form_posted_without_the_csrf_token_is_refused_and_changes_nothing(
    served_console: ServedConsole, browser_context: Any, screenshots_dir: Path
):
    page = await browser_context.new_page()
    await sign_in(page, served_console, "admin")
    await page.get_by_label("登录名").fill("forged-account")
    await page.get_by_label("姓名").fill("伪造")
    await page.get_by_label("角色").select_option("auditor")
    # A page elsewhere would post the same fields without the token: remove it.
    await page.evaluate(
        "() => document.querySelectorAll('main input[name=csrf_token]').forEach(e => e.remove())"
    )
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.get_by_role("button", name="新建账号").click()
    assert (await posted.value).status == 403
    assert "防伪令牌" in await page.inner_text("main")
    await check_page(page, "error-csrf", screenshots_dir)
    with served_console.engine.connect() as conn:
        made = conn.execute(
            sa.text("SELECT count(*) FROM accounts WHERE login = 'forged-account'")
        ).scalar_one()
    assert made == 0


async def test_a_session_of_another_role_cannot_open_a_page_it_has_no_right_to(
    served_console: ServedConsole, browser_context: Any, screenshots_dir: Path
):
    page = await browser_context.new_page()
    await sign_in(page, served_console, "inspector_a")
    answer = await page.goto(served_console.url("/console/admin/accounts"))
    assert answer is not None and answer.status == 403
    assert "access.forbidden" in await page.inner_text("main")
    await check_page(page, "error-403", screenshots_dir)


async def test_a_tampered_cookie_is_refused(served_console: ServedConsole, chromium: Any):
    context = await chromium.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, served_console, "supervisor_a")
    (cookie,) = [c for c in await context.cookies() if c["name"] == "duban_session"]
    value = cookie["value"]
    forged = value[:-2] + ("aa" if value[-2:] != "aa" else "bb")
    await context.add_cookies([cookie | {"value": forged}])
    await page.goto(served_console.url("/console/cases"))
    assert page.url.startswith(served_console.url("/console/sign-in"))
    await context.close()


async def test_the_admin_creates_an_account_in_the_browser_and_it_can_sign_in(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    grid = served_console.api.grid
    context = await chromium.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, served_console, "admin")
    # A refused form names the field and the rule, in the page's words.
    await page.get_by_label("登录名").fill("Bad Name!")
    await page.get_by_label("姓名").fill("新同事")
    await page.get_by_role("button", name="新建账号").click()
    errors = await page.locator(".field-error").all_inner_texts()
    assert any("account.login.invalid" in text for text in errors), errors
    assert await page.get_by_label("登录名").get_attribute("aria-invalid") == "true"
    await check_page(page, "accounts-refused", screenshots_dir)
    login = f"new-inspector-{grid.suffix.lower()}"
    await page.get_by_label("登录名").fill(login)
    await page.get_by_label("姓名").fill("新网格员 王")
    await page.get_by_label("角色").select_option("inspector")
    await page.get_by_label("范围").fill(grid.village_a)
    await page.get_by_role("button", name="新建账号").click()
    password = (await page.locator("#shown-password").inner_text()).strip()
    assert len(password) == 16
    assert login in await page.inner_text("#accounts")
    await check_page(page, "accounts-created", screenshots_dir)
    await page.get_by_role("button", name="退出").click()
    await page.wait_for_url("**/console/sign-in")
    await sign_in(page, served_console, login, password)
    assert page.url == served_console.url("/console/inspector/due")
    assert "新网格员 王" in await page.inner_text("header")
    await context.close()


async def test_the_public_pages_render_without_sign_in(
    served_console: ServedConsole, browser_context: Any, screenshots_dir: Path
):
    page = await browser_context.new_page()
    await page.goto(served_console.url("/console/public/listings"))
    assert await page.get_by_role("heading", level=1).inner_text() == "挂牌督办公示"
    assert await page.locator("table.list tbody tr").count() == 1
    assert "县级" in await page.inner_text("table.list")
    await check_page(page, "public-listings", screenshots_dir)
    await page.get_by_role("link", name="严重失信主体名单").first.click()
    await page.wait_for_url("**/console/public/blacklist")
    assert "名单中目前没有企业" in await page.inner_text("main")
    await check_page(page, "public-blacklist", screenshots_dir)


async def test_english_is_one_click_away_and_stays_with_the_account(
    served_console: ServedConsole, chromium: Any, screenshots_dir: Path
):
    context = await chromium.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, served_console, "enterprise_b")
    await page.get_by_role("button", name="English").click()
    await page.wait_for_load_state("networkidle")
    heading = "Our hazards and their deadlines"
    assert await page.get_by_role("heading", level=1).inner_text() == heading
    assert await page.get_by_role("button", name="Sign out").is_visible()
    await check_page(page, "start-enterprise-en", screenshots_dir)
    # A new browser: the account remembers.
    await context.close()
    context = await chromium.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, served_console, "enterprise_b")
    assert await page.get_by_role("heading", level=1).inner_text() == heading
    await page.get_by_role("button", name="中文").click()
    await page.wait_for_load_state("networkidle")
    await context.close()


async def test_the_keyboard_reaches_the_content_first_and_every_control_shows_focus(
    served_console: ServedConsole, browser_context: Any
):
    page = await browser_context.new_page()
    await sign_in(page, served_console, "supervisor_county")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "跳到正文"
    await page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    # Every control the keyboard reaches, from the top of the page to its end, shows where
    # the focus is (an outline).
    await page.goto(served_console.url("/console/cases"))
    reached = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        tag, style, width, label = await page.evaluate(
            "() => { const e = document.activeElement, s = getComputedStyle(e);"
            " return [e.tagName, s.outlineStyle, s.outlineWidth, e.textContent.trim()"
            " || e.getAttribute('name') || '']; }"
        )
        if tag == "BODY":
            break
        assert style != "none" and width != "0px", (tag, label, style, width)
        reached.append(label)
    assert reached[:2] == ["跳到正文", "督办duban"], reached
    assert "退出" in reached and "English" in reached and "open_only" in reached, reached


async def test_a_list_pages_in_place_with_htmx_and_the_page_breaks_no_rule_of_its_csp(
    served_console: ServedConsole, browser_context: Any
):
    problems: list[str] = []
    page = await browser_context.new_page()
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    await sign_in(page, served_console, "auditor")
    await page.goto(served_console.url("/console/cases?limit=1"))
    assert await page.evaluate("() => typeof htmx") == "object"  # loaded, from this host
    await page.evaluate("() => { window.notReloaded = true; }")
    first = await page.locator("table.list tbody tr").inner_text()
    async with page.expect_response(lambda r: "offset=1" in r.url) as answered:
        await page.get_by_role("link", name="下一页").click()
    assert (await answered.value).request.headers.get("hx-request") == "true"
    await page.wait_for_url("**offset=1**")
    second = await page.locator("table.list tbody tr").inner_text()
    assert second != first
    assert await page.evaluate("() => window.notReloaded") is True  # swapped, not reloaded
    assert "第 2 / 3 页" in await page.inner_text(".pager")
    assert problems == []


async def test_the_cookie_flags_over_http_and_secure_behind_https(
    served_console: ServedConsole, browser_context: Any
):
    page = await browser_context.new_page()
    await sign_in(page, served_console, "auditor")
    (cookie,) = [c for c in await browser_context.cookies() if c["name"] == "duban_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False
    assert await page.evaluate("() => document.cookie.includes('duban_session')") is False
    # Through a proxy on this host that says the browser used HTTPS (uvicorn trusts
    # X-Forwarded-Proto from 127.0.0.1), the cookies are Secure.
    async with httpx.AsyncClient(base_url=served_console.base_url) as client:
        form = await client.get("/console/sign-in", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in form.headers["set-cookie"]
