"""Signing in, sessions and CSRF, over HTTP (the app over ASGI, the real PostgreSQL): one answer
for every failed sign-in, slower and then locked after repeated failures (by name and by
address), sessions that end (sign-out, idle, absolute, disabled) and whose cookie then
authenticates nobody, and no unsafe request without the page's token."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import sqlalchemy as sa

from api.accounts import reset_password, set_enabled
from api.app import create_app
from tests.api.test_api_hazards import hazard
from tests.console.conftest import (
    PASSWORD,
    ConsoleHarness,
    console_settings,
    form_token,
    post_sign_in,
)
from workflows.ids import case_stream_id


def alert(html: str) -> str:
    found = re.search(r'<p class="alert" role="alert"[^>]*>([^<]*)</p>', html)
    assert found, html[:3000]
    return found.group(1).strip()


def session_cookie(client) -> str:  # type: ignore[no-untyped-def]
    value = client.cookies.get("duban_session")
    assert value, dict(client.cookies)
    return str(value)


def accounts_count(console: ConsoleHarness) -> int:
    with console.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one())


# ---------------------------------------------------------------------- signing in


async def test_a_person_signs_in_and_the_session_cookie_is_httponly_lax_and_secure_only_over_https(
    console: ConsoleHarness,
):
    client = console.client()
    answer = await post_sign_in(client, console.logins["supervisor_a"], PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("duban_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie, cookie  # plain HTTP: a Secure cookie would never come back
    home = await client.get("/console/")
    assert home.status_code == 303 and home.headers["location"] == "/console/workbench"
    assert console.log(console.logins["supervisor_a"])[-1] == ("signed_in", None)

    # Over HTTPS (the request's scheme: TLS, or X-Forwarded-Proto from a trusted proxy).
    secure = console.client()
    secure.base_url = "https://duban.test"  # type: ignore[assignment]
    over_tls = await post_sign_in(secure, console.logins["supervisor_a"], PASSWORD)
    assert over_tls.status_code == 303
    assert "Secure" in over_tls.headers["set-cookie"]

    # Behind a proxy that terminates TLS and forwards plain HTTP: the setting says so.
    proxied_app = create_app(
        console_settings(console.api.settings, console_tls_proxy=True),
        services=console.api.services,
    )
    proxied = ConsoleHarness(console.api, proxied_app, console.logins, console.clients).client()
    page = await proxied.get("/console/sign-in")
    assert "Secure" in page.headers["set-cookie"]  # the sign-in form's token cookie too
    # (httpx keeps a Secure cookie from plain HTTP: the browser, in front of the proxy, is
    # on HTTPS and sends it back.)
    proxied.cookies.set("duban_csrf", page.cookies["duban_csrf"])
    behind = await proxied.post(
        "/console/sign-in",
        data={
            "login": console.logins["supervisor_a"],
            "password": PASSWORD,
            "csrf_token": form_token(page.text),
        },
    )
    assert behind.status_code == 303, behind.text[:1000]
    assert "Secure" in behind.headers["set-cookie"]


async def test_an_unknown_name_a_wrong_password_and_a_disabled_account_get_the_same_answer(
    console: ConsoleHarness,
):
    login = console.logins["inspector_a"]
    disabled = console.logins["inspector_b"]
    set_enabled(console.engine, disabled, False, actor="test")
    answers = [
        await post_sign_in(console.client(), "nobody-here", PASSWORD),
        await post_sign_in(console.client(), login, "not the password"),
        await post_sign_in(console.client(), disabled, PASSWORD),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert {alert(a.text) for a in answers} == {"登录名或密码不正确。"}
    assert all("duban_session" not in a.headers.get("set-cookie", "") for a in answers)
    assert console.log("nobody-here") == [("sign_in_failed", "unknown_login")]
    assert console.log(login)[-1] == ("sign_in_failed", "wrong_password")
    assert console.log(disabled)[-1] == ("sign_in_failed", "disabled")


async def test_a_login_name_locks_after_repeated_failures_known_or_not_until_a_reset(
    console: ConsoleHarness,
):
    login = console.logins["supervisor_b"]
    for name, address in ((login, "10.0.0.1"), ("no-such-person", "10.0.0.2")):
        statuses = []
        for _ in range(3):  # console_account_failures in these tests
            failed = await post_sign_in(console.client(address), name, "wrong!")
            statuses.append(failed.status_code)
        assert statuses == [401, 401, 429], (name, statuses)
        # Locked: the right password is not even looked at, and the answer is the same.
        locked = await post_sign_in(console.client(address), name, PASSWORD)
        assert locked.status_code == 429
        assert alert(locked.text).startswith("登录失败次数过多")
    kinds = [kind for kind, _ in console.log(login)]
    assert kinds[-5:] == [
        "sign_in_failed",
        "sign_in_failed",
        "sign_in_failed",
        "locked",
        "refused_locked",
    ]
    assert [k for k, _ in console.log("no-such-person")] == kinds[-5:]
    # Another name from the same address is not locked.
    await console.sign_in("supervisor_a")
    # A password reset lifts the lock.
    reset_password(console.engine, login, PASSWORD + "!", actor="test")
    assert (await post_sign_in(console.client(), login, PASSWORD + "!")).status_code == 303


async def test_an_address_is_refused_after_many_failures_across_names_while_others_sign_in(
    console: ConsoleHarness,
):
    app = create_app(
        console_settings(
            console.api.settings, console_address_failures=4, console_account_failures=10
        ),
        services=console.api.services,
    )
    harness = ConsoleHarness(console.api, app, console.logins, console.clients)
    for number in range(4):
        failed = await post_sign_in(harness.client("10.9.8.7"), f"guess-{number}", "x" * 12)
        assert failed.status_code == 401
    # From that address nothing gets in now, not even the right password of a real account.
    refused = await post_sign_in(harness.client("10.9.8.7"), console.logins["auditor"], PASSWORD)
    assert refused.status_code == 429
    assert console.log(console.logins["auditor"])[-1] == ("refused_locked", "address")
    # From another address the same account signs in.
    elsewhere = await post_sign_in(harness.client("10.9.8.8"), console.logins["auditor"], PASSWORD)
    assert elsewhere.status_code == 303


async def test_a_failed_sign_in_waits_longer_each_time_without_holding_up_other_requests(
    console: ConsoleHarness,
):
    from api.console.signin import failure_delay

    assert [failure_delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    app = create_app(
        console_settings(console.api.settings, console_account_failures=10),
        services=console.api.services,
    )
    harness = ConsoleHarness(console.api, app, console.logins, console.clients)
    for _ in range(3):
        await post_sign_in(harness.client(), "slow-down", "wrong!")
    # The fourth failure waits 4 s; meanwhile another visitor is answered.
    client = harness.client()
    token = form_token((await client.get("/console/sign-in")).text)
    failing = asyncio.create_task(
        client.post(
            "/console/sign-in",
            data={"login": "slow-down", "password": "wrong!", "csrf_token": token},
        )
    )
    await asyncio.sleep(0.5)  # the argon2 check is done, the answer is waiting
    public = await harness.client().get("/console/public/listings")
    assert public.status_code == 200
    assert not failing.done(), "the failed sign-in was answered before its delay"
    assert (await failing).status_code == 401


# ---------------------------------------------------------------------- sessions end


async def test_sign_out_ends_the_session_and_its_cookie_no_longer_works(console: ConsoleHarness):
    client = await console.sign_in("enterprise_a")
    cookie = session_cookie(client)
    page = await client.get("/console/cases")
    assert page.status_code == 200
    out = await client.post("/console/sign-out", data={"csrf_token": form_token(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
    assert 'duban_session=""' in out.headers["set-cookie"]
    stolen = console.client()
    stolen.cookies.set("duban_session", cookie)
    again = await stolen.get("/console/cases")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/console/sign-in?next=")
    assert console.log(console.logins["enterprise_a"])[-1] == ("signed_out", None)
    api = await stolen.get("/api/v1/hazards")
    assert api.status_code == 401


async def test_an_idle_session_and_one_past_its_absolute_timeout_end_and_say_why(
    console: ConsoleHarness,
):
    for column, reason in (("last_seen_at", "idle"), ("expires_at", "absolute")):
        client = await console.sign_in("auditor")
        assert (await client.get("/console/cases")).status_code == 200
        moved = timedelta(minutes=31) if reason == "idle" else timedelta(hours=13)
        with console.engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"UPDATE console_sessions SET {column} = {column} - :moved"
                    " WHERE login = :l AND ended_at IS NULL"
                ),
                {"moved": moved, "l": console.logins["auditor"]},
            )
        ended = await client.get("/console/cases")
        assert ended.status_code == 303, reason
        assert ended.headers["location"].startswith("/console/sign-in")
        assert console.log(console.logins["auditor"])[-1] == ("session_expired", reason)
        sign_in = await client.get(ended.headers["location"])
        assert "登录已过期" in sign_in.text


async def test_a_tampered_or_unknown_session_cookie_is_refused(console: ConsoleHarness):
    client = await console.sign_in("admin")
    cookie = session_cookie(client)
    for forged in (
        cookie[:-1] + ("A" if cookie[-1] != "A" else "B"),
        "x" * 43,
        cookie + "x",
        "",
    ):
        visitor = console.client()
        visitor.cookies.set("duban_session", forged)
        answer = await visitor.get("/console/admin/accounts")
        assert answer.status_code == 303, forged
        assert answer.headers["location"].startswith("/console/sign-in")
    assert (await client.get("/console/admin/accounts")).status_code == 200


async def test_disabling_an_account_ends_its_session_at_once(console: ConsoleHarness):
    client = await console.sign_in("inspector_b")
    assert (await client.get("/console/cases")).status_code == 200
    set_enabled(console.engine, console.logins["inspector_b"], False, actor="test")
    assert (await client.get("/console/cases")).status_code == 303


# ---------------------------------------------------------------------- CSRF


async def test_an_unsafe_request_without_the_pages_token_is_refused_and_changes_nothing(
    console: ConsoleHarness,
):
    admin = await console.sign_in("admin")
    page = await admin.get("/console/admin/accounts")
    token = form_token(page.text)
    form = {
        "login": "csrf-victim",
        "display_name": "某人",
        "role": "auditor",
        "password": "a long enough password",
    }
    before = accounts_count(console)
    for sent in ({}, {"csrf_token": "not-the-token-" + "x" * 30}, {"csrf_token": ""}):
        refused = await admin.post("/console/admin/accounts", data=form | sent)
        assert refused.status_code == 403, refused.text[:500]
        assert "csrf.invalid" in refused.text
    # The sign-in form's token of another visitor is not this session's.
    stranger = form_token((await console.client().get("/console/sign-in")).text)
    forged = await admin.post("/console/admin/accounts", data=form | {"csrf_token": stranger})
    assert forged.status_code == 403
    assert accounts_count(console) == before
    # Sign-out and the language switch are unsafe requests too.
    assert (await admin.post("/console/sign-out")).status_code == 403
    assert (await admin.post("/console/language", data={"language": "en"})).status_code == 403
    assert (await admin.get("/console/admin/accounts")).status_code == 200  # still signed in
    # The header htmx sends is as good as the form field.
    made = await admin.post("/console/admin/accounts", data=form, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text[:2000]
    assert accounts_count(console) == before + 1
    # Before sign-in: the sign-in form needs its own token.
    anonymous = console.client()
    bare = await anonymous.post(
        "/console/sign-in", data={"login": console.logins["admin"], "password": PASSWORD}
    )
    assert bare.status_code == 403 and "duban_session" not in bare.headers.get("set-cookie", "")


async def test_a_console_session_acts_on_the_api_as_its_account_with_the_csrf_header(
    console: ConsoleHarness,
):
    inspector = await console.sign_in("inspector_a")
    token = form_token((await inspector.get("/console/cases")).text)
    listed = await inspector.get("/api/v1/hazards")
    assert listed.status_code == 200
    body = hazard(console.api.grid)
    refused = await inspector.post("/api/v1/hazards", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["rule"] == "csrf.invalid"
    created = await inspector.post("/api/v1/hazards", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    first = console.api.store.read_stream(case_stream_id(created.json()["hazard_id"]))[0]
    assert first.metadata["actor_id"] == console.logins["inspector_a"]
    assert first.metadata["actor_role"] == "inspector"
    # The same access rules: outside the inspector's grid is refused as for a token.
    outside = await inspector.post(
        "/api/v1/hazards",
        json=hazard(console.api.grid, credit_code=console.api.grid.enterprise_b),
        headers={"X-CSRF-Token": token},
    )
    assert outside.status_code == 403 and outside.json()["error"]["rule"] == "access.forbidden"


async def test_sign_in_goes_back_only_to_a_page_of_the_console(console: ConsoleHarness):
    for target, expected in (
        ("/console/public/blacklist", "/console/public/blacklist"),
        ("//evil.example/console", "/console/"),
        ("https://evil.example/", "/console/"),
        ("/console/..//evil", "/console/"),
    ):
        answer = await post_sign_in(
            console.client(), console.logins["auditor"], PASSWORD, next=target
        )
        assert answer.headers["location"] == expected, target


async def test_console_pages_say_no_other_host_and_are_not_cached(console: ConsoleHarness):
    client = await console.sign_in("supervisor_county")
    for path in ("/", "/console/sign-in", "/console/cases", "/console/public/listings"):
        answer = await client.get(path)
        policy = answer.headers["content-security-policy"]
        assert policy.startswith("default-src 'self'"), policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
    page = await client.get("/console/cases")
    assert page.headers["cache-control"] == "no-store"
    assert (await client.get("/")).headers["location"] == "/console/"
    # The API's answers are not the console's: no console headers there.
    assert "content-security-policy" not in (await client.get("/healthz")).headers
