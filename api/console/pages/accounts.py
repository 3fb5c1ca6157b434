"""The administrator's accounts page: list, create, disable and enable, reset a password —
with the rules of ``duban user …`` (both call ``api.accounts``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from activities.reference_data import ReferenceDataError
from api.accounts import (
    LANGUAGES,
    create_account,
    list_accounts,
    reset_password,
    set_enabled,
)
from api.auth import ROLES
from api.console.components import FormErrors, Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render, set_flash
from api.passwords import MIN_LENGTH, generate_password

router = ConsoleRouter("accounts")
ADMIN = ("admin",)
LIST = "/console/admin/accounts"
router.start_page("admin", LIST, priority=0)
router.nav(LIST, "nav.accounts", roles=ADMIN, order=80)
LoginPath = Annotated[str, Path(max_length=63, pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$")]

add_messages(
    {
        "nav.accounts": ("账号", "Accounts"),
        "accounts.title": ("账号管理", "Accounts"),
        "accounts.intro": (
            "每个人用自己的账号登录；其操作记录在每一个事件上。"
            "停用账号立即结束其会话和其 API 令牌。",
            "Everyone signs in with an account of their own; it is recorded on every event "
            "they cause. Disabling an account ends its sessions and its API tokens at once.",
        ),
        "accounts.login": ("登录名", "Login name"),
        "accounts.login_hint": (
            "小写字母、数字、点、下划线或连字符，2–63 个字符",
            "lower-case letters, digits, '.', '_' or '-'; 2–63 characters",
        ),
        "accounts.display_name": ("姓名", "Display name"),
        "accounts.role": ("角色", "Role"),
        "accounts.scope": ("范围", "Scope"),
        "accounts.scope_hint": (
            "网格员和督办人员填网格单元代码；企业填统一社会信用代码；审计和管理员留空",
            "a grid unit code for inspectors and supervisors, the credit code for an "
            "enterprise, empty for auditors and administrators",
        ),
        "accounts.language": ("界面语言", "Language"),
        "accounts.password": ("初始密码", "Initial password"),
        "accounts.password_hint": (
            "至少 {min} 个字符；留空则生成一个，只显示一次",
            "at least {min} characters; leave it empty to have one generated, shown once",
        ),
        "accounts.create": ("新建账号", "Create the account"),
        "accounts.new": ("新建账号", "New account"),
        "accounts.list": ("全部账号", "All accounts"),
        "accounts.state": ("状态", "State"),
        "accounts.enabled": ("启用", "Enabled"),
        "accounts.disabled": ("已停用", "Disabled"),
        "accounts.created_at": ("创建时间", "Created"),
        "accounts.actions": ("操作", "Actions"),
        "accounts.disable": ("停用", "Disable"),
        "accounts.enable": ("启用", "Enable"),
        "accounts.reset": ("重置密码", "Reset password"),
        "accounts.created": ("账号 {login} 已创建。", "Account {login} created."),
        "accounts.was_disabled": ("账号 {login} 已停用。", "Account {login} disabled."),
        "accounts.was_enabled": ("账号 {login} 已启用。", "Account {login} enabled."),
        "accounts.new_password": (
            "{login} 的密码（只显示这一次，请当面或以安全方式交给本人）：",
            "The password of {login} (shown this once; hand it over in person or safely):",
        ),
        "accounts.password_was_reset": (
            "{login} 的密码已重置，其会话已全部结束。",
            "The password of {login} was reset; its sessions have ended.",
        ),
        "accounts.empty": ("还没有账号。", "No accounts yet."),
        "rule.account.login.exists": ("该登录名已被使用。", "That login name is taken."),
        "rule.account.login.invalid": (
            "登录名只能包含小写字母、数字、点、下划线或连字符，2–63 个字符，以字母或数字开头。",
            "2–63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.",
        ),
        "rule.account.password.length": (
            f"密码长度须为 {MIN_LENGTH}–200 个字符。",
            f"The password must be {MIN_LENGTH}–200 characters.",
        ),
        "rule.account.password.is_login": (
            "密码不能与登录名相同。",
            "The password may not be the login name.",
        ),
        "rule.account.scope.grid_unit": (
            "网格员和督办人员的范围须是已有的网格单元代码。",
            "Inspectors and supervisors are scoped to an existing grid unit.",
        ),
        "rule.account.scope.enterprise": (
            "企业账号的范围须是已登记企业的统一社会信用代码。",
            "An enterprise account names the credit code of a registered enterprise.",
        ),
        "rule.account.scope.none": (
            "审计人员和管理员的账号没有范围，请留空。",
            "Auditor and administrator accounts have no scope: leave it empty.",
        ),
        "rule.account.admin.last_enabled": (
            "这是最后一个启用的管理员账号，不能停用。",
            "This is the last enabled administrator account; it cannot be disabled.",
        ),
        "rule.account.display_name.length": ("姓名须为 1–100 个字符。", "1–100 characters."),
    }
)


def _page(
    request: Request,
    services: Any,
    *,
    offset: int = 0,
    limit: int = 50,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    shown_password: tuple[str, str] | None = None,
    notice: tuple[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    page = list_accounts(services.engine, limit=limit, offset=offset)
    return render(
        request,
        "accounts/list.html",
        {
            "pager": Pager.of(request, page),
            "form": form
            or {
                "login": "",
                "display_name": "",
                "role": "inspector",
                "scope": "",
                "language": "zh",
            },
            "errors": errors or FormErrors(),
            "roles": ROLES,
            "languages": LANGUAGES,
            "grid_units": services.reference.grid_units()[:2000],
            "shown_password": shown_password,
            "min_length": MIN_LENGTH,
            "notice": notice,
        },
        status=status,
    )


@router.page(LIST, roles=ADMIN)
def accounts(
    request: Request,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    return _page(request, services, offset=offset, limit=limit)


@router.page(LIST, roles=ADMIN, methods=("POST",))
async def create(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    login: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=300)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    scope: Annotated[str, Form(max_length=100)] = "",
    language: Annotated[str, Form(max_length=5)] = "zh",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    generated = not password
    chosen = password or generate_password()
    form = {
        "login": login,
        "display_name": display_name,
        "role": role,
        "scope": scope,
        "language": language,
    }
    try:
        account = await run_in_threadpool(
            lambda: create_account(
                services.engine,
                services.reference,
                login=login,
                display_name=display_name,
                role=role,
                scope=scope,
                password=chosen,
                actor=viewer.login,
                language=language,
            )
        )
    except ReferenceDataError as exc:
        errors = FormErrors()
        errors.add(exc)
        status = errors.refusals[0].status
        return await run_in_threadpool(
            lambda: _page(request, services, form=form, errors=errors, status=status)
        )
    return await run_in_threadpool(
        lambda: _page(
            request,
            services,
            shown_password=(account.login, chosen) if generated else None,
            notice=("accounts.created", {"login": account.login}),
            status=201,
        )
    )


def _set_enabled(services: Any, viewer: Any, login: str, enabled: bool) -> Response:
    account = set_enabled(services.engine, login, enabled, actor=viewer.login)
    response = RedirectResponse(LIST, status_code=303)
    key = "accounts.was_enabled" if enabled else "accounts.was_disabled"
    set_flash(response, key, login=account.login)
    return response


@router.page(LIST + "/{login}/disable", roles=ADMIN, methods=("POST",))
def disable(services: ServicesDep, viewer: SignedIn, login: LoginPath) -> Response:
    return _set_enabled(services, viewer, login, False)


@router.page(LIST + "/{login}/enable", roles=ADMIN, methods=("POST",))
def enable(services: ServicesDep, viewer: SignedIn, login: LoginPath) -> Response:
    return _set_enabled(services, viewer, login, True)


@router.page(LIST + "/{login}/reset-password", roles=ADMIN, methods=("POST",))
def reset(request: Request, services: ServicesDep, viewer: SignedIn, login: LoginPath) -> Response:
    """A generated password, shown once on the answer (never carried in a cookie or a URL)."""
    password = generate_password()
    account = reset_password(services.engine, login, password, actor=viewer.login)
    return _page(
        request,
        services,
        shown_password=(account.login, password),
        notice=("accounts.password_was_reset", {"login": account.login}),
    )
