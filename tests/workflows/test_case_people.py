"""A supervisor's listing, refusal record and withdrawal, each an Update on the case workflow:
recorded before the case moves, told to the people concerned, visible to operators through the
search attributes, and folding to exactly the state the workflow holds."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.case.commands import ListHazard, RecordRefusal, WithdrawCase
from domain.policy import ListingLevel
from tests.domain.domain_builders import COUNTY, FIVE, TOWNSHIP, VILLAGE, supervisor_of
from tests.workflows.case_helpers import (
    SUPERVISOR,
    as_input,
    assert_store_matches_workflow,
    report,
    search_attributes,
    start_case,
    stored_types,
)
from tests.workflows.conftest import RunningWorker
from tests.workflows.credit_helpers import outbox as credit_outbox
from tests.workflows.credit_helpers import wait_for as wait_for_credit
from workflows import search_attributes as sa
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CaseView
from workflows.credit import EnterpriseCreditWorkflow
from workflows.ids import credit_workflow_id


def case_outbox(worker: RunningWorker, hazard_id: str) -> list[tuple[str, str]]:
    import sqlalchemy as sa_core

    with worker.store.engine.connect() as conn:
        rows = conn.execute(
            sa_core.text(
                "SELECT recipient_kind, payload->>'event_type' FROM notification_outbox"
                " WHERE case_id = :case ORDER BY id"
            ),
            {"case": hazard_id},
        ).all()
    return [(kind, event_type) for kind, event_type in rows]


async def test_a_supervisor_lists_a_general_hazard_and_operators_see_it(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, command = await start_case(case_worker, unique_hazard_id)
    before = await search_attributes(handle)
    assert before[sa.CASE_LISTED.name] == "none"
    assert before[sa.CASE_STATUS.name] == "rectifying"

    now = await case_worker.env.get_current_time()
    county_supervisor = SUPERVISOR  # a unit of the county bureau, on the case's grid path
    assert county_supervisor.unit_code == COUNTY.code
    view: CaseView = await handle.execute_update(
        SupervisedCaseWorkflow.list_hazard,
        as_input(
            ListHazard(
                actor=county_supervisor,
                level=ListingLevel.COUNTY,
                deadline=now + timedelta(days=60),
                listing_measures=FIVE,
            )
        ),
    )
    assert view.listed_level == "county"
    assert stored_types(case_worker.store, unique_hazard_id)[-2:] == [
        "HazardListed",
        "ListingPublished",
    ]
    assert view.state is not None
    listing = view.state["listing"]
    assert listing["authority_unit_code"] == COUNTY.code
    assert listing["listing_no"].startswith(f"GP-COUNTY-{COUNTY.code}-")
    told = case_outbox(case_worker, unique_hazard_id)
    assert ("enterprise", "HazardListed") in told
    assert ("public_register", "ListingPublished") in told

    after = await search_attributes(handle)
    assert after[sa.CASE_LISTED.name] == "county"
    assert after[sa.CASE_GRID.name] == view.supervising_unit_code
    assert after[sa.CASE_LEVEL.name] == view.grid_level
    assert after[sa.CASE_DEADLINE.name] == datetime.fromisoformat(view.deadline or "")
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)
    assert command.hazard_id == unique_hazard_id


async def test_a_recorded_refusal_refers_the_case_and_reaches_the_credit_record(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, command = await start_case(case_worker, unique_hazard_id)
    view: CaseView = await handle.execute_update(
        SupervisedCaseWorkflow.record_refusal,
        as_input(RecordRefusal(actor=SUPERVISOR, details="企业负责人拒绝签收整改通知书")),
    )
    assert view.status == "referred"
    types = stored_types(case_worker.store, unique_hazard_id)
    assert "RefusalRecorded" in types and "EnforcementReferred" in types
    assert types.count("EnforcementReferred") == 1
    assert (await search_attributes(handle))[sa.CASE_STATUS.name] == "referred"

    # The enterprise's credit workflow is started by the case and records the refusal once.
    credit = case_worker.client.get_workflow_handle(
        credit_workflow_id(command.enterprise.credit_code)
    )
    # The refusal and the referral it causes are both on the enterprise's record.
    credit_view = await wait_for_credit(credit, lambda v: len(v.recorded) >= 2)
    kinds = sorted(entry["kind"] for entry in credit_view.recorded)
    assert kinds == ["enforcement_referral", "refusal"]
    assert credit_view.proceeding is not None  # the default policy's refusal trigger
    assert ("enterprise", command.enterprise.credit_code, "ProceedingNoticeIssued") in (
        credit_outbox(case_worker.store, command.enterprise.credit_code)
    )

    # A second refusal is recorded but refers nothing twice.
    view = await handle.execute_update(
        SupervisedCaseWorkflow.record_refusal,
        as_input(RecordRefusal(actor=SUPERVISOR, details="复查时仍拒不整改")),
    )
    types = stored_types(case_worker.store, unique_hazard_id)
    assert types.count("RefusalRecorded") == 2
    assert types.count("EnforcementReferred") == 1
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)
    await asyncio.sleep(0.3)
    again = await credit.query(EnterpriseCreditWorkflow.credit)
    assert sorted(entry["kind"] for entry in again.recorded) == kinds


async def test_a_withdrawn_case_is_delisted_closed_and_its_workflow_completes(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id, major=True)
    listed: CaseView = await handle.query(SupervisedCaseWorkflow.state)
    assert listed.listed_level == "county"  # a major hazard is listed at registration

    county_supervisor = SUPERVISOR  # the listing authority: the county bureau
    assert county_supervisor.unit_code == COUNTY.code == listed.supervising_unit_code
    view: CaseView = await handle.execute_update(
        SupervisedCaseWorkflow.withdraw_case,
        as_input(WithdrawCase(actor=county_supervisor, reason="经复核不属于事故隐患, 误报")),
    )
    assert view.status == "withdrawn"
    assert view.listed_level is None
    types = stored_types(case_worker.store, unique_hazard_id)
    assert "CaseWithdrawn" in types
    assert "HazardDelisted" in types
    assert (await handle.result()).status == "withdrawn"
    assert (await search_attributes(handle))[sa.CASE_STATUS.name] == "withdrawn"
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)


async def test_a_unit_below_the_listing_authority_cannot_withdraw_the_case_and_nothing_is_recorded(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id, major=True)
    before = stored_types(case_worker.store, unique_hazard_id)
    for below in (TOWNSHIP, VILLAGE):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                SupervisedCaseWorkflow.withdraw_case,
                as_input(
                    WithdrawCase(actor=supervisor_of(f"sup-{below.code}", below), reason="误报")
                ),
            )
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "case.authority.below_supervising_unit"
    assert stored_types(case_worker.store, unique_hazard_id) == before
    view: CaseView = await handle.query(SupervisedCaseWorkflow.state)
    assert view.status == "rectifying" and view.listed_level == "county"
    assert (await search_attributes(handle))[sa.CASE_LISTED.name] == "county"
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)


async def test_a_command_the_record_cannot_hold_is_refused_and_the_case_goes_on(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    before = stored_types(case_worker.store, unique_hazard_id)
    # Valid for the domain, but over the store's per-event size limit (256 KiB).
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(
            handle.execute_update(
                SupervisedCaseWorkflow.report_rectification, report("整改说明" * 70_000)
            ),
            timeout=30,
        )
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "store.refused"
    assert stored_types(case_worker.store, unique_hazard_id) == before

    # The workflow did not wedge on it: the next, storable report is recorded.
    view: CaseView = await handle.execute_update(
        SupervisedCaseWorkflow.report_rectification, report()
    )
    assert view.status == "reported"
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)


async def test_a_command_with_text_the_record_cannot_hold_is_refused_before_it_reaches_history(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    before = stored_types(case_worker.store, unique_hazard_id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            SupervisedCaseWorkflow.record_refusal,
            as_input(RecordRefusal(actor=SUPERVISOR, details="拒不\x1b整改")),
        )
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "input.text_invalid" and cause.details[0]["field"] == "details"
    assert stored_types(case_worker.store, unique_hazard_id) == before
    # Refused by the validator: the update was never accepted into the case's history.
    events = (await handle.fetch_history()).events
    assert not any(
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in events
    )
