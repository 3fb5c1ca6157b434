"""How documents word dates, deadlines, periods and the domain's terms (公文用语).

Times are shown in the policy's time zone. A deadline at 24:00 local (stored as 00:00 of the
next day, see ``domain.calendar``) reads ``2026年12月31日（星期四）24时前``; any other instant
reads with its hour and minute (a drill's deadline in seconds, with its seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar
from domain.case.events import HazardCategory, HazardClass, HazardSource, ReferralGround
from domain.case.words import STEPS
from domain.documents.model import Citation, Deadline, Right, signed_on_words
from domain.durations import PolicyDuration
from domain.policy import ListingLevel, Step

_WEEKDAYS = "一二三四五六日"


def date_words(day: date) -> str:
    return signed_on_words(day)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def last_day(deadline: datetime, tz: ZoneInfo) -> date:
    """The day a deadline closes: a 24:00 deadline closes the day before its date."""
    local = deadline.astimezone(tz)
    return local.date() - timedelta(days=1) if local.time() == time(0) else local.date()


def deadline_words(deadline: datetime, tz: ZoneInfo) -> str:
    """``2026年12月31日（星期四）24时前``, or with the clock time of a deadline not at 24:00."""
    local = deadline.astimezone(tz)
    day = last_day(deadline, tz)
    weekday = f"（星期{_WEEKDAYS[day.weekday()]}）"
    if local.time() == time(0):
        clock = "24时"
    else:
        clock = f"{local.hour}时"
        if local.minute or local.second:
            clock += f"{local.minute}分"
        if local.second:
            clock += f"{local.second}秒"
    return f"{date_words(day)}{weekday}{clock}前"


def until_words(instant: datetime, tz: ZoneInfo) -> str:
    """The end of a period, for ``至…止``: ``2029年3月12日（星期一）24时`` or with its clock."""
    return deadline_words(instant, tz).removesuffix("前")


def duration_words(duration: PolicyDuration) -> str:
    """A policy period in words: ``10个工作日``, ``15日``, ``3个月``, ``1年``, ``30秒``."""
    if duration.is_working_days:
        return f"{duration.working_days}个工作日"
    parts = []
    if duration.years:
        parts.append(f"{duration.years}年")
    if duration.months:
        parts.append(f"{duration.months}个月")
    if duration.days:
        parts.append(f"{duration.days}日")
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts += [f"{v}{u}" for v, u in ((hours, "小时"), (minutes, "分钟"), (seconds, "秒")) if v]
    return "".join(parts)


def working_days_counted(
    start: datetime, deadline: datetime, calendar: WorkingCalendar, tz: ZoneInfo
) -> int:
    """The working days from the day after ``start`` to the day the deadline closes, both
    local (the day of the act is not counted: Civil Code Art. 201)."""
    day, end, count = local_day(start, tz), last_day(deadline, tz), 0
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def deadline_of(
    deadline: datetime,
    tz: ZoneInfo,
    *,
    counted_from: datetime | None = None,
    rule: PolicyDuration | None = None,
    calendar: WorkingCalendar | None = None,
) -> Deadline:
    """A deadline as stated; where the rule that set it counts working days, with the working
    days it leaves from ``counted_from`` (the day of the act not counted)."""
    counted = ""
    if (
        rule is not None
        and rule.is_working_days
        and counted_from is not None
        and calendar is not None
    ):
        counted = f"{working_days_counted(counted_from, deadline, calendar, tz)}个工作日"
    return Deadline(deadline, deadline_words(deadline, tz), counted)


def deadline_sentence(deadline: Deadline) -> str:
    """``2026年12月31日（星期四）24时前（10个工作日）``."""
    return deadline.words + (f"（{deadline.counted}）" if deadline.counted else "")


HAZARD_CLASS = {
    HazardClass.GENERAL: "一般事故隐患",
    HazardClass.MAJOR: "重大事故隐患",
}
HAZARD_CATEGORY = {
    HazardCategory.THING: "物的不安全状态",
    HazardCategory.PERSON: "人的不安全行为",
    HazardCategory.MANAGEMENT: "管理上的缺陷",
}
HAZARD_SOURCE = {
    HazardSource.SELF_INSPECTION: "企业自查",
    HazardSource.GRID_PATROL: "网格巡查",
    HazardSource.ENFORCEMENT_INSPECTION: "执法检查",
    HazardSource.UNANNOUNCED_INSPECTION: "“四不两直”暗查暗访",
    HazardSource.PUBLIC_REPORT: "群众举报核查",
}
LISTING_LEVEL = {
    ListingLevel.COUNTY: "县级",
    ListingLevel.CITY: "市级",
    ListingLevel.PROVINCE: "省级",
}
# The steps' words live with the case's other words (domain.case.words), keyed here by Step.
STEP = {Step(value): words for value, words in STEPS.items()}
REFERRAL_GROUND = {
    ReferralGround.REFUSAL: "拒不执行事故隐患整改要求",
    ReferralGround.LADDER_STEP: "经逐级督办，按督办规则移送执法",
    ReferralGround.OVERDUE_AT_TOP: "经逐级督办至最高层级仍逾期未整改",
    ReferralGround.LISTING_PERIOD_ENDED: "挂牌督办期满仍未整改",
}
CHINESE_NUMERALS = "〇一二三四五六七八九十"


def ordinal(n: int) -> str:
    """一, 二, … 九十九 for headings and 第N级."""
    if n < 1 or n > 99:
        return str(n)
    tens, ones = divmod(n, 10)
    if not tens:
        return CHINESE_NUMERALS[ones]
    return (
        (CHINESE_NUMERALS[tens] if tens > 1 else "")
        + "十"
        + (CHINESE_NUMERALS[ones] if ones else "")
    )


_ENDINGS = "。！？；：…"


def sentence(text: str) -> str:
    """A person's text as a sentence of the document: stripped, ending with 。 unless it
    already ends with a full stop (the words themselves are kept as recorded)."""
    text = text.strip()
    return text if not text or text.endswith(tuple(_ENDINGS)) else text + "。"


def clause(text: str) -> str:
    """A person's text inside a sentence: stripped, its own final full stop removed."""
    return text.strip().rstrip("。.；;")


def basis_words(citations: Sequence[Citation]) -> str:
    """``《中华人民共和国安全生产法》第六十五条、《…》``: the citations in the rules' order."""
    return "、".join(c.text for c in citations)


def rights_paragraph(rights: Sequence[Right]) -> str:
    """Each right as the rule words it, followed by the rule that gives it."""
    return "".join(f"{clause(r.text)}（依据{r.citation}）。" for r in rights)


_OFFICIAL_PUNCTUATION = (
    (" (", "（"),
    ("(", "（"),
    (")", "）"),
    (", ", "，"),
    ("; ", "；"),
    (";", "；"),
)


def official(text: str) -> str:
    """Text that duban or the policy words (not a person's record) in full-width punctuation,
    as an official document prints it: ``(异议), `` → ``（异议），``."""
    text = text.strip()
    for ascii_mark, full_width in _OFFICIAL_PUNCTUATION:
        text = text.replace(ascii_mark, full_width)
    return text
