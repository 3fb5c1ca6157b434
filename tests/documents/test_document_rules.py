"""The document rules file: the shipped one parses; a broken one is refused naming the key and
the rule. And the words documents use for dates, deadlines and periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from activities.documents import load_document_rules
from domain.calendar import WorkingCalendar
from domain.documents import DocumentKind, parse_document_rules
from domain.documents.wording import (
    deadline_words,
    duration_words,
    official,
    ordinal,
    until_words,
    working_days_counted,
)
from domain.durations import PolicyDuration
from domain.errors import DomainError

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHIPPED = resources.files("domain.documents").joinpath("default.toml").read_text("utf-8")


def test_the_shipped_rules_name_every_kind_s_basis() -> None:
    rules = load_document_rules()
    for kind in DocumentKind:
        assert rules.basis(kind), kind
    assert rules.right("review").citation == "《中华人民共和国行政复议法》第二十条"


def test_an_administrator_s_rules_file_is_read_from_its_path(tmp_path: Path) -> None:
    path = tmp_path / "documents.toml"
    path.write_text(SHIPPED.replace('name = "default"', 'name = "县局"'), encoding="utf-8")
    assert load_document_rules(path).name == "县局"


@pytest.mark.parametrize(
    ("old", "new", "rule", "field"),
    [
        (
            'full_name = "{name}应急管理局"',
            'full_name = "{unit}应急管理局"',
            "documents.placeholder",
            "authority[1].full_name",
        ),
        (
            "[kinds.enforcement_referral]\nbasis",
            "[kinds.other_kind]\nbasis",
            "documents.kind_unknown",
            "kinds.other_kind",
        ),
        (
            'rights = ["review", "litigation"]               # stated when the extension',
            'rights = ["appeal"]  # ',
            "documents.right_unknown",
            "kinds.extension_decision.rights[0]",
        ),
        (
            "[rights.statement]\ncitation",
            "[rights.statement_old]\ncitation",
            "documents.right_missing",
            "rights.statement",
        ),
        (
            'issuing_levels = ["township", "county", "city", "province"]',
            'issuing_levels = ["village", "township", "county", "city", "province"]',
            "documents.authority_rule_missing",
            "authority",
        ),
        (
            'name = "default"',
            'name = "default"\ncolour = "red"',
            "documents.data.unknown_key",
            "colour",
        ),
        ('name = "default"', 'name = "default', "documents.toml_syntax", ""),
    ],
)
def test_a_broken_rules_file_is_refused_naming_the_key(
    old: str, new: str, rule: str, field: str
) -> None:
    assert old in SHIPPED
    with pytest.raises(DomainError) as refused:
        parse_document_rules(SHIPPED.replace(old, new, 1))
    assert refused.value.rule == rule
    assert refused.value.field == field


def test_a_missing_kind_is_refused_rather_than_citing_nothing() -> None:
    start = SHIPPED.index("[kinds.delisting_notice]")
    end = SHIPPED.index("[kinds.enforcement_referral]")
    with pytest.raises(DomainError) as refused:
        parse_document_rules(SHIPPED[:start] + SHIPPED[end:])
    assert refused.value.rule == "documents.kind_missing"
    assert refused.value.field == "kinds.delisting_notice"


def test_deadlines_read_24_hours_on_their_last_day_in_the_policy_s_time_zone() -> None:
    midnight = datetime(2027, 1, 1, 0, 0, tzinfo=SHANGHAI)  # 24:00 on 31 December 2026
    assert deadline_words(midnight, SHANGHAI) == "2026年12月31日（星期四）24时前"
    assert until_words(midnight, SHANGHAI) == "2026年12月31日（星期四）24时"
    # The same instant stored in UTC reads the same.
    assert deadline_words(midnight.astimezone(UTC), SHANGHAI) == "2026年12月31日（星期四）24时前"
    assert deadline_words(datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI), SHANGHAI) == (
        "2026年12月7日（星期一）9时前"
    )


def test_periods_and_working_days_are_counted_as_the_rule_counts_them() -> None:
    assert duration_words(PolicyDuration.parse("P10WD")) == "10个工作日"
    assert duration_words(PolicyDuration.parse("P15D")) == "15日"
    assert duration_words(PolicyDuration.parse("P1Y")) == "1年"
    assert duration_words(PolicyDuration.parse("P3M")) == "3个月"
    assert duration_words(PolicyDuration.parse("PT30S")) == "30秒"
    # From Monday 28 April 2025 (not counted) to 24:00 on Friday 9 May: 29 and 30 April, then
    # the May Day holiday (1–5 May), then 6–9 May: 6 working days.
    start = datetime(2025, 4, 28, 9, 0, tzinfo=SHANGHAI)
    end = datetime(2025, 5, 10, 0, 0, tzinfo=SHANGHAI)
    assert working_days_counted(start, end, WorkingCalendar(), SHANGHAI) == 6


def test_numbers_and_punctuation_are_set_as_an_official_document_sets_them() -> None:
    assert [ordinal(n) for n in (1, 4, 10, 12, 20, 21)] == [
        "一",
        "四",
        "十",
        "十二",
        "二十",
        "二十一",
    ]
    assert official("提出陈述、申辩 (异议), 书面提交; 逾期视为放弃") == (
        "提出陈述、申辩（异议），书面提交；逾期视为放弃"
    )
    assert date(2026, 12, 7).isoformat() == "2026-12-07"
