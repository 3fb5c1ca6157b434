"""The console's words, Chinese first, English switchable.

The language of a request: the signed-in account's preference, else the ``duban_lang`` cookie
(the switch in the header sets both), else Chinese. Templates call ``t("key", name=…)``; a
missing key is an error in tests (``tests/console/test_console_i18n.py`` reads every template),
never an English word in a Chinese page.

Shared words (layout, components, roles, statuses) are here; each page group adds its own with
``add_messages`` in its module (keys prefixed with the group's name), so page groups never edit
one another's catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

_CATALOGUE: dict[str, dict[str, str]] = {"zh": {}, "en": {}}


def add_messages(messages: Mapping[str, tuple[str, str]]) -> None:
    """Add ``{key: (中文, English)}``; a key already there is a programming error."""
    for key, (zh, en) in messages.items():
        if key in _CATALOGUE["zh"]:
            raise ValueError(f"console message {key!r} is defined twice")
        _CATALOGUE["zh"][key] = zh
        _CATALOGUE["en"][key] = en


def has_message(key: str) -> bool:
    return key in _CATALOGUE["zh"]


def translator(language: str) -> Callable[..., str]:
    words = _CATALOGUE[language if language in LANGUAGES else DEFAULT_LANGUAGE]

    def t(key: str, **values: object) -> str:
        text = words[key]  # KeyError: a word the catalogue lacks (the tests read every one)
        return text.format(**values) if values else text

    return t


def translate_or(language: str, key: str, fallback: str) -> str:
    """``key``'s words if the catalogue has them, else ``fallback`` (a refusal's own message
    for a rule the console has no words for)."""
    words = _CATALOGUE[language if language in LANGUAGES else DEFAULT_LANGUAGE]
    return words.get(key, fallback)


add_messages(
    {
        # layout
        "app.name": ("督办", "duban"),
        "app.title": ("督办工作台", "Supervision console"),
        "app.tagline": ("安全生产隐患排查治理督办", "Workplace-safety hazard supervision"),
        "layout.skip": ("跳到正文", "Skip to content"),
        "layout.nav": ("主导航", "Main navigation"),
        "layout.signed_in_as": ("当前用户", "Signed in as"),
        "layout.sign_out": ("退出", "Sign out"),
        "layout.sign_in": ("登录", "Sign in"),
        "layout.language": ("语言", "Language"),
        "layout.role": ("角色", "Role"),
        "layout.scope": ("范围", "Scope"),
        "layout.scope_all": ("全部", "all"),
        "layout.scope_everywhere": ("全辖区", "everywhere"),
        "layout.footer": (
            "督办 duban — 事件溯源的隐患督办系统；每一项操作都留有可核验的记录。",
            "duban — event-sourced hazard supervision; every action leaves a verifiable record.",
        ),
        "layout.public": ("公开信息", "Public information"),
        "layout.time_zone": ("时间均为 {zone} 时区。", "Times are shown in the {zone} time zone."),
        # roles
        "role.inspector": ("网格员", "Inspector"),
        "role.enterprise": ("企业安全员", "Enterprise"),
        "role.supervisor": ("督办人员", "Supervisor"),
        "role.auditor": ("审计人员", "Auditor"),
        "role.admin": ("系统管理员", "Administrator"),
        # navigation (shared entries; page groups add theirs)
        "nav.home": ("首页", "Home"),
        "nav.listings": ("挂牌督办公示", "Listed hazards"),
        "nav.blacklist": ("严重失信主体名单", "Serious-dishonesty list"),
        # components
        "pager.label": ("分页", "Pages"),
        "pager.previous": ("上一页", "Previous"),
        "pager.next": ("下一页", "Next"),
        "pager.summary": (
            "共 {total} 条，第 {first}–{last} 条",
            "{first}–{last} of {total}",
        ),
        "pager.page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
        "empty.title": ("暂无内容", "Nothing here yet"),
        "form.errors_title": (
            "提交的内容有 {count} 处需要修改",
            "{count} thing(s) to correct",
        ),
        "form.rule": ("规则", "rule"),
        "form.required": ("必填", "required"),
        "form.optional": ("选填", "optional"),
        "flash.close": ("关闭提示", "Dismiss"),
        "time.none": ("—", "—"),
        # errors
        "error.title": ("无法完成请求", "The request was refused"),
        "error.403": (
            "您的角色或范围无权访问此页面。",
            "Your role or scope may not open this page.",
        ),
        "error.404": ("未找到所请求的内容。", "What you asked for was not found."),
        "error.409": ("当前状态不允许此操作。", "The current state does not allow this."),
        "error.422": ("提交的内容不符合规则。", "Something sent breaks a rule."),
        "error.503": (
            "服务暂时无法应答，请稍后再试。",
            "The service did not answer; try again shortly.",
        ),
        "error.csrf": (
            "页面已过期或请求来源不明（缺少防伪令牌）。请返回重新打开页面后再提交。",
            "The page expired or the request did not come from it (no anti-forgery token). "
            "Go back, reload the page and send it again.",
        ),
        "error.back_home": ("返回首页", "Back to the home page"),
        # the words of rules any page may meet (a group adds those of its own forms)
        "rule.csrf.invalid": (
            "缺少防伪令牌或令牌已失效。",
            "The anti-forgery token is missing or stale.",
        ),
        "rule.access.forbidden": (
            "您的角色或范围无权执行此操作。",
            "Your role or scope does not allow this.",
        ),
        "rule.auth.required": ("请先登录。", "Please sign in first."),
        "rule.not_found": ("未找到。", "Not found."),
        "rule.request.invalid": (
            "请求中有不符合规则的内容。",
            "Something in the request breaks a rule.",
        ),
        "rule.database.unavailable": (
            "数据库暂时无法应答，请稍后再试。",
            "The database did not answer; try again shortly.",
        ),
        "rule.temporal.unavailable": (
            "流程服务暂时无法应答，请稍后再试。",
            "The workflow service did not answer; try again shortly.",
        ),
        # case words shared by every page that shows cases
        "status.rectifying": ("整改中", "Rectifying"),
        "status.reported": ("已申请验收", "Reported"),
        "status.escalated": ("已升级督办", "Escalated"),
        "status.referred": ("已移送执法", "Referred"),
        "status.closed": ("已销号", "Closed"),
        "status.withdrawn": ("已撤销", "Withdrawn"),
        "level.province": ("省级", "Province"),
        "level.city": ("市级", "City"),
        "level.county": ("县级", "County"),
        "level.township": ("乡镇级", "Township"),
        "level.village": ("村级", "Village"),
        "class.general": ("一般隐患", "General"),
        "class.major": ("重大隐患", "Major"),
        "overdue.days": ("逾期 {days} 天", "{days} day(s) overdue"),
        "language.zh": ("中文", "中文"),
        "language.en": ("English", "English"),
    }
)
