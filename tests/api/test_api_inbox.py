"""The inbox over the API: a person's own notices, unread first, filtered by kind, marked read;
another person's inbox is refused (their message is not found), a token of no account has none."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from activities.deliveries import FanOut
from activities.notifications import NotificationActivities
from api.accounts import create_account
from api.auth import create_token
from tests.api.conftest import ApiHarness
from workflows.contracts import EnqueueNotificationsInput, NotificationToQueue
from workflows.ids import credit_stream_id


def notify_enterprise(api: ApiHarness, kinds: list[str]) -> None:
    credit_code = api.grid.enterprise_a
    NotificationActivities(api.store.engine).enqueue_notifications(
        EnqueueNotificationsInput(
            f"credit-{credit_code}",
            f"credit-{credit_code}",
            [
                NotificationToQueue(
                    step_key=f"credit-{credit_code}:{api.grid.suffix}:{n}:enterprise",
                    recipient_kind="enterprise",
                    recipient_id=credit_code,
                    reason=kind,
                    event_type=kind.removeprefix("credit_"),
                    payload={"credit_code": credit_code, "enterprise_name": "诸城某机械有限公司"},
                )
                for n, kind in enumerate(kinds)
            ],
        )
    )
    fan_out = FanOut(api.store.engine, channels=())
    while fan_out.fan_out_once():  # the shared database holds other tests' notices too
        pass


def person(api: ApiHarness, login: str, role: str, scope: str | None) -> dict[str, str]:
    create_account(
        api.store.engine,
        api.services.reference,
        login=login,
        display_name=login,
        role=role,
        scope=scope,
        password="a long enough password 1",
        actor="test",
    )
    token = create_token(
        api.store.engine, api.services.reference, role, scope, login, account=login
    )[1]
    return {"Authorization": f"Bearer {token}"}


async def test_a_person_reads_their_own_inbox_unread_first_and_marks_a_notice_read(
    api: ApiHarness,
):
    s = api.grid.suffix.lower()
    owner = person(api, f"ent-{s}", "enterprise", api.grid.enterprise_a)
    other = person(api, f"ent2-{s}", "enterprise", api.grid.enterprise_b)
    notify_enterprise(api, ["credit_ProceedingNoticeIssued", "credit_ListingDecided"])
    answer = await api.client.get("/api/v1/inbox", headers=owner)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert set(page) == {"items", "total", "limit", "offset"}
    assert page["total"] == 2
    newest, oldest = page["items"]
    assert newest["kind"] == "credit_ListingDecided" and newest["read_at"] is None
    assert newest["must_acknowledge"] is True
    assert newest["link"].endswith(f"/console/enterprises/{api.grid.enterprise_a}/credit")
    assert newest["subject"].startswith("【督办】")
    # Marked read: it moves behind the unread one; reading again changes nothing.
    read = await api.client.post(f"/api/v1/inbox/{newest['id']}/read", headers=owner)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = await api.client.post(f"/api/v1/inbox/{newest['id']}/read", headers=owner)
    assert again.json()["read_at"] == read.json()["read_at"]
    page = (await api.client.get("/api/v1/inbox", headers=owner)).json()
    assert [m["id"] for m in page["items"]] == [oldest["id"], newest["id"]]
    unread = (await api.client.get("/api/v1/inbox?unread=true", headers=owner)).json()
    assert unread["total"] == 1
    only = await api.client.get("/api/v1/inbox?kind=credit_ListingDecided", headers=owner)
    assert [m["id"] for m in only.json()["items"]] == [newest["id"]]
    # Another person neither sees nor marks it.
    assert (await api.client.get("/api/v1/inbox", headers=other)).json()["total"] == 0
    refused = await api.client.post(f"/api/v1/inbox/{oldest['id']}/read", headers=other)
    assert refused.status_code == 404
    assert refused.json()["error"]["rule"] == "not_found"
    # A token of no account has no inbox; its actor named like the owner changes nothing.
    impostor = create_token(api.store.engine, api.services.reference, "admin", None, f"ent-{s}")[1]
    headers = {"Authorization": f"Bearer {impostor}"}
    assert (await api.client.get("/api/v1/inbox", headers=headers)).json()["total"] == 0
    with api.store.engine.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT read_at FROM inbox_messages WHERE id = :i"), {"i": oldest["id"]}
            ).scalar()
            is None
        )


async def test_a_bad_kind_filter_is_refused_naming_the_field(api: ApiHarness):
    answer = await api.client.get(
        "/api/v1/inbox?kind=no%20spaces", headers=api.grid.headers("admin")
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "kind"


async def test_a_served_notice_of_a_case_that_takes_no_acknowledgement_is_still_read(
    api: ApiHarness,
):
    """The case is no longer running (closed long ago, say): reading its notice records no
    acknowledgement, and the notice is read all the same."""
    s = api.grid.suffix.lower()
    owner = person(api, f"ent3-{s}", "enterprise", api.grid.enterprise_a)
    credit_code = api.grid.enterprise_a
    hazard_id = f"H-GONE-{s}"
    NotificationActivities(api.store.engine).enqueue_notifications(
        EnqueueNotificationsInput(
            hazard_id,
            f"case-{hazard_id}",
            [
                NotificationToQueue(
                    step_key=f"{hazard_id}:2:RectificationNoticeIssued:enterprise:{credit_code}",
                    recipient_kind="enterprise",
                    recipient_id=credit_code,
                    reason="rectification_notice",
                    event_type="RectificationNoticeIssued",
                )
            ],
        )
    )
    fan_out = FanOut(api.store.engine, channels=())
    while fan_out.fan_out_once():
        pass
    page = (await api.client.get("/api/v1/inbox?unread=true", headers=owner)).json()
    (notice,) = [m for m in page["items"] if m["case_id"] == hazard_id]
    assert notice["must_acknowledge"]
    read = await api.client.post(f"/api/v1/inbox/{notice['id']}/read", headers=owner)
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None


async def test_an_enterprise_reading_its_credit_notice_acknowledges_it_on_the_credit_record(
    api: ApiHarness,
):
    """告知书 read in the inbox: the credit record records CreditServiceAcknowledged."""
    s = api.grid.suffix.lower()
    code = api.grid.enterprise_a
    owner = person(api, f"ent4-{s}", "enterprise", code)
    opened = await api.client.post(
        f"/api/v1/enterprises/{code}/credit/proceedings",
        json={"ground": "major_accident", "basis": "应急管理部令第11号 第五条"},
        headers=api.grid.headers("supervisor_county"),
    )
    assert opened.status_code == 200, opened.text
    notice = None
    for _ in range(100):  # the workflow queues the notice right after recording it
        fan_out = FanOut(api.store.engine, channels=())
        while fan_out.fan_out_once():
            pass
        page = (await api.client.get("/api/v1/inbox", headers=owner)).json()
        found = [m for m in page["items"] if m["kind"] == "credit_ProceedingNoticeIssued"]
        if found:
            notice = found[0]
            break
        await asyncio.sleep(0.05)
    assert notice is not None and notice["must_acknowledge"]
    read = await api.client.post(f"/api/v1/inbox/{notice['id']}/read", headers=owner)
    assert read.status_code == 200, read.text
    stored = api.store.read_stream(credit_stream_id(code))
    acknowledged = [e.data for e in stored if e.event_type == "CreditServiceAcknowledged"]
    assert len(acknowledged) == 1
    assert acknowledged[0]["acknowledged_by"] == f"ent4-{s}"
    assert acknowledged[0]["notice_kind"] == "credit_ProceedingNoticeIssued"
