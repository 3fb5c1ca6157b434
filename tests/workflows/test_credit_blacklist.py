"""The serious-dishonesty list (严重失信主体名单) on an enterprise's credit workflow: trigger →
proceeding → notice → objection window → decision → publication → early removal → revocation
→ automatic removal, each step recorded before the state moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.credit.commands import (
    ApplyEarlyRemoval,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
    RevokeEarlyRemoval,
)
from tests.domain.domain_builders import TOWNSHIP, supervisor_of
from tests.workflows.conftest import RunningWorker
from tests.workflows.credit_helpers import (
    ENTERPRISE,
    SUPERVISOR,
    as_input,
    assert_store_matches_workflow,
    case_signal,
    new_credit_code,
    outbox,
    start_credit,
    stored,
    wait_for,
)
from workflows.contracts import CreditCommandInput, CreditView
from workflows.credit import EnterpriseCreditWorkflow


async def refused(
    handle: WorkflowHandle[Any, Any], update: Any, request: CreditCommandInput
) -> str:
    """Run an update that must be refused; return the domain rule it was refused by."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, request)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return str(cause.type)


async def test_a_trigger_opens_a_proceeding_and_a_listing_runs_its_whole_course(
    case_worker: RunningWorker,
):
    code = new_credit_code()
    handle = await start_credit(case_worker, code)
    env = case_worker.env
    now = await env.get_current_time()
    await handle.signal(
        EnterpriseCreditWorkflow.record_credit_event,
        case_signal(code, "major_overdue_at_top", now),
    )
    view = await wait_for(handle, lambda v: v.proceeding is not None, what="(proceeding)")
    assert stored(case_worker.store, code)[2:5] == [
        "CreditEventRecorded",
        "ProceedingOpened",
        "ProceedingNoticeIssued",
    ]
    # 告知: the enterprise is told, through the outbox, with the objection deadline.
    assert ("enterprise", code, "ProceedingNoticeIssued") in outbox(case_worker.store, code)
    assert [t["kind"] for t in view.pending_timers] == ["objection_window"]
    objection_until = datetime.fromisoformat(view.pending_timers[0]["due_at"])

    # The enterprise objects within the window; a decision must wait until the window closes.
    await handle.execute_update(
        EnterpriseCreditWorkflow.file_objection,
        as_input(FileObjection(actor=ENTERPRISE, statement="逾期系设备采购延误, 已提交证明")),
    )
    before = (await handle.query(EnterpriseCreditWorkflow.credit)).version
    rule = await refused(
        handle,
        EnterpriseCreditWorkflow.decide_listing,
        as_input(DecideListing(actor=SUPERVISOR, list_enterprise=True, basis="应急管理部令第11号")),
    )
    assert rule == "credit.decide.objection_window_open"
    assert (await handle.query(EnterpriseCreditWorkflow.credit)).version == before

    # The window is a durable timer: it closes by itself.
    await env.sleep(objection_until - await env.get_current_time() + timedelta(hours=1))
    view = await wait_for(handle, lambda v: v.proceeding and v.proceeding["window_closed"])
    assert view.proceeding is not None and view.proceeding["objections"] == 1
    assert rule == "credit.decide.objection_window_open"
    assert (
        await refused(
            handle,
            EnterpriseCreditWorkflow.decide_listing,
            as_input(DecideListing(actor=ENTERPRISE, list_enterprise=True, basis="自己列入")),
        )
        == "credit.decide.supervisor_only"
    )

    view = await handle.execute_update(
        EnterpriseCreditWorkflow.decide_listing,
        as_input(DecideListing(actor=SUPERVISOR, list_enterprise=True, basis="应急管理部令第11号")),
    )
    assert view.is_blacklisted and view.rating == "D"
    assert view.blacklist is not None
    published_at = datetime.fromisoformat(view.blacklist["published_at"])
    expires_at = datetime.fromisoformat(view.blacklist["expires_at"])
    assert 365 * 3 <= (expires_at - published_at).days <= 366 * 3
    assert [t["kind"] for t in view.pending_timers] == ["expiry"]
    assert ("grid_unit", "P37-C07-X82-T03-V11", "BlacklistPublished") in outbox(
        case_worker.store, code
    )

    # Early removal (信用修复): not before 12 months on the list.
    apply = as_input(ApplyEarlyRemoval(actor=ENTERPRISE, statement="已完成整改并通过复查"))
    assert (
        await refused(handle, EnterpriseCreditWorkflow.apply_early_removal, apply)
        == "credit.early_removal.too_early"
    )
    early_from = datetime.fromisoformat(view.blacklist["early_removal_from"])
    await env.sleep(early_from - await env.get_current_time() + timedelta(days=1))
    await handle.execute_update(EnterpriseCreditWorkflow.apply_early_removal, apply)
    view = await handle.execute_update(
        EnterpriseCreditWorkflow.decide_early_removal,
        as_input(DecideEarlyRemoval(actor=SUPERVISOR, approve=True, reason="整改到位")),
    )
    assert not view.is_blacklisted
    assert view.rating != "D"
    assert view.pending_timers == []

    # The removal was obtained by false statements: revoked, the listing and its expiry return.
    view = await handle.execute_update(
        EnterpriseCreditWorkflow.revoke_early_removal,
        as_input(RevokeEarlyRemoval(actor=SUPERVISOR, reason="复查材料弄虚作假")),
    )
    assert view.is_blacklisted and view.rating == "D"
    assert view.blacklist is not None
    assert datetime.fromisoformat(view.blacklist["expires_at"]) == expires_at
    assert [t["kind"] for t in view.pending_timers] == ["expiry"]

    # Three years after publication the entry is removed automatically.
    await env.sleep(expires_at - await env.get_current_time() + timedelta(days=1))
    view = await wait_for(handle, lambda v: not v.is_blacklisted, what="(expired)")
    assert view.blacklist is None and view.pending_timers == []
    types = stored(case_worker.store, code)
    assert types.count("BlacklistPublished") == 1
    for expected in (
        "ObjectionFiled",
        "ObjectionWindowClosed",
        "ListingDecided",
        "EarlyRemovalApplied",
        "EarlyRemovalApproved",
        "EarlyRemovalRevoked",
        "BlacklistExpired",
    ):
        assert types.count(expected) == 1, expected
    assert_store_matches_workflow(case_worker.store, code, view)


