"""Builders for the domain tests: a grid path, an enterprise, actors, commands, a clock."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar
from domain.case import CaseState, decide, fold
from domain.case.commands import Actor, CaseCommand, RegisterHazard, Role
from domain.case.events import (
    CaseEvent,
    Evidence,
    GovernancePlan,
    HazardCategory,
    HazardClass,
    HazardSource,
    ListingMeasures,
    RectificationMode,
)
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.policy import Policy, parse_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 3 March 2025, 09:00 in Shanghai: an ordinary working week.
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)
POLICIES = Path(__file__).resolve().parents[2] / "domain" / "policies"
DEFAULT_TEXT = (POLICIES / "default.toml").read_text(encoding="utf-8")
DEFAULT = parse_policy(DEFAULT_TEXT)
DRILL = parse_policy((POLICIES / "drill.toml").read_text(encoding="utf-8"))
CALENDAR = WorkingCalendar()
# Examples a property test tries: fewer, and the same each run, under make mutation (which
# runs the covering tests once per mutant; tests/mutation/README.md).
PROPERTY_EXAMPLES = int(os.environ.get("DUBAN_PROPERTY_EXAMPLES", "150"))
PROPERTY_DERANDOMIZE = "DUBAN_PROPERTY_EXAMPLES" in os.environ


def edition_1(policy: Policy) -> Policy:
    """``policy`` as a policy written before edition 2: the keys edition 2 added removed, the
    way the policies captured in running cases' histories look."""
    data = policy.to_data()
    for key in ("edition", "notice"):
        data.pop(key, None)
    data["extension"].pop("unlisted", None)
    data["credit"].pop("notice", None)
    data["credit"].pop("decided_by_level", None)
    for grade in data["credit"]["rating"]["grades"]:
        grade.pop("inspections_per_year", None)
    return Policy.from_data(data)


LEGACY = edition_1(DEFAULT)


def edition_2(policy: Policy) -> Policy:
    """``policy`` as written for edition 2, the edition of the cases registered before
    edition 3 shipped (its keys are edition 3's: only the rules differ)."""
    return Policy.from_data({**policy.to_data(), "edition": 2})


EDITION_2 = edition_2(DEFAULT)


def edition_3(policy: Policy) -> Policy:
    """``policy`` as written for edition 3, the edition of the cases registered before
    edition 4 shipped (the same keys: only the rules differ)."""
    return Policy.from_data({**policy.to_data(), "edition": 3})


EDITION_3 = edition_3(DEFAULT)
# Edition 4: the cases registered before self-inspection (edition 5) shipped.
EDITION_4 = Policy.from_data({**DEFAULT.to_data(), "edition": 4})

PROVINCE = GridUnit("P37", "山东省", GridLevel.PROVINCE, None, "省厅 王厅长")
CITY = GridUnit("P37-C07", "潍坊市", GridLevel.CITY, "P37", "市局 李局长")
COUNTY = GridUnit("P37-C07-X82", "诸城市", GridLevel.COUNTY, "P37-C07", "县局 赵局长")
TOWNSHIP = GridUnit("P37-C07-X82-T03", "密州街道", GridLevel.TOWNSHIP, "P37-C07-X82", "站长 孙")
VILLAGE = GridUnit(
    "P37-C07-X82-T03-V11", "东关社区", GridLevel.VILLAGE, "P37-C07-X82-T03", "网格员 周"
)
PATH = (VILLAGE, TOWNSHIP, COUNTY, CITY, PROVINCE)

ENTERPRISE = Enterprise(
    credit_code=make_credit_code("91370782MA3C12345"),
    name="诸城某机械有限公司",
    industry="机械",
    grid_code=VILLAGE.code,
)

OTHER_TOWNSHIP = GridUnit("P37-C07-X82-T04", "龙都街道", GridLevel.TOWNSHIP, COUNTY.code, "站长 钱")

