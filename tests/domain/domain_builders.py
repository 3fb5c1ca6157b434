"""Builders for the domain tests: a grid path, an enterprise, actors, commands, a clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar
from domain.case import CaseState, decide, fold
from domain.case_commands import Actor, CaseCommand, RegisterHazard, Role
from domain.case_events import (
    CaseEvent,
    Evidence,
    GovernancePlan,
    HazardCategory,
    HazardClass,
    HazardSource,
    RectificationMode,
)
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.policy import Policy, load_default_policy, load_drill_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 3 March 2025, 09:00 in Shanghai: an ordinary working week.
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)
DEFAULT = load_default_policy()
DRILL = load_drill_policy()
CALENDAR = WorkingCalendar()

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

INSPECTOR = Actor("insp-1", Role.INSPECTOR)
SUPERVISOR = Actor("sup-1", Role.SUPERVISOR)
COUNTY_SUPERVISOR = Actor("sup-county", Role.SUPERVISOR, unit_code=COUNTY.code)
TOWNSHIP_SUPERVISOR = Actor("sup-town", Role.SUPERVISOR, unit_code=TOWNSHIP.code)
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
