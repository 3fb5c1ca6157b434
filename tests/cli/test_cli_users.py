"""``duban user …``: accounts made, listed, disabled, enabled and given a new password from the
command line, the password never an argument; ``duban token create --account``: a machine's
token that acts as the account and stops with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from activities.database import create_app_engine
from activities.eventstore import EventStore
from activities.reference_data import ReferenceData
from api.auth import authenticate
from api.cli import app
from api.passwords import verify_password
from tests.cli.helpers import assert_one_line_refusal
from tests.conftest import APP_ROLE

runner = CliRunner()
DEMO = Path(__file__).resolve().parents[2] / "deploy" / "demo"
COUNTY = "DEMO-37-07-82"
ENTERPRISE = "91370782MA0000001P"


def duban(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200", **env}, input=stdin)


@pytest.fixture()
def demo_env(cli_env: dict[str, str], fresh_database_url: str) -> dict[str, str]:
    """The CLI's environment over a database holding the demo county."""
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    try:
        ReferenceData(engine, EventStore(engine)).load_csv(
            (DEMO / "grid.csv").read_text(encoding="utf-8"),
            (DEMO / "enterprises.csv").read_text(encoding="utf-8"),
            "test",
        )
    finally:
        engine.dispose()
    return cli_env


def stored_hash(url: str, login: str) -> str:
    engine = create_app_engine(url, APP_ROLE)
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    sa.text("SELECT password_hash FROM accounts WHERE login = :l"), {"l": login}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_an_account_takes_its_password_from_stdin_or_generates_one_never_from_an_argument(
    demo_env: dict[str, str], fresh_database_url: str
):
    made = duban(
        demo_env,
        "user", "create", "zhao.chief",
        "--display-name", "县应急管理局 赵局长",
        "--role", "supervisor",
        "--scope", COUNTY,
        "--json",
        stdin="a long enough secret\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    answer = json.loads(made.stdout)
    assert answer["login"] == "zhao.chief" and answer["enabled"] is True
    assert "password" not in answer and "a long enough secret" not in made.output
    stored = stored_hash(fresh_database_url, "zhao.chief")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(stored, "a long enough secret")

    generated = duban(
        demo_env,
        "user", "create", "liu-safety",
        "--display-name", "安全员 刘",
        "--role", "enterprise",
        "--scope", ENTERPRISE.lower(),
        "--generate-password",
    )  # fmt: skip
    assert generated.exit_code == 0, generated.output
    shown = generated.stdout.split("password (shown once): ")[1].strip()
    assert verify_password(stored_hash(fresh_database_url, "liu-safety"), shown)
    assert "scope 91370782MA0000001P)" in generated.stdout  # the credit code, upper case

    no_option = duban(
        demo_env, "user", "create", "x1", "--display-name", "x", "--role", "auditor",
        "--password", "a long enough secret",
    )  # fmt: skip
    assert no_option.exit_code == 2 and "No such option" in no_option.output


SECRET = "a long enough secret\n"


@pytest.mark.parametrize(
    ("args", "stdin", "fragments"),
    [
        (("Bad Name", "--role", "auditor"), SECRET, ("login:", "account.login.invalid")),
        (
            ("inspector-x", "--role", "inspector", "--scope", "NOWHERE"),
            SECRET,
            ("scope:", "account.scope.grid_unit"),
        ),
        (("auditor-x", "--role", "auditor", "--scope", COUNTY), SECRET, ("account.scope.none",)),
        (("auditor-y", "--role", "visitor"), SECRET, ("role:", "account.role.unknown")),
        (("auditor-z", "--role", "auditor"), "short\n", ("password:", "account.password.length")),
        (("auditor-zz1", "--role", "auditor"), "Auditor-ZZ1\n", ("account.password.is_login",)),
        (("auditor-w", "--role", "auditor"), "", ("password:", "standard input")),
    ],
)
def test_an_account_the_rules_refuse_is_one_line_and_nothing_is_made(
    demo_env: dict[str, str], args: tuple[str, ...], stdin: str, fragments: tuple[str, ...]
):
    login, *rest = args
    refused = duban(demo_env, "user", "create", login, "--display-name", "某人", *rest, stdin=stdin)
    assert_one_line_refusal(refused, *fragments)
    listed = duban(demo_env, "user", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_accounts_are_listed_disabled_enabled_and_given_a_new_password(
    demo_env: dict[str, str], fresh_database_url: str
):
    for login, role in (("admin-one", "admin"), ("sun-audit", "auditor")):
        made = duban(
            demo_env, "user", "create", login, "--display-name", login, "--role", role,
            stdin="a long enough secret\n",
        )  # fmt: skip
        assert made.exit_code == 0, made.output
    again = duban(
        demo_env, "user", "create", "sun-audit", "--display-name", "x", "--role", "auditor",
        stdin="a long enough secret\n",
    )  # fmt: skip
    assert_one_line_refusal(again, "login:", "account.login.exists")
    listed = json.loads(duban(demo_env, "user", "list", "--json").stdout)
    assert [(a["login"], a["role"], a["enabled"]) for a in listed] == [
        ("admin-one", "admin", True),
        ("sun-audit", "auditor", True),
    ]
    table = duban(demo_env, "user", "list")
    assert "sun-audit" in table.stdout and "enabled" in table.stdout
    assert_one_line_refusal(
        duban(demo_env, "user", "disable", "admin-one"), "account.admin.last_enabled"
    )
    disabled = duban(demo_env, "user", "disable", "SUN-AUDIT", "--json")
    assert disabled.exit_code == 0 and json.loads(disabled.stdout)["enabled"] is False
    enabled = duban(demo_env, "user", "enable", "sun-audit", "--json")
    assert json.loads(enabled.stdout)["enabled"] is True
    reset = duban(demo_env, "user", "reset-password", "sun-audit", stdin="another long secret\n")
    assert reset.exit_code == 0, reset.output
    assert verify_password(stored_hash(fresh_database_url, "sun-audit"), "another long secret")
    assert_one_line_refusal(
        duban(demo_env, "user", "reset-password", "nobody", "--generate-password"),
        "account.unknown",
    )
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    with engine.connect() as conn:
        kinds = conn.execute(
            sa.text("SELECT kind, actor FROM account_log WHERE login = 'sun-audit' ORDER BY id")
        ).all()
    engine.dispose()
    assert [k for k, _ in kinds] == [
        "account_created",
        "account_disabled",
        "account_enabled",
        "password_reset",
    ]
    assert all(actor.startswith("cli") for _, actor in kinds)


def test_a_token_tied_to_an_account_acts_as_it_and_stops_while_it_is_disabled(
    demo_env: dict[str, str], fresh_database_url: str
):
    made = duban(
        demo_env, "user", "create", "wu-grid", "--display-name", "网格员 吴",
        "--role", "inspector", "--scope", "DEMO-37-07-82-T01", "--generate-password",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    issued = duban(demo_env, "token", "create", "--account", "wu-grid", "--json")
    assert issued.exit_code == 0, issued.output
    token = json.loads(issued.stdout)
    assert (token["actor_id"], token["role"], token["scope"]) == (
        "wu-grid",
        "inspector",
        "DEMO-37-07-82-T01",
    )
    listed = json.loads(duban(demo_env, "token", "list", "--json").stdout)
    assert [t["account"] for t in listed] == ["wu-grid"]
    assert_one_line_refusal(
        duban(demo_env, "token", "create", "--account", "wu-grid", "--role", "supervisor"),
        "role:",
        "token.account.mismatch",
    )
    assert_one_line_refusal(
        duban(demo_env, "token", "create", "--account", "nobody"), "token.account.unknown"
    )
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    try:
        assert authenticate(engine, token["token"]) is not None
        duban(demo_env, "user", "disable", "wu-grid")
        assert authenticate(engine, token["token"]) is None
        assert_one_line_refusal(
            duban(demo_env, "token", "create", "--account", "wu-grid"), "token.account.disabled"
        )
        duban(demo_env, "user", "enable", "wu-grid")
        principal = authenticate(engine, token["token"])
        assert principal is not None and principal.actor_id == "wu-grid"
    finally:
        engine.dispose()
