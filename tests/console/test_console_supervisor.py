"""The supervisor's pages over HTTP (ASGI, the real app, PostgreSQL and a Temporal worker): the
工作台's urgency counts, filters and paging; the case page's timeline, offers and forms, whose
actions go through the API's route (scope, Idempotency-Key, workflow) and whose refusals show
in the form naming the field; the live fragment."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.api.matrix import in_days
from tests.api.test_api_hazards import PHOTO, hazard
from tests.console.conftest import ConsoleHarness, form_token


async def register(console: ConsoleHarness, days: int, **overrides: object) -> str:
    api = console.api
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(api.grid, deadline=in_days(days), **overrides),
        headers=api.grid.headers("inspector_a"),
    )
    assert created.status_code == 201, created.text
    hazard_id: str = created.json()["hazard_id"]
    return hazard_id


async def report(console: ConsoleHarness, hazard_id: str) -> None:
    api = console.api
    reported = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "已更换配电箱", "evidence": [PHOTO]},
        headers=api.grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text


def count(html: str, kind: str) -> int:
    found = re.search(rf'id="count-{kind}">(\d+)<', html)
    assert found, html[:3000]
    return int(found.group(1))


def events(console: ConsoleHarness, hazard_id: str) -> list[str]:
    from workflows.ids import case_stream_id

    return [e.event_type for e in console.api.store.read_stream(case_stream_id(hazard_id))]


async def test_the_workbench_colours_the_scopes_cases_by_urgency_with_counts_per_unit(
    console: ConsoleHarness,
):
    soon = await register(console, 2)  # within the default policy's first reminder (P3D)
    later = await register(console, 90)
    closed = await register(console, 30)
    await report(console, closed)
    county = await console.sign_in("supervisor_county")
    page = await county.get(f"/console/cases/{closed}")
    verified = await county.post(
        f"/console/cases/{closed}/actions/verification",
        data={
            "csrf_token": form_token(page.text),
            "idempotency_key": "k-close",
            "passed": "true",
        },
    )
    assert verified.status_code == 303, verified.text[:2000]
    console.api.project()

    answer = await county.get("/console/workbench")
    assert answer.status_code == 200, answer.text[:2000]
    html = answer.text
    assert (count(html, "overdue"), count(html, "due_soon")) == (0, 1)
    assert (count(html, "on_time"), count(html, "closed")) == (1, 1)
    grid = console.api.grid
    assert grid.township_a in html  # the unit below the county, with its counts
    # Most urgent first: the case due soon, then the one on time, then the closed one.
    order = [html.index(hazard_id) for hazard_id in (soon, later, closed)]
    assert order == sorted(order)

    only = (await county.get("/console/workbench?urgency=due_soon")).text
    assert soon in only and later not in only and closed not in only
    listed = (await county.get("/console/workbench?level=county")).text  # none is listed
    assert sum(count(listed, k) for k in ("overdue", "due_soon", "on_time", "closed")) == 0
    paged = (await county.get("/console/workbench?limit=1&offset=1")).text
    assert later in paged and soon not in paged

    # Five days on, the case due soon is overdue (逾期), the other still on time.
    moved = console.api.services.clock() + timedelta(days=5)
    console.api.services.clock = lambda: moved
    html = (await county.get("/console/workbench")).text
    assert (count(html, "overdue"), count(html, "due_soon"), count(html, "on_time")) == (1, 0, 1)


async def test_the_workbench_shows_only_the_scope_and_refuses_a_unit_outside_it(
    console: ConsoleHarness,
):
    await register(console, 2)
    console.api.project()
    other = await console.sign_in("supervisor_b")
    html = (await other.get("/console/workbench")).text
    assert sum(count(html, kind) for kind in ("overdue", "due_soon", "on_time", "closed")) == 0
    outside = await other.get(f"/console/workbench?grid_unit={console.api.grid.township_a}")
    assert outside.status_code == 403 and "access.forbidden" in outside.text
    inspector = await console.sign_in("inspector_a")
    assert (await inspector.get("/console/workbench")).status_code == 403


async def test_the_supervisor_verifies_a_case_from_its_page_once_per_form(
    console: ConsoleHarness,
):
    hazard_id = await register(console, 30)
    county = await console.sign_in("supervisor_county")
    page = (await county.get(f"/console/cases/{hazard_id}")).text
    assert "登记隐患" in page and "下达隐患整改通知书" in page
    assert 'action="/console/cases/' + hazard_id + '/actions/refusal"' in page
    assert "/actions/verification" not in page  # nothing reported yet: nothing to verify

    await report(console, hazard_id)
    page = (await county.get(f"/console/cases/{hazard_id}")).text
    assert "/actions/verification" in page and "申请验收" in page
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', page)
    assert len(keys) > 1 and len(set(keys)) == len(keys)  # a key of its own for each form
    form = {
        "csrf_token": form_token(page),
        "idempotency_key": keys[0],  # the first form: 验收
        "passed": "true",
        "comments": "现场复查合格",
    }
    verified = await county.post(f"/console/cases/{hazard_id}/actions/verification", data=form)
    assert verified.status_code == 303
    recorded = events(console, hazard_id)
    assert recorded[-2:] == ["VerificationPassed", "CaseClosed"]
    # The same form sent again (a double click, a retry) is the same request: applied once.
    again = await county.post(f"/console/cases/{hazard_id}/actions/verification", data=form)
    assert again.status_code == 303
    assert events(console, hazard_id) == recorded
    page = (await county.get(f"/console/cases/{hazard_id}")).text
    assert "验收合格" in page and "销号" in page and "已销号" in page
    assert "/actions/" not in page  # a closed case offers nothing


async def test_a_refused_action_shows_in_its_form_in_the_apis_words_naming_the_field(
    console: ConsoleHarness,
):
    hazard_id = await register(console, 30)
    await report(console, hazard_id)
    county = await console.sign_in("supervisor_county")
    page = (await county.get(f"/console/cases/{hazard_id}")).text
    token = form_token(page)
    before = events(console, hazard_id)

    empty = await county.post(
        f"/console/cases/{hazard_id}/actions/refusal",
        data={"csrf_token": token, "idempotency_key": "k-refusal", "details": ""},
    )
    assert empty.status_code == 422
    assert 'id="f-details-error"' in empty.text and "request.invalid" in empty.text
    assert 'href="#f-details"' in empty.text  # the summary links to the field

    past = await county.post(
        f"/console/cases/{hazard_id}/actions/verification",
        data={
            "csrf_token": token,
            "idempotency_key": "k-fail",
            "passed": "false",
            "new_deadline": "2020-01-01T09:00",
        },
    )
    assert past.status_code == 422
    assert "case.deadline.in_past" in past.text and 'id="f-new_deadline-error"' in past.text
    assert 'value="2020-01-01T09:00"' in past.text  # what was typed stays
    assert events(console, hazard_id) == before

    outside = await console.sign_in("supervisor_b")
    refused = await outside.post(
        f"/console/cases/{hazard_id}/actions/refusal",
        data={"csrf_token": token, "details": "拒不整改"},
    )
    assert refused.status_code == 403  # another session's token, and outside its scope
    assert events(console, hazard_id) == before


async def test_the_live_fragment_answers_204_until_the_case_has_a_new_event(
    console: ConsoleHarness,
):
    hazard_id = await register(console, 30)
    county = await console.sign_in("supervisor_county")
    version = len(events(console, hazard_id))
    unchanged = await county.get(f"/console/cases/{hazard_id}/live?version={version}")
    assert unchanged.status_code == 204
    await report(console, hazard_id)
    changed = await county.get(f"/console/cases/{hazard_id}/live?version={version}")
    assert changed.status_code == 200
    assert 'id="case-live"' in changed.text and "申请验收" in changed.text
    assert f"live?version={version + 1}" in changed.text
    assert "<html" not in changed.text  # a fragment, swapped into the page
