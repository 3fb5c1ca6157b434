"""Accounts: the admin's page with the CLI's rules, the append-only account log, a token tied to
an account recording the account as the actor, and the demo county's accounts of `duban up`."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from activities.database import create_owner_engine
from api.accounts import create_account
from api.auth import create_token
from api.console.demo import DEMO_ACCOUNTS_FILE, DEMO_PEOPLE, demo_accounts
from api.passwords import verify_password
from api.up import BannerFacts, PolicyInForce, banner_lines
from tests.api.test_api_hazards import hazard
from tests.console.conftest import PASSWORD, ConsoleHarness, form_token, post_sign_in
from workflows.ids import case_stream_id

DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"


def field_errors(html: str) -> list[str]:
    return re.findall(r'<p class="field-error" id="f-([a-z_]+)-error">', html)


async def test_the_admin_page_makes_accounts_with_the_clis_rules_and_shows_their_refusals(
    console: ConsoleHarness,
):
    admin = await console.sign_in("admin")
    token = form_token((await admin.get("/console/admin/accounts")).text)
    grid = console.api.grid
    form = {"csrf_token": token, "display_name": "新同事", "language": "zh"}
    cases = [
        ({"login": "Has Space", "role": "auditor"}, 422, "login", "account.login.invalid"),
        ({"login": "ok-login", "role": "inspector", "scope": "NOWHERE"}, 422, "scope",
         "account.scope.grid_unit"),
        ({"login": "ok-login", "role": "auditor", "scope": grid.county}, 422, "scope",
         "account.scope.none"),
        ({"login": "ok-login", "role": "auditor", "password": "short"}, 422, "password",
         "account.password.length"),
        ({"login": console.logins["auditor"], "role": "auditor"}, 409, "login",
         "account.login.exists"),
    ]  # fmt: skip
    for sent, status, field, rule in cases:
        answer = await admin.post("/console/admin/accounts", data=form | sent)
        assert answer.status_code == status, (sent, answer.text[:500])
        assert field_errors(answer.text) == [field], sent
        assert f"<code>{rule}</code>" in answer.text
        assert 'aria-invalid="true"' in answer.text
    made = await admin.post(
        "/console/admin/accounts",
        data=form
        | {"login": "new-sup", "role": "supervisor", "scope": grid.township_b, "password": ""},
    )
    assert made.status_code == 201
    shown = re.search(r'id="shown-password">([^<]+)<', made.text)
    assert shown, made.text[:3000]
    assert (await post_sign_in(console.client(), "new-sup", shown.group(1))).status_code == 303

    # Disable (its session ends), enable, reset (a new password shown once).
    victim = await console.sign_in("supervisor_b")
    login = console.logins["supervisor_b"]
    off = await admin.post(f"/console/admin/accounts/{login}/disable", data={"csrf_token": token})
    assert off.status_code == 303
    assert (await victim.get("/console/cases")).status_code == 303
    assert (await post_sign_in(console.client(), login, PASSWORD)).status_code == 401
    on = await admin.post(f"/console/admin/accounts/{login}/enable", data={"csrf_token": token})
    assert on.status_code == 303
    listing = await admin.get(on.headers["location"])
    assert f"账号 {login} 已启用。" in listing.text  # the flash, shown once
    assert "已启用" not in (await admin.get("/console/admin/accounts")).text
    reset = await admin.post(
        f"/console/admin/accounts/{login}/reset-password", data={"csrf_token": token}
    )
    new_password = re.search(r'id="shown-password">([^<]+)<', reset.text)
    assert new_password
    assert (await post_sign_in(console.client(), login, PASSWORD)).status_code == 401
    assert (await post_sign_in(console.client(), login, new_password.group(1))).status_code == 303
    kinds = [kind for kind, _ in console.log(login)]
    assert kinds[-6:] == [
        "account_disabled",
        "sign_in_failed",
        "account_enabled",
        "password_reset",
        "sign_in_failed",
        "signed_in",
    ]
    # The last enabled admin account is kept.
    last = await admin.post(
        f"/console/admin/accounts/{console.logins['admin']}/disable", data={"csrf_token": token}
    )
    assert last.status_code == 422 and "account.admin.last_enabled" in last.text
    unknown = await admin.post(
        "/console/admin/accounts/no-such-login/disable", data={"csrf_token": token}
    )
    assert unknown.status_code == 422 and "account.unknown" in unknown.text


def test_the_account_log_is_append_only_in_the_database_for_the_app_and_the_owner(
    console: ConsoleHarness, fresh_database_url: str
):
    create_account(
        console.engine,
        console.api.services.reference,
        login="logged-one",
        display_name="某人",
        role="auditor",
        scope=None,
        password=PASSWORD,
        actor="test",
    )
    owner = create_owner_engine(fresh_database_url)
    try:
        for engine, refusal in ((console.engine, "permission denied"), (owner, "append-only")):
            for statement in (
                "UPDATE account_log SET login = 'someone-else'",
                "DELETE FROM account_log",
                "TRUNCATE account_log",
            ):
                with pytest.raises(sa.exc.DBAPIError, match=refusal), engine.begin() as conn:
                    conn.execute(sa.text(statement))
        with console.engine.connect() as conn:
            count = conn.execute(
                sa.text("SELECT count(*) FROM account_log WHERE login = 'logged-one'")
            ).scalar_one()
        assert count == 1
        # Nor can the app delete accounts or sessions: it disables and ends them.
        for table in ("accounts", "console_sessions"):
            with (
                pytest.raises(sa.exc.DBAPIError, match="permission denied"),
                console.engine.begin() as conn,
            ):
                conn.execute(sa.text(f"DELETE FROM {table}"))
    finally:
        owner.dispose()


async def test_a_token_tied_to_an_account_records_the_account_as_the_actor(
    console: ConsoleHarness,
):
    login = console.logins["inspector_a"]
    principal, secret = create_token(
        console.engine, console.api.services.reference, "", None, "ignored", account=login
    )
    assert (principal.actor_id, principal.role) == (login, "inspector")
    created = await console.api.client.post(
        "/api/v1/hazards",
        json=hazard(console.api.grid),
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert created.status_code == 201, created.text
    first = console.api.store.read_stream(case_stream_id(created.json()["hazard_id"]))[0]
    assert first.metadata["actor_id"] == login


def test_the_demo_county_gets_one_account_per_role_kept_and_printed_again(
    console: ConsoleHarness, tmp_path: Path
):
    reference = console.api.services.reference
    reference.load_csv(
        (DEMO / "grid.csv").read_text(encoding="utf-8"),
        (DEMO / "enterprises.csv").read_text(encoding="utf-8"),
        "test",
    )
    first = demo_accounts(console.engine, reference, tmp_path)
    assert [(a.login, a.role) for a in first] == [(p[0], p[2]) for p in DEMO_PEOPLE]
    assert {a.role for a in first} == {"inspector", "enterprise", "supervisor", "auditor", "admin"}
    kept = tmp_path / DEMO_ACCOUNTS_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text()) == {a.login: a.password for a in first}
    for account in first:
        with console.engine.connect() as conn:
            stored = conn.execute(
                sa.text("SELECT password_hash FROM accounts WHERE login = :l"),
                {"l": account.login},
            ).scalar_one()
        assert account.password is not None and verify_password(stored, account.password)
    # The next `duban up`: the same passwords; one changed since is not shown.
    from api.accounts import reset_password

    reset_password(console.engine, "demo-auditor", "changed by the admin", actor="test")
    again = demo_accounts(console.engine, reference, tmp_path)
    assert [a.password for a in again[:3]] == [a.password for a in first[:3]]
    assert again[3].password is None
    lines = banner_lines(
        BannerFacts(
            database="embedded",
            api_base="http://127.0.0.1:8000",
            temporal_ui_url=None,
            temporal_address="127.0.0.1:7233",
            webhook=False,
            tracing=False,
            policy=PolicyInForce("default.toml", "default", "1", 4, "Asia/Shanghai"),
            data_dir=tmp_path,
            token="dbn_x",
            token_reused=False,
            console_accounts=again,
        )
    )
    text = "\n".join(lines)
    assert "console:     http://127.0.0.1:8000/console/" in text
    assert "inbox:       http://127.0.0.1:8000/console/inbox" in text
    supervisor = next(line for line in lines if "demo-supervisor" in line)
    assert supervisor.startswith("sign in:") and first[0].password in supervisor
    assert "supervisor, DEMO-37-07-82" in supervisor
    assert "reset-password demo-auditor" in text
    assert str(kept) in text


def test_no_demo_accounts_without_the_demo_county(console: ConsoleHarness, tmp_path: Path):
    assert demo_accounts(console.engine, console.api.services.reference, tmp_path) == []
    assert not (tmp_path / DEMO_ACCOUNTS_FILE).exists()