INSPECTOR = Actor("insp-1", Role.INSPECTOR)


def supervisor_of(actor_id: str, unit: GridUnit) -> Actor:
    """A supervisor acting for ``unit``, naming its level as the API's grid tells it."""
    return Actor(actor_id, Role.SUPERVISOR, unit_code=unit.code, unit_level=unit.level)


# The county bureau's supervisor: on every case's path, above the village and the township.
SUPERVISOR = supervisor_of("sup-1", COUNTY)
COUNTY_SUPERVISOR = supervisor_of("sup-county", COUNTY)
TOWNSHIP_SUPERVISOR = supervisor_of("sup-town", TOWNSHIP)
VILLAGE_SUPERVISOR = supervisor_of("sup-village", VILLAGE)
CITY_SUPERVISOR = supervisor_of("sup-city", CITY)
PROVINCE_SUPERVISOR = supervisor_of("sup-province", PROVINCE)
OUTSIDE_SUPERVISOR = supervisor_of("sup-other", OTHER_TOWNSHIP)
UNITLESS_SUPERVISOR = Actor("sup-nounit", Role.SUPERVISOR)
ENTERPRISE_ACTOR = Actor("ent-1", Role.ENTERPRISE)
AUDITOR = Actor("aud-1", Role.AUDITOR)
SYSTEM = Actor("system", Role.SYSTEM)

PHOTO = Evidence("s3://evidence/photo-1.jpg", "a" * 64)
PLAN = GovernancePlan(
    goal_and_tasks="消除粉尘爆炸风险",
    methods_and_measures="更换除尘系统",
    funds_and_materials="资金20万元",
    organisation_and_people="设备部 张三",
    time_limit_and_requirements="三个月内完成",
    safety_measures_and_emergency_plan="停用打磨工位, 应急预案已演练",
)
FIVE = ListingMeasures(
    responsibility="企业主要负责人 王某",
    measures="更换除尘系统, 加装锁气卸灰装置",
    funds="企业自筹 20 万元",
    time_limit="挂牌期限内完成",
    emergency_plan="粉尘爆炸专项应急预案, 每季度演练",
)


def register(**overrides: Any) -> RegisterHazard:
    cmd = RegisterHazard(
        actor=INSPECTOR,
        hazard_id="H-0001",
        enterprise=ENTERPRISE,
        grid_path=PATH,
        hazard_class=HazardClass.GENERAL,
        category=HazardCategory.THING,
        source=HazardSource.GRID_PATROL,
        description="配电箱门未关闭, 线路裸露",
        location="一号车间",
        found_by="insp-1",
        found_at=NOW - timedelta(hours=1),
        mode=RectificationMode.DEADLINE,
        evidence=(PHOTO,),
        measures="更换配电箱, 整理线路",
        responsible_person="车间主任 刘",
    )
    return replace(cmd, **overrides)


def register_major(**overrides: Any) -> RegisterHazard:
    values: dict[str, Any] = {
        "hazard_class": HazardClass.MAJOR,
        "checklist_clause": "工贸企业重大事故隐患判定标准 第十四条(一)",
        "mode": RectificationMode.LISTED,
        "description": "粉尘爆炸危险场所除尘系统未按规定设置锁气卸灰装置",
    }
    return register(**(values | overrides))


def run(
    commands: Sequence[tuple[CaseCommand, datetime]],
    policy: Policy = DEFAULT,
    calendar: WorkingCalendar = CALENDAR,
) -> tuple[CaseState | None, list[CaseEvent]]:
    """Decide and evolve each (command, now) in turn; return the state and all events."""
    state: CaseState | None = None
    history: list[CaseEvent] = []
    for command, now in commands:
        events = decide(state, command, now, policy, calendar)
        history += events
        state = fold(events, state)
    return state, history


def types(events: Sequence[CaseEvent]) -> list[str]:
    return [e.EVENT_TYPE for e in events]