async def past_the_objection_window(
    case_worker: RunningWorker, code: str, kind: str
) -> tuple[WorkflowHandle[Any, Any], CreditView]:
    """A credit record whose case event ``kind`` opened a proceeding, an hour after its
    objection window closed (the durable timer fired)."""
    handle = await start_credit(case_worker, code)
    env = case_worker.env
    await handle.signal(
        EnterpriseCreditWorkflow.record_credit_event,
        case_signal(code, kind, await env.get_current_time()),
    )
    view = await wait_for(handle, lambda v: v.proceeding is not None)
    due = datetime.fromisoformat(view.pending_timers[0]["due_at"])
    await env.sleep(due - await env.get_current_time() + timedelta(hours=1))
    view = await wait_for(handle, lambda v: v.proceeding and v.proceeding["window_closed"])
    return handle, view


async def test_a_decision_not_to_list_closes_the_proceeding_without_a_listing(
    case_worker: RunningWorker,
):
    code = new_credit_code()
    handle, view = await past_the_objection_window(case_worker, code, "refusal")
    # A person cannot file an objection after the window closed, and nothing is recorded.
    assert (
        await refused(
            handle,
            EnterpriseCreditWorkflow.file_objection,
            as_input(FileObjection(actor=ENTERPRISE, statement="迟到的申辩")),
        )
        == "credit.objection.window_closed"
    )
    assert (await handle.query(EnterpriseCreditWorkflow.credit)).version == view.version
    view = await handle.execute_update(
        EnterpriseCreditWorkflow.decide_listing,
        as_input(DecideListing(actor=SUPERVISOR, list_enterprise=False, basis="申辩理由成立")),
    )
    assert view.proceeding is None and not view.is_blacklisted and view.pending_timers == []
    assert "BlacklistPublished" not in stored(case_worker.store, code)
    assert_store_matches_workflow(case_worker.store, code, view)


async def test_a_rejected_early_removal_keeps_the_listing_and_a_township_cannot_decide_it(
    case_worker: RunningWorker,
):
    code = new_credit_code()
    handle, view = await past_the_objection_window(case_worker, code, "major_overdue_at_top")
    env = case_worker.env
    # Order 11 makes the listing the department's decision: not the township's.
    township = supervisor_of("sup-town", TOWNSHIP)
    listing = DecideListing(actor=township, list_enterprise=True, basis="应急管理部令第11号")
    assert (
        await refused(handle, EnterpriseCreditWorkflow.decide_listing, as_input(listing))
        == "credit.authority.level_below"
    )
    assert (await handle.query(EnterpriseCreditWorkflow.credit)).version == view.version
    view = await handle.execute_update(
        EnterpriseCreditWorkflow.decide_listing,
        as_input(DecideListing(actor=SUPERVISOR, list_enterprise=True, basis="应急管理部令第11号")),
    )
    assert view.blacklist is not None
    early_from = datetime.fromisoformat(view.blacklist["early_removal_from"])
    await env.sleep(early_from - await env.get_current_time() + timedelta(days=1))
    await handle.execute_update(
        EnterpriseCreditWorkflow.apply_early_removal,
        as_input(ApplyEarlyRemoval(actor=ENTERPRISE, statement="已完成整改")),
    )
    # A statement the record cannot hold is refused at the door, naming the field.
    with pytest.raises(WorkflowUpdateFailedError) as bad_text:
        await handle.execute_update(
            EnterpriseCreditWorkflow.decide_early_removal,
            as_input(DecideEarlyRemoval(actor=SUPERVISOR, approve=False, reason="不符合\x00条件")),
        )
    assert isinstance(bad_text.value.cause, ApplicationError)
    assert bad_text.value.cause.type == "input.text_invalid"
    assert "EarlyRemovalRejected" not in stored(case_worker.store, code)

    view = await handle.execute_update(
        EnterpriseCreditWorkflow.decide_early_removal,
        as_input(DecideEarlyRemoval(actor=SUPERVISOR, approve=False, reason="整改未通过复查")),
    )
    assert view.is_blacklisted and view.rating == "D"
    assert view.blacklist is not None and view.blacklist["removal_applied"] is False
    assert [t["kind"] for t in view.pending_timers] == ["expiry"]
    assert stored(case_worker.store, code)[-1] == "EarlyRemovalRejected"
    assert ("enterprise", code, "EarlyRemovalRejected") in outbox(case_worker.store, code)
    # Rejected, the enterprise may apply again.
    view = await handle.execute_update(
        EnterpriseCreditWorkflow.apply_early_removal,
        as_input(ApplyEarlyRemoval(actor=ENTERPRISE, statement="已重新整改并通过复查")),
    )
    assert view.blacklist is not None and view.blacklist["removal_applied"] is True
    assert_store_matches_workflow(case_worker.store, code, view)
