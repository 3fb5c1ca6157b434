"""The access matrix, reading: every reading endpoint × every role × in and out of scope.

Each test runs over a database of its own, so a list or a register can be asserted to the row:
what a township's supervisor sees is its township, the county's sees both, an enterprise sees
itself. Refusals change nothing: the version of the case (or credit record) they aimed at is
the same afterwards. The rows' vocabulary is ``tests/api/matrix.py``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.reports import content_bytes
from domain.credit_code import make_credit_code
from domain.periods import (
    period_before,
)
from tests.api.conftest import ApiHarness
from tests.api.matrix import (
    OUTSIDE_A,
    READERS_OF_A,
    Matrix,
    answers,
    credit_codes,
    each,
    hazard_ids,
    register,
    rule,
)
from workflows.contracts import (
    ReportInput,
)
from workflows.ids import (
    report_key,
)
from workflows.reports import (
    ReportWorkflow,
)


async def test_every_reading_endpoint_answers_each_role_exactly_what_its_scope_holds(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    matrix = Matrix(api)
    found_at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    in_a = await register(api, "inspector_a", found_at=found_at)
    in_b = await register(api, "inspector_b", credit_code=grid.enterprise_b, found_at=found_at)
    # The last whole month: a report covers a period that has ended.
    period = period_before("monthly", datetime.now(UTC), api.services.policy.tz)
    api.project()
    await api.env.client.execute_workflow(
        ReportWorkflow.run,
        ReportInput("monthly", period, grid.township_a),
        id=report_key("monthly", grid.township_a, period),
        task_queue=api.services.task_queue,
    )
    api.project()
    a, b = grid.enterprise_a, grid.enterprise_b
    unknown_code = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())

    def case_of_a(body: Any) -> None:
        assert body["hazard_id"] == in_a and body["status"] == "rectifying", body

    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}",
        answers(403, **each(READERS_OF_A, (200, case_of_a))),
    )

    def history_of_a(body: Any) -> None:
        types = [e["event_type"] for e in body["items"]]
        assert body["items"][0]["data"]["hazard_id"] == in_a, body  # the page of in_a's stream
        assert types[0] == "HazardRegistered" and body["total"] == len(types), body
        assert body["items"][0]["metadata"]["actor_role"] == "inspector"

    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/history",
        answers(403, **each(READERS_OF_A, (200, history_of_a))),
    )

    def state_of_a(body: Any) -> None:
        assert body["state"]["status"] == "rectifying", body

    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/as-of",
        answers(403, **each(READERS_OF_A, (200, state_of_a))),
        params={"at": datetime.now(UTC).isoformat()},
    )
    await matrix.row("GET", "/api/v1/hazards/H-no-such-case", answers(404))
    both = hazard_ids(in_a, in_b)
    await matrix.row(
        "GET",
        "/api/v1/hazards",
        answers(
            (200, both),
            **each(("inspector_a", "supervisor_a", "enterprise_a"), (200, hazard_ids(in_a))),
            **each(OUTSIDE_A, (200, hazard_ids(in_b))),
        ),
    )
    await matrix.row(
        "GET",
        "/api/v1/hazards",
        answers(
            (200, hazard_ids(in_a)),
            inspector_b=403,
            supervisor_b=403,
            enterprise_b=(200, hazard_ids()),
        ),
        params={"grid_unit": grid.township_a},
    )
    await matrix.row(
        "GET",
        "/api/v1/hazards",
        answers(
            (200, hazard_ids(in_a)),
            inspector_b=(200, hazard_ids()),
            supervisor_b=(200, hazard_ids()),
            enterprise_b=403,
        ),
        params={"enterprise": a},
    )

    def enterprise_a(body: Any) -> None:
        assert body == {
            "credit_code": a,
            "name": "诸城某机械有限公司",
            "industry": "机械",
            "grid_code": grid.village_a,
        }

    await matrix.row(
        "GET",
        f"/api/v1/enterprises/{a}",
        answers(403, **each(READERS_OF_A, (200, enterprise_a))),
    )
    await matrix.row("GET", f"/api/v1/enterprises/{unknown_code}", answers(404))

    def credit_of_a(body: Any) -> None:
        assert body["credit_code"] == a and body["grid_code"] == grid.village_a, body
        assert (body["cases_registered"], body["open_cases"], body["overdue_cases"]) == (1, 1, 0)
        assert body["blacklisted"] is False and body["entries"] == [], body

    await matrix.row(
        "GET",
        f"/api/v1/enterprises/{a}/credit",
        answers(403, **each(READERS_OF_A, (200, credit_of_a))),
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, credit_codes(a, b)),
            **each(("inspector_a", "supervisor_a", "enterprise_a"), (200, credit_codes(a))),
            **each(OUTSIDE_A, (200, credit_codes(b))),
        ),
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, credit_codes(a)),
            inspector_b=403,
            supervisor_b=403,
            enterprise_b=(200, credit_codes()),
        ),
        params={"grid_unit": grid.township_a},
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers((200, credit_codes(a, b)), **each(("inspector_a", "supervisor_a"), 403))
        | {
            "inspector_b": 403,
            "supervisor_b": 403,
            "enterprise_a": (200, credit_codes(a)),
            "enterprise_b": (200, credit_codes(b)),
        },
        params={"grid_unit": grid.county},
    )

    # The enterprise list is the read model's: each line with its cases and its credit.
    line_of_a = {
        "credit_code": a,
        "name": "诸城某机械有限公司",
        "industry": "机械",
        "grid_code": grid.village_a,
        "grid_path": [grid.village_a, grid.township_a, grid.county, grid.city, grid.province],
        "cases_registered": 1,
        "open_cases": 1,
        "overdue_cases": 0,
        "credit_state": "no_record",
        # Every enterprise has a grade: with no credit record, the default policy's grade for
        # nothing recorded (100 base points: A). It read None before.
        "rating": "A",
        "rating_points": 100,
        "blacklisted": False,
        "blacklisted_until": None,
        "open_proceeding_no": None,
    }

    def only_line_of_a(body: Any) -> None:
        assert body["items"] == [line_of_a], body

    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            403,
            **each(READERS_OF_A, (200, only_line_of_a)),
            enterprise_b=(200, credit_codes()),
        ),
        params={"grid_unit": grid.village_a},
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, credit_codes()),
            **each(("inspector_b", "supervisor_b"), 403),
            **each(("inspector_a", "supervisor_a"), 403),
        ),
        params={"grid_unit": grid.county, "rating": "D"},
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, credit_codes(a, b)),
            **each(("inspector_a", "supervisor_a", "enterprise_a"), (200, credit_codes(a))),
            **each(OUTSIDE_A, (200, credit_codes(b))),
        ),
        params={"blacklisted": "false"},
    )
    await matrix.row("GET", "/api/v1/enterprises", answers(404), params={"grid_unit": "NO-SUCH"})
    paged = await api.client.get(
        "/api/v1/enterprises", params={"limit": 1, "offset": 1}, headers=grid.headers("auditor")
    )
    assert [e["credit_code"] for e in paged.json()["items"]] == [max(a, b)], paged.json()
    assert paged.json()["total"] == 2

    def all_units(body: Any) -> None:
        assert sorted(u["code"] for u in body["items"]) == grid.unit_codes, body

    await matrix.row("GET", "/api/v1/grid-units", answers((200, all_units)))

    def villages_of_a(body: Any) -> None:
        assert [u["code"] for u in body["items"]] == [grid.village_a], body

    await matrix.row(
        "GET",
        "/api/v1/grid-units",
        answers((200, villages_of_a)),
        params={"parent": grid.township_a},
    )

    def township_a(body: Any) -> None:
        assert body["code"] == grid.township_a and body["level"] == "township", body
        path = [u["code"] for u in body["path"]]
        assert path == [grid.township_a, grid.county, grid.city, grid.province], body

    await matrix.row("GET", f"/api/v1/grid-units/{grid.township_a}", answers((200, township_a)))
    await matrix.row("GET", "/api/v1/grid-units/NO-SUCH-UNIT", answers(404))

    def monthly_of_a(body: Any) -> None:
        assert (body["kind"], body["unit_code"], body["period"]) == (
            "monthly",
            grid.township_a,
            period,
        )
        assert body["content"]["unit"]["code"] == grid.township_a
        assert body["content"]["found"] == 0, body["content"]  # the cases are this month's
        assert body["content_sha256"] == hashlib.sha256(content_bytes(body["content"])).hexdigest()

    report_readers = ("inspector_a", "supervisor_a", "supervisor_county", "auditor", "admin")
    await matrix.row(
        "GET",
        f"/api/v1/reports/monthly/{grid.township_a}/{period}",
        answers(403, **each(report_readers, (200, monthly_of_a))),
    )
    await matrix.row(
        "GET",
        f"/api/v1/reports/monthly/{grid.township_a}/2001-01",
        answers(403, **each(report_readers, 404)),
    )

    # The statistics page computes what the stored report holds, for the same readers.
    stored = api.store.read_stream(report_key("monthly", grid.township_a, period))[0].data

    def statistics_of_a(body: Any) -> None:
        assert (body["kind"], body["unit_code"], body["period"]) == (
            "monthly",
            grid.township_a,
            period,
        )
        assert body["period_ended"] is True and body["content"] == stored["content"], body

    await matrix.row(
        "GET",
        f"/api/v1/statistics/monthly/{grid.township_a}/{period}",
        answers(403, **each(report_readers, (200, statistics_of_a))),
    )

    def found_this_month(body: Any) -> None:
        assert body["period_ended"] is False and body["content"]["found"] == 2, body

    this_month = datetime.now(api.services.policy.tz).strftime("%Y-%m")
    await matrix.row(
        "GET",
        f"/api/v1/statistics/monthly/{grid.county}/{this_month}",
        answers(403, **each(("supervisor_county", "auditor", "admin"), (200, found_this_month))),
    )
    await matrix.row(
        "GET",
        f"/api/v1/statistics/yearly/{grid.township_a}/2026-13",
        answers((422, rule("report.period.invalid"))),
    )
    await matrix.row(
        "GET",
        "/api/v1/statistics/yearly/NO-SUCH-UNIT/2026",
        answers(403, **each(("auditor", "admin"), 404)),
    )

    def empty_register(body: Any) -> None:
        assert body == {"total": 0, "limit": 50, "offset": 0, "items": []}, body

    await matrix.row(
        "GET", "/api/v1/blacklist", answers((200, empty_register), anonymous=(200, empty_register))
    )
    await matrix.row(
        "GET",
        "/api/v1/public/listings",
        answers((200, empty_register), anonymous=(200, empty_register)),
    )
    assert len(matrix.rows) == 29
