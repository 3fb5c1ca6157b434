"""The access matrix's vocabulary: who asks, what each must be answered, and the walk itself.

Every row names the answer of every caller — no set of acceptable statuses: a status, and for
a success what the body must hold. Refusals are checked down to their rule. With the bodies
and the case the matrix's rows (and other tests) share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import hazard
from workflows.ids import case_stream_id

Check = Callable[[Any], None]
Cell = int | tuple[int, Check]

# In scope of enterprise A (village A, township A, the county): inspector_a, supervisor_a,
# supervisor_county, enterprise_a. Out of scope: inspector_b, supervisor_b (township B),
# enterprise_b. Everywhere: auditor (reads), admin. And no token at all.
WHO = (
    "inspector_a",
    "inspector_b",
    "supervisor_a",
    "supervisor_b",
    "supervisor_county",
    "enterprise_a",
    "enterprise_b",
    "auditor",
    "admin",
    "anonymous",
)
READERS_OF_A = (
    "inspector_a",
    "supervisor_a",
    "supervisor_county",
    "enterprise_a",
    "auditor",
    "admin",
)
OUTSIDE_A = ("inspector_b", "supervisor_b", "enterprise_b")
SUPERVISORS_OF_A = ("supervisor_a", "supervisor_county")
RULE_OF_STATUS = {401: "auth.required", 403: "access.forbidden", 404: "not_found"}


def answers(default: Cell, *, anonymous: Cell = 401, **cells: Cell) -> dict[str, Cell]:
    """Every caller's answer: ``default`` unless named (no token: 401 unless named)."""
    assert set(cells) <= set(WHO), set(cells) - set(WHO)
    table: dict[str, Cell] = dict.fromkeys(WHO, default)
    table["anonymous"] = anonymous
    table.update(cells)
    return table


def each(callers: Iterable[str], cell: Cell) -> dict[str, Cell]:
    return dict.fromkeys(callers, cell)


def rule(expected: str) -> Check:
    def check(body: Any) -> None:
        assert body["error"]["rule"] == expected, body

    return check


def hazard_ids(*expected: str) -> Check:
    def check(page: Any) -> None:
        assert sorted(item["hazard_id"] for item in page["items"]) == sorted(expected), page
        assert page["total"] == len(expected), page

    return check


def credit_codes(*expected: str) -> Check:
    def check(page: Any) -> None:
        assert [item["credit_code"] for item in page["items"]] == sorted(expected), page
        assert page["total"] == len(expected), page

    return check


class Matrix:
    """Walks rows of the matrix over one harness and counts what it asked."""

    def __init__(self, api: ApiHarness) -> None:
        self.api = api
        self.rows: list[str] = []

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "anonymous" else self.api.grid.headers(who)

    async def ask(self, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        return await self.api.client.request(method, path, headers=self.headers(who), **kwargs)

    async def row(
        self,
        method: str,
        path: str | Callable[[str], str],
        table: dict[str, Cell],
        *,
        unchanged: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, httpx.Response]:
        """Ask as every caller, the refused ones first; ``path`` may depend on the caller (each
        allowed caller acting on a case of its own, the refused ones on a shared one).
        ``unchanged``: what the refusals must leave as it was (asked before and after them)."""
        assert set(table) == set(WHO), set(WHO) ^ set(table)
        refused_first = sorted(WHO, key=lambda who: _status(table[who]) < 400)
        before = unchanged() if unchanged is not None else None
        seen: dict[str, httpx.Response] = {}
        for who in refused_first:
            if unchanged is not None and _status(table[who]) < 400 and before is not None:
                assert unchanged() == before, f"a refused {method} changed something"
                before = None
            where = path(who) if callable(path) else path
            answer = await self.ask(method, where, who, **kwargs)
            cell = table[who]
            status, check = (cell, None) if isinstance(cell, int) else cell
            context = (method, where, who, answer.status_code, answer.text[:600])
            assert answer.status_code == status, context
            if status in RULE_OF_STATUS and check is None:  # a check of its own names it
                assert answer.json()["error"]["rule"] == RULE_OF_STATUS[status], context
            if check is not None:
                try:
                    check(answer.json())
                except AssertionError as exc:
                    raise AssertionError(f"{context}: {exc}") from exc
            seen[who] = answer
        if unchanged is not None and before is not None:
            assert unchanged() == before, f"a refused {method} changed something"
        self.rows.append(f"{method} {path if isinstance(path, str) else path('admin')}")
        return seen


def _status(cell: Cell) -> int:
    return cell if isinstance(cell, int) else cell[0]


# ---------------------------------------------------------------------- shared bodies, a case

GOVERNANCE_PLAN = {
    key: f"{key} 的具体内容"
    for key in (
        "goal_and_tasks",
        "methods_and_measures",
        "funds_and_materials",
        "organisation_and_people",
        "time_limit_and_requirements",
        "safety_measures_and_emergency_plan",
    )
}


FIVE_IMPLEMENTATIONS = {
    "responsibility": "厂长负总责, 设备科长具体负责",
    "measures": "更换配电箱, 线路穿管",
    "funds": "专项资金 2 万元",
    "time_limit": "30 日内完成",
    "emergency_plan": "临时断电, 设置警戒区",
}


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def register(api: ApiHarness, who: str = "inspector_a", **overrides: Any) -> str:
    body = hazard(api.grid, deadline=in_days(90), **overrides)
    created = await api.client.post("/api/v1/hazards", json=body, headers=api.grid.headers(who))
    assert created.status_code == 201, created.text
    hazard_id: str = created.json()["hazard_id"]
    return hazard_id


def case_version(api: ApiHarness, hazard_id: str) -> int:
    return len(api.store.read_stream(case_stream_id(hazard_id)))
