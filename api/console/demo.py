"""The demo county's people: one console account per role, made by `duban up` on first run.

Their passwords are generated then, kept in ``<data_dir>/demo-accounts.json`` (mode 0600, like
the admin token) and printed in the banner's sign-in lines; the next `duban up` prints them
again while they still work. An account whose password was changed since (in the console or
with ``duban user reset-password``) is named without one; a disabled one says so. Nothing is
made when the demo county is not loaded (the store holds a real grid).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from activities.reference_data import ReferenceData
from api.accounts import create_account, password_hash_of
from api.passwords import generate_password, verify_password
from api.stack import write_private_file

DEMO_ACCOUNTS_FILE = "demo-accounts.json"
DEMO_COUNTY = "DEMO-37-07-82"
# login, display name, role, scope: a scope in the demo grid (deploy/demo/*.csv).
DEMO_PEOPLE: tuple[tuple[str, str, str, str | None], ...] = (
    ("demo-supervisor", "县应急管理局 赵局长", "supervisor", DEMO_COUNTY),
    ("demo-inspector", "城关街道网格员 吴", "inspector", "DEMO-37-07-82-T01"),
    ("demo-enterprise", "机械制造公司安全员 刘", "enterprise", "91370782MA0000001P"),
    ("demo-auditor", "县审计 孙", "auditor", None),
    ("demo-admin", "系统管理员 周", "admin", None),
)


@dataclass(frozen=True)
class DemoAccount:
    login: str
    role: str
    scope: str | None
    password: str | None  # None: changed since it was made, or disabled
    disabled: bool = False


def demo_accounts(engine: Engine, reference: ReferenceData, data_dir: Path) -> list[DemoAccount]:
    """Make the demo accounts that are missing, and say how to sign in as each."""
    if reference.grid_unit(DEMO_COUNTY) is None:
        return []
    path = data_dir / DEMO_ACCOUNTS_FILE
    kept: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        kept = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    shown: list[DemoAccount] = []
    changed = False
    for login, name, role, scope in DEMO_PEOPLE:
        found = password_hash_of(engine, login)
        if found is None:
            password = generate_password()
            create_account(
                engine,
                reference,
                login=login,
                display_name=name,
                role=role,
                scope=scope,
                password=password,
                actor="duban-up",
            )
            kept[login] = password
            changed = True
            shown.append(DemoAccount(login, role, scope, password))
            continue
        account, stored = found
        remembered = kept.get(login)
        works = remembered is not None and verify_password(stored, remembered)
        shown.append(
            DemoAccount(login, role, scope, remembered if works else None, not account.enabled)
        )
    if changed:
        write_private_file(path, json.dumps(kept, ensure_ascii=False, indent=2))
    else:
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o600)
    return shown
