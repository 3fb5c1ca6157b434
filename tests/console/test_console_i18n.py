"""Chinese first, English switchable: every word a template or a page group asks for is in the
catalogue in both languages, with the same placeholders, and the Chinese is Chinese."""

from __future__ import annotations

import re
import string
from pathlib import Path

import api.console.install  # noqa: F401  (loads every page group and its words)
from api.auth import ROLES
from api.console.i18n import _CATALOGUE, has_message
from api.console.install import page_routers
from api.console.registry import NAVIGATION

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "console" / "templates"
# Keys a template builds from a value: the prefix and every value it can take.
BUILT = {
    "role.": ROLES,
    "cases.title.": ROLES,
    "status.": ("rectifying", "reported", "escalated", "referred", "closed", "withdrawn"),
    "level.": ("province", "city", "county", "township", "village"),
    "class.": ("general", "major"),
    "error.": ("403", "404", "409", "422", "503"),
    "public.listings.status.": ("listed", "delisted", "superseded"),
    "public.blacklist.status.": ("listed", "expired", "removed_early"),
    "workbench.urgency.": ("overdue", "due_soon", "on_time", "closed"),
    "casework.timer.": ("reminder", "reminder_lapsed", "deadline", "review", "extension_decision"),
    "casework.ladder.": ("current", "done", "ahead"),
    "figures.kind.": ("monthly", "quarterly", "yearly"),
    "casework.action.": (
        "verification",
        "extension-decision",
        "listing",
        "refusal",
        "withdrawal",
    ),
    "plan.": (
        "goal_and_tasks",
        "methods_and_measures",
        "funds_and_materials",
        "organisation_and_people",
        "time_limit_and_requirements",
        "safety_measures_and_emergency_plan",
    ),
    "register.source.": (
        "self_inspection",
        "grid_patrol",
        "enforcement_inspection",
        "unannounced_inspection",
        "public_report",
    ),
}
NOT_CHINESE = {"time.none", "language.en", "app.name"}


def literal_keys() -> set[str]:
    keys = set()
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""\bt\(\s*['"]([a-z_.0-9]+)['"]""", text))
        for built in re.findall(r"""\bt\(\s*['"]([a-z_.0-9]+\.)['"]\s*~""", text):
            assert built in BUILT, f"{template.name}: t('{built}' ~ …) is not in BUILT"
    return {key for key in keys if not key.endswith(".")}


def test_every_word_the_templates_and_page_groups_ask_for_is_in_both_languages():
    page_routers()
    wanted = literal_keys() | {f"{p}{v}" for p, values in BUILT.items() for v in values}
    wanted |= {entry.label for entry in NAVIGATION}
    missing = sorted(key for key in wanted if not has_message(key))
    assert missing == []
    assert set(_CATALOGUE["zh"]) == set(_CATALOGUE["en"])


def test_the_two_languages_say_the_same_things_and_the_chinese_is_chinese():
    for key, zh in _CATALOGUE["zh"].items():
        en = _CATALOGUE["en"][key]
        fields = {f for _, f, _, _ in string.Formatter().parse(zh) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(en) if f}, key
        if key not in NOT_CHINESE:
            assert re.search(r"[\u4e00-\u9fff]", zh), f"{key}: {zh!r} has no Chinese"
