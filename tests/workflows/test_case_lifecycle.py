"""The supervised case on the time-skipping server: weeks of a hazard's life in milliseconds."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.workflows.case_helpers import (
    assert_store_matches_workflow,
    report,
    start_case,
    stored_types,
    verify,
)
from tests.workflows.conftest import RunningWorker
from workflows.case import SupervisedCaseWorkflow


async def test_a_hazard_rectified_on_time_is_verified_and_closed(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    view = await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    assert view.status == "reported"
    view = await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert view.status == "closed"
    result = await handle.result()
    assert result.status == "closed"
    assert stored_types(case_worker.store, unique_hazard_id) == [
        "HazardRegistered",
        "RectificationNoticeIssued",
        "RectificationReported",
        "VerificationPassed",
        "CaseClosed",
    ]
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, result)


async def test_a_command_the_domain_refuses_fails_the_update_and_records_nothing(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    before = stored_types(case_worker.store, unique_hazard_id)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert "report" in str(caught.value.cause)
    assert stored_types(case_worker.store, unique_hazard_id) == before
    view = await handle.query(SupervisedCaseWorkflow.state)
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)
