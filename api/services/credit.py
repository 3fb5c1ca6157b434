"""A person's command on an enterprise's credit record (信用): sent to its
``EnterpriseCredit`` workflow as an Update, which starts the record first when a supervisor
opens a proceeding on an enterprise no case has brought to it yet."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api.auth import Principal
from api.services.access import AccessRules
from api.services.refusals import Refused, domain_refusal, not_found, temporal_answers
from domain.credit import (
    check_credit_command_text,
    credit_command_to_data,
    decide_credit,
    evolve_credit,
)
from domain.credit.commands import (
    CreditCommand,
)
from domain.credit.events import (
    CreditRecordOpened,
)
from domain.errors import DomainError
from domain.grid import Enterprise
from workflows.contracts import (
    CreditCommandInput,
    CreditView,
    CreditWorkflowInput,
)
from workflows.credit import (
    EnterpriseCreditWorkflow,
)
from workflows.ids import credit_stream_id, credit_workflow_id

log = structlog.get_logger(__name__)


class CreditServices(AccessRules):
    """Commanding an enterprise's credit record."""

    async def credit_update(
        self,
        principal: Principal,
        credit_code: str,
        update: str,
        command: CreditCommand,
        *,
        open_record: bool = False,
        update_id: str | None = None,
        resent: bool = False,
    ) -> CreditView:
        """A person's command on the enterprise's credit workflow. ``open_record``: start the
        workflow first if it is not running (update-with-start, the running one is used if
        there is one), so a supervisor can open a proceeding on an enterprise no case has
        brought to the credit record yet.

        ``update_id`` is sent as the update's id and recorded as its events' correlation id.
        ``resent``: an earlier send under this id may have reached the workflow. Temporal
        answers a repeated update id only within one run, and a credit record continues as
        new; so the record is asked first, and a command it holds from an earlier run is not
        sent again: the answer is the record as it stands, once it includes that command."""
        request = CreditCommandInput(credit_command_to_data(command), correlation_id=update_id)
        workflow_id = credit_workflow_id(credit_code)
        if resent and update_id is not None:
            recorded = await self.recorded_version(credit_stream_id(credit_code), update_id)
            if recorded is not None:
                log.info("credit.command_already_recorded", credit_code=credit_code)
                return await self._credit_view_since(workflow_id, recorded)
        with temporal_answers(
            Refused(
                409,
                "credit.no_record",
                f"enterprise {credit_code} has no credit record yet (no proceeding was opened)",
            )
        ):
            if not open_record:
                handle = self.temporal.get_workflow_handle(workflow_id)
                view: CreditView = await handle.execute_update(
                    update, request, id=update_id, result_type=CreditView
                )
                return view
            enterprise = await asyncio.to_thread(self._judge_opening, credit_code, command, request)
            start = WithStartWorkflowOperation(
                EnterpriseCreditWorkflow.run,
                CreditWorkflowInput(credit_code, enterprise.name, enterprise.grid_code),
                id=workflow_id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            started: CreditView = await self.temporal.execute_update_with_start_workflow(
                update,
                request,
                id=update_id,
                start_workflow_operation=start,
                result_type=CreditView,
            )
            return started

    def _judge_opening(
        self, credit_code: str, command: CreditCommand, request: CreditCommandInput
    ) -> Enterprise:
        """The enterprise whose record a start would open, once ``command`` passes against
        that record. Starting the workflow records the record's opening even when the update
        is then refused: judging the command first lets a refusal (the actor's role or level,
        missing text) leave nothing behind. Rules of a record's history (a proceeding already
        open) are the running workflow's."""
        enterprise = self.reference.enterprise(credit_code)
        if enterprise is None:
            raise not_found(f"enterprise {credit_code}")
        now = self.clock()
        opened = evolve_credit(None, CreditRecordOpened(credit_code, enterprise.name, now))
        try:
            check_credit_command_text(request.command)
            decide_credit(opened, command, now, self.policy, self.current_calendar())
        except DomainError as exc:
            raise domain_refusal(exc) from exc
        return enterprise

    async def _credit_view_since(self, workflow_id: str, version: int) -> CreditView:
        """The record as its workflow holds it, once it has read (or recorded) ``version``:
        the events are stored before the workflow's own state moves, and a run that just
        continued as new reads its stream back first. Any failure here is a 503: the command
        is recorded, so the key must not be taken for refused."""
        handle = self.temporal.get_workflow_handle(workflow_id)
        try:
            with temporal_answers():
                for _ in range(200):
                    view: CreditView = await handle.query(EnterpriseCreditWorkflow.credit)
                    if view.state is not None and view.version >= version:
                        return view
                    await asyncio.sleep(0.05)
        except Refused as refusal:
            if refusal.status >= 500:
                raise
        raise Refused(503, "credit.starting", "the credit record is still starting; ask again")
