"""A hazard's case: registering it (its id, keyed or not, and the command judged before the
workflow starts), reading it (from its workflow, or from the record once the workflow is
gone), and a person's command on it (an Update of its workflow).

Every decision goes through the workflow and the domain; nothing here writes an event about a
case itself. The database is read off the event loop: these are awaited by the API's routes.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.auth import Principal
from api.presenters import case_answer
from api.services.access import actor_of
from api.services.files import FileServices
from api.services.refusals import (
    Refused,
    credit_code_refusal,
    domain_refusal,
    forbidden,
    not_found,
    temporal_answers,
)
from domain.case import check_command_text, command_from_data, command_to_data, decide
from domain.case.commands import Actor, CaseCommand, RegisterHazard
from domain.case.events import (
    HazardCategory,
    HazardClass,
    HazardSource,
    ListingMeasures,
    RectificationMode,
)
from domain.credit_code import is_valid_credit_code
from domain.deadline_bounds import check_deadline_bound
from domain.errors import DomainError
from domain.policy import ListingLevel, Policy
from workflows.case import (
    SupervisedCaseWorkflow,
)
from workflows.case_view import (
    case_view,
)
from workflows.contracts import (
    CaseCommandInput,
    CaseView,
    CaseWorkflowInput,
)
from workflows.ids import case_stream_id, case_workflow_id

log = structlog.get_logger(__name__)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hazard_id_of(day: datetime, part: str, policy: Policy) -> str:
    """``H-YYYYMMDD-part``: every hazard id has this format, keyed or not."""
    return f"H-{day.astimezone(policy.tz).strftime('%Y%m%d')}-{part}"


def legacy_keyed_hazard_id(token_id: str, key: str) -> str:
    """The id the releases before one format gave a keyed registration: a key claimed then
    whose answer was lost still finds its case under it."""
    return f"H-K{idempotency_digest(token_id, key)[:20]}"


def idempotency_digest(token_id: str, key: str) -> str:
    """One token's Idempotency-Key, as the ids derived from it (a hazard id, an update id)
    spell it: the same key from another token is another request."""
    return _sha256(f"{token_id}:{key}")


class CaseServices(FileServices):
    """Registering a hazard, reading its case, commanding it."""

    def new_hazard_id(self) -> str:
        """An unkeyed registration's id: the day it is registered (the policy's time zone)
        and a random part."""
        return hazard_id_of(self.clock(), secrets.token_hex(6), self.policy)

    def keyed_hazard_id(self, token_id: str, key: str, attempt: int, claimed_at: datetime) -> str:
        """A keyed registration's id, in the same format as an unkeyed one: the day its key was
        claimed and a part derived from the token's key and the attempt. The same request sent
        again, on any day, names the same hazard, so a retry can never start a second case;
        a new attempt (after a refusal, which started nothing) names another."""
        digest = idempotency_digest(token_id, key)
        part = digest[:12] if attempt == 1 else _sha256(f"{digest}:{attempt}")[:12]
        return hazard_id_of(claimed_at, part, self.policy)

    async def registered_case(self, hazard_ids: tuple[str, ...]) -> dict[str, Any] | None:
        """The registration answer of the first of ``hazard_ids`` whose case has started (its
        workflow, or its record once retention deleted a closed case's workflow), or None when
        none has: a resent registration is answered with its case before its body is judged
        again (the case's deadline may have passed since, and it is recorded all the same).
        The ids derive from the token's own key: no other token's case can be found here."""
        for hazard_id in hazard_ids:
            handle = self.temporal.get_workflow_handle(case_workflow_id(hazard_id))
            absent = Refused(404, "case.not_started", f"case {hazard_id}")
            try:
                with temporal_answers(absent):
                    view = await self._wait_registered(handle)
            except Refused as refusal:
                if refusal is not absent:
                    raise
                if not await asyncio.to_thread(self._recorded, hazard_id):
                    continue
                return {
                    "hazard_id": hazard_id,
                    "case": await asyncio.to_thread(self._case_from_record, hazard_id),
                }
            return {"hazard_id": hazard_id, "case": case_answer(view, self.clock())}
        return None

    def _recorded(self, hazard_id: str) -> bool:
        return bool(self.store.read_stream(case_stream_id(hazard_id), 1, 1))

    def registration(
        self, principal: Principal, hazard_id: str, body: dict[str, Any], now: datetime
    ) -> RegisterHazard:
        code = body["credit_code"].upper()
        if principal.role == "enterprise":
            # 企业自查: an enterprise registers what it found itself, for itself alone.
            if body["source"] != HazardSource.SELF_INSPECTION.value:
                raise forbidden("an enterprise registers only its own findings (self_inspection)")
            if principal.scope != code:
                raise forbidden("an enterprise registers hazards of its own credit code only")
        elif principal.role not in ("inspector", "supervisor"):
            raise forbidden("only inspectors, supervisors and enterprises register hazards")
        enterprise = self.reference.enterprise(code)
        if enterprise is None:
            if not is_valid_credit_code(code):
                raise credit_code_refusal("credit_code")
            raise Refused(422, "enterprise.unknown", f"no enterprise {code}", "credit_code")
        path = tuple(self.reference.path_to_root(enterprise.grid_code))
        if principal.role != "enterprise" and principal.scope not in {unit.code for unit in path}:
            raise forbidden(f"enterprise {code} is outside your grid")
        try:
            command = RegisterHazard(
                actor=actor_of(principal, self.reference),
                hazard_id=hazard_id,
                enterprise=enterprise,
                grid_path=path,
                hazard_class=HazardClass(body["hazard_class"]),
                category=HazardCategory(body["category"]),
                source=HazardSource(body["source"]),
                description=body["description"],
                location=body["location"],
                found_by=principal.actor_id,
                found_at=body["found_at"],
                mode=RectificationMode(body["mode"]),
                evidence=self.evidence_of(principal, body["evidence"]),
                checklist_clause=body.get("checklist_clause"),
                deadline=body.get("deadline"),
                measures=body.get("measures") or "",
                responsible_person=body.get("responsible_person") or "",
                listing_level=ListingLevel(body["listing_level"])
                if body.get("listing_level")
                else None,
                listing_measures=ListingMeasures(**body["listing_measures"])
                if body.get("listing_measures")
                else None,
            )
            # Refuse before starting, judging exactly what the workflow will read: the command
            # as data (refusing text the record cannot hold, as the workflow does), read back.
            as_data = command_to_data(command)
            check_command_text(as_data)
            as_read = command_from_data(
                RegisterHazard.COMMAND_TYPE, RegisterHazard.SCHEMA_VERSION, as_data
            )
            check_deadline_bound(as_read, now, self.policy)
            decide(None, as_read, now, self.policy, self.current_calendar())
        except DomainError as exc:
            raise domain_refusal(exc) from exc
        return command

    async def register(
        self,
        principal: Principal,
        body: dict[str, Any],
        idempotency_key: str | None = None,
        *,
        hazard_id: str | None = None,
    ) -> dict[str, Any]:
        """Start the case of a registration; ``hazard_id``: the keyed attempt's id (None: a
        new one). ``idempotency_key`` is recorded as the registration's correlation id."""
        hazard_id = hazard_id or self.new_hazard_id()
        command = await asyncio.to_thread(
            self.registration, principal, hazard_id, body, self.clock()
        )
        with temporal_answers():
            try:
                handle: WorkflowHandle[Any, Any] = await self.temporal.start_workflow(
                    SupervisedCaseWorkflow.run,
                    CaseWorkflowInput(command_to_data(command), correlation_id=idempotency_key),
                    id=case_workflow_id(hazard_id),
                    task_queue=self.task_queue,
                    # One hazard id, one case, for ever: a retry after the case has closed
                    # (an immediate rectification closes at once) must not start it again.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                handle = self.temporal.get_workflow_handle(case_workflow_id(hazard_id))
        try:
            with temporal_answers():
                view = await self._wait_registered(handle)
        except Refused as refusal:
            if refusal.status >= 500:
                raise
            # The case has started: whatever kept its first state from us is not a refusal of
            # the registration (an Idempotency-Key must not be freed for another body).
            raise Refused(503, "case.starting", "the case started; ask again shortly") from None
        return {"hazard_id": hazard_id, "case": case_answer(view, self.clock())}

    async def _wait_registered(self, handle: WorkflowHandle[Any, Any]) -> CaseView:
        for _ in range(200):
            view: CaseView = await handle.query(SupervisedCaseWorkflow.state)
            if view.version > 0:
                return view
            await asyncio.sleep(0.05)
        raise Refused(503, "case.starting", "the case is still starting; ask again shortly")

    async def case(self, principal: Principal, hazard_id: str) -> dict[str, Any]:
        """The case as its workflow holds it; once Temporal has deleted a closed case's
        workflow (the namespace's retention), as folded from the event store — the same
        state, since the workflow's state is always the fold of its stored events."""
        facts = await asyncio.to_thread(self.require_read, principal, hazard_id)
        handle = self.temporal.get_workflow_handle(case_workflow_id(hazard_id))
        gone = Refused(404, "case.workflow_gone", f"workflow of hazard {hazard_id}")
        try:
            with temporal_answers(gone):
                view: CaseView = await handle.query(SupervisedCaseWorkflow.state)
        except Refused as exc:
            if exc is not gone:
                raise
            return await asyncio.to_thread(self._case_from_record, facts.hazard_id)
        return case_answer(view, self.clock())

    def _case_from_record(self, hazard_id: str) -> dict[str, Any]:
        from activities.audit.replay import replay_case

        replay = replay_case(self.store, hazard_id)
        state = replay.state
        if state is None:
            raise not_found(f"hazard {hazard_id}")
        if state.is_open:
            # Retention deletes closed workflows only: an open case's workflow not found means
            # the wrong namespace or one terminated by hand — the record cannot stand in for it.
            log.error("case.workflow_missing", hazard_id=hazard_id)
            raise Refused(
                503,
                "case.workflow_missing",
                f"case {hazard_id} is open but its workflow was not found; an operator must "
                "look (namespace setting, or a workflow terminated by hand)",
            )
        view = case_view(state, replay.events_total, self.clock())  # closed: no timers
        log.info("case.read_from_record", hazard_id=hazard_id, open=state.is_open)
        return {**case_answer(view, self.clock()), "answered_from": "event store"}

    async def act(
        self,
        principal: Principal,
        hazard_id: str,
        update: str,
        build: Callable[[Actor], CaseCommand],
        *,
        update_id: str | None = None,
        resent: bool = False,
    ) -> dict[str, Any]:
        """A person's command on a case, once ``authorise_act`` let them act on it (the route
        judges that first, before any stored answer is given back).

        ``update_id`` is sent as the update's id and recorded as its events' correlation id.
        ``resent``: an earlier send under this id may have reached the case. Temporal answers
        a repeated update id from its first run, even once the case closed; only when the
        namespace's retention has deleted a closed case's workflow is the record asked, and a
        command it holds is answered with the case as it stands."""
        command = await asyncio.to_thread(self._command_of, principal, build)
        handle = self.temporal.get_workflow_handle(case_workflow_id(hazard_id))
        gone = Refused(409, "case.not_running", f"case {hazard_id} is no longer running")
        try:
            with temporal_answers(gone):
                view = await handle.execute_update(
                    update,
                    # The update id is also the events' correlation id: the record names the
                    # request that caused them.
                    CaseCommandInput(command_to_data(command), correlation_id=update_id),
                    id=update_id,
                    result_type=CaseView,
                )
        except Refused as refusal:
            if refusal is not gone or not resent or update_id is None:
                raise
            if await self.recorded_version(case_stream_id(hazard_id), update_id) is None:
                raise
            log.info("case.command_already_recorded", hazard_id=hazard_id)
            return await self.case(principal, hazard_id)  # the fold of the stored events
        return case_answer(view, self.clock())

    def _command_of(
        self, principal: Principal, build: Callable[[Actor], CaseCommand]
    ) -> CaseCommand:
        """The command ``build`` makes for the person behind ``principal`` (who they are to
        the domain is read from the grid); a domain rule refusing its fields is the domain's
        refusal."""
        try:
            return build(actor_of(principal, self.reference))
        except DomainError as exc:
            raise domain_refusal(exc) from exc
