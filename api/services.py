"""What the HTTP API does, apart from HTTP: access rules, case commands, credit commands.

Routes stay thin: they translate a request into a call here, and one place (the exception
handlers of ``api/app.py``) turns refusals into answers. Every decision still goes through a
workflow and the domain; the API never writes an event about a case itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.calendar_watch import CalendarSource
from activities.eventstore import EventStore
from activities.projections.read_models.cases import CaseFilter, list_cases
from activities.reference_data import ReferenceData
from api.auth import Principal, with_article
from domain.calendar import WorkingCalendar
from domain.case import (
    check_command_text,
    command_from_data,
    command_to_data,
    decide,
    state_from_data,
)
from domain.case.commands import Actor, CaseCommand, RegisterHazard, Role
from domain.case.events import (
    Evidence,
    HazardCategory,
    HazardClass,
    HazardSource,
    ListingMeasures,
    RectificationMode,
)
from domain.credit import (
    check_credit_command_text,
    credit_command_to_data,
    decide_credit,
    evolve_credit,
)
from domain.credit.commands import CreditCommand
from domain.credit.events import CreditRecordOpened
from domain.credit_code import is_valid_credit_code
from domain.deadline_bounds import check_deadline_bound
from domain.errors import DomainError
from domain.policy import ListingLevel, Policy
from workflows.case import SupervisedCaseWorkflow
from workflows.case_view import case_view, overdue_at
from workflows.contracts import (
    CaseCommandInput,
    CaseView,
    CaseWorkflowInput,
    CreditCommandInput,
    CreditView,
    CreditWorkflowInput,
)
from workflows.credit import EnterpriseCreditWorkflow
from workflows.ids import (
    case_stream_id,
    case_workflow_id,
    check_hazard_id,
    credit_stream_id,
    credit_workflow_id,
)

log = structlog.get_logger(__name__)

READ_ROLES = ("inspector", "enterprise", "supervisor", "auditor", "admin")


class Refused(Exception):
    """An answer other than success: HTTP status, rule, message and the field at fault."""

    def __init__(self, status: int, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.rule = rule
        self.message = message
        self.field = field


def forbidden(message: str) -> Refused:
    return Refused(403, "access.forbidden", message)


def not_found(what: str) -> Refused:
    return Refused(404, "not_found", f"{what} not found")


# Fields a domain rule may name that are not in the request: who acts (the token's role and
# grid unit) and when (the server's clock, the calendar the case waits for).
_WHO_ACTS = frozenset({"actor.role", "actor.unit_code", "actor.unit_level"})
# Rules about who may act, whatever field they name: the grid unit's authority on a case or a
# credit record, and a listing level above the acting unit's.
_WHO_ACTS_RULES = ("case.authority.", "credit.authority.", "case.list.level_above_actor")
_NOT_THE_REQUEST = frozenset({"now", "calendar"})


def refusal_status(rule: str, field: str | None) -> int:
    """The HTTP status of a domain rule's refusal: 403 when it is about who acts (the actor's
    role, grid unit or its level: ``case.authority.*``, ``credit.authority.*``, a listing
    above the acting unit's level, a listing authority's own act), 409 when it is
    about the case's state or time (``case.timer.due_first``, ``case.listing.period_ended``),
    422 when it names a field of the request (``listing_measures``, ``level``…)."""
    if rule.startswith(_WHO_ACTS_RULES) or field in _WHO_ACTS:
        return 403
    if field is None or field in _NOT_THE_REQUEST:
        return 409
    return 422


def domain_refusal(exc: DomainError) -> Refused:
    return Refused(refusal_status(exc.rule, exc.field), exc.rule, exc.message, exc.field)


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


def temporal_unavailable(exc: Exception) -> Refused:
    """Temporal did not give an answer (down, overloaded, timed out): 503, ask again later.
    The RPC's own text goes to the log; the caller learns what to do, not our topology."""
    status = getattr(exc, "status", None)
    log.warning("temporal.unavailable", error=str(exc), status=getattr(status, "name", None))
    code = f" ({status.name})" if isinstance(status, RPCStatusCode) else ""
    return Refused(
        503,
        "temporal.unavailable",
        f"the workflow service did not answer{code}; try again shortly (a command may have "
        "reached its case before the answer was lost: send it again with the same "
        "Idempotency-Key, or read the case before sending it without one)",
    )


def database_unavailable(exc: Exception) -> Refused:
    """PostgreSQL did not answer (down, restarting, out of connections, a statement timed
    out): 503, ask again later. Nothing was recorded by this request: every write of the API
    is one transaction (reference data) or goes through a workflow (cases, credit)."""
    log.warning("database.unavailable", error=str(exc).splitlines()[0] if str(exc) else "")
    return Refused(503, "database.unavailable", "the database did not answer; try again shortly")


@contextmanager
def temporal_answers(not_found: Refused | None = None) -> Iterator[None]:
    """Turn what Temporal says into an answer: an update's refusal is the domain's 409/422, an
    unknown workflow ``not_found``, any other RPC failure 503 — never a 500."""
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        raise update_refusal(exc) from exc
    except WorkflowQueryFailedError as exc:
        raise Refused(409, "workflow.query_failed", str(exc)) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise temporal_unavailable(exc) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND and not_found is not None:
            raise not_found from exc
        raise temporal_unavailable(exc) from exc


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CaseFacts:
    """What access control needs to know about a case: where it is and whose it is."""

    hazard_id: str
    credit_code: str
    grid_codes: tuple[str, ...]


def actor_of(principal: Principal, reference: ReferenceData) -> Actor:
    """The person behind ``principal`` as the domain sees them: a supervisor or inspector acts
    for their grid unit, named with its level (the credit rules check the deciding level)."""
    if principal.role not in ("supervisor", "inspector") or principal.scope is None:
        return Actor(principal.actor_id, Role(principal.role))
    unit = reference.grid_unit(principal.scope)
    level = unit.level if unit is not None else None
    return Actor(principal.actor_id, Role(principal.role), principal.scope, level)


@dataclass
class Services:
    engine: Engine
    store: EventStore
    reference: ReferenceData
    temporal: Client
    task_queue: str
    policy: Policy
    calendar: WorkingCalendar
    # The instant requests are judged at; tests move it (a retry "after midnight").
    clock: Callable[[], datetime] = field(default=_utc_now)
    # The calendar file as it is now (``duban calendar load`` needs no restart); without it
    # ``calendar`` as built.
    calendar_source: CalendarSource | None = None

    def current_calendar(self) -> WorkingCalendar:
        return self.calendar_source.calendar() if self.calendar_source else self.calendar

    # ------------------------------------------------------------------ access

    def case_facts(self, hazard_id: str) -> CaseFacts:
        try:
            stream = case_stream_id(hazard_id)
        except ValueError as exc:
            raise Refused(422, "hazard_id.invalid", str(exc), "hazard_id") from exc
        first = self.store.read_stream(stream, 1, 1)
        if not first:
            raise not_found(f"hazard {hazard_id}")
        data = first[0].data
        return CaseFacts(
            hazard_id,
            data["credit_code"],
            tuple(unit["code"] for unit in data["grid_path"]),
        )

    @staticmethod
    def can_read_case(principal: Principal, facts: CaseFacts) -> bool:
        if principal.role in ("auditor", "admin"):
            return True
        if principal.role == "enterprise":
            return principal.scope == facts.credit_code
        return principal.scope in facts.grid_codes

    def require_read(self, principal: Principal, hazard_id: str) -> CaseFacts:
        facts = self.case_facts(hazard_id)
        if not self.can_read_case(principal, facts):
            raise forbidden(f"hazard {hazard_id} is outside your scope")
        return facts

    def require_enterprise_access(
        self, principal: Principal, credit_code: str, roles: tuple[str, ...] = READ_ROLES
    ) -> list[str]:
        """The enterprise's grid codes, if ``principal`` (in ``roles``) may see it."""
        if principal.role not in roles:
            raise forbidden(f"{with_article(principal.role)} may not do this")
        enterprise = self.reference.enterprise(credit_code)
        if enterprise is None:
            raise not_found(f"enterprise {credit_code}")
        codes = [u.code for u in self.reference.path_to_root(enterprise.grid_code)]
        if principal.role == "enterprise" and principal.scope != credit_code:
            raise forbidden("an enterprise sees only its own record")
        if principal.role in ("inspector", "supervisor") and principal.scope not in codes:
            raise forbidden(f"enterprise {credit_code} is outside your grid")
        return codes

    # ------------------------------------------------------------------ cases

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
            return {"hazard_id": hazard_id, "case": _view(view, self.clock())}
        return None

    def _recorded(self, hazard_id: str) -> bool:
        return bool(self.store.read_stream(case_stream_id(hazard_id), 1, 1))

    def registration(
        self, principal: Principal, hazard_id: str, body: dict[str, Any], now: datetime
    ) -> RegisterHazard:
        if principal.role not in ("inspector", "supervisor"):
            raise forbidden("only inspectors and supervisors register hazards")
        code = body["credit_code"].upper()
        enterprise = self.reference.enterprise(code)
        if enterprise is None:
            if not is_valid_credit_code(code):
                raise credit_code_refusal("credit_code")
            raise Refused(422, "enterprise.unknown", f"no enterprise {code}", "credit_code")
        path = tuple(self.reference.path_to_root(enterprise.grid_code))
        if principal.scope not in {unit.code for unit in path}:
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
                evidence=tuple(Evidence(e["uri"], e["sha256"]) for e in body["evidence"]),
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
        command = self.registration(principal, hazard_id, body, self.clock())
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
        return {"hazard_id": hazard_id, "case": _view(view, self.clock())}

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
        facts = self.require_read(principal, hazard_id)
        handle = self.temporal.get_workflow_handle(case_workflow_id(hazard_id))
        gone = Refused(404, "case.workflow_gone", f"workflow of hazard {hazard_id}")
        try:
            with temporal_answers(gone):
                view: CaseView = await handle.query(SupervisedCaseWorkflow.state)
        except Refused as exc:
            if exc is not gone:
                raise
            return await asyncio.to_thread(self._case_from_record, facts.hazard_id)
        return _view(view, self.clock())

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
        return {**_view(view, self.clock()), "answered_from": "event store"}

    def authorise_act(self, principal: Principal, hazard_id: str, roles: tuple[str, ...]) -> None:
        """A person of one of ``roles`` who may read the case (its grid, its enterprise)."""
        if principal.role not in roles:
            raise forbidden(
                f"{with_article(principal.role)} may not do this; allowed: {', '.join(roles)}"
            )
        self.require_read(principal, hazard_id)

    async def act(
        self,
        principal: Principal,
        hazard_id: str,
        update: str,
        build: Any,
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
        try:
            command: CaseCommand = build(actor_of(principal, self.reference))
        except DomainError as exc:
            raise domain_refusal(exc) from exc
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
            if await self._recorded_version(case_stream_id(hazard_id), update_id) is None:
                raise
            log.info("case.command_already_recorded", hazard_id=hazard_id)
            return await self.case(principal, hazard_id)  # the fold of the stored events
        return _view(view, self.clock())

    def list_hazards(self, principal: Principal, **filters: Any) -> dict[str, Any]:
        """The case list of the read model, narrowed to what ``principal`` may see."""
        return list_hazards(self.engine, self.reference, principal, now=self.clock(), **filters)

    # ------------------------------------------------------------------ credit

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
            recorded = await self._recorded_version(credit_stream_id(credit_code), update_id)
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
            enterprise = self.reference.enterprise(credit_code)
            if enterprise is None:
                raise not_found(f"enterprise {credit_code}")
            # Starting the workflow records the record's opening even when the update is then
            # refused: judge the command first against the record a start would open, so a
            # refusal (the actor's role or level, missing text) leaves nothing behind. Rules of
            # a record's history (a proceeding already open) are the running workflow's.
            now = self.clock()
            opened = evolve_credit(None, CreditRecordOpened(credit_code, enterprise.name, now))
            try:
                check_credit_command_text(request.command)
                decide_credit(opened, command, now, self.policy, self.current_calendar())
            except DomainError as exc:
                raise domain_refusal(exc) from exc
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

    async def _recorded_version(self, stream_id: str, correlation_id: str) -> int | None:
        """The last stream version of the events of request ``correlation_id``, if any."""

        def read() -> int | None:
            with self.engine.connect() as conn:
                version = conn.execute(
                    text(
                        "SELECT max(stream_version) FROM events WHERE stream_id = :s"
                        " AND metadata ->> 'correlation_id' = :c"
                    ),
                    {"s": stream_id, "c": correlation_id},
                ).scalar_one()
            return None if version is None else int(version)

        return await asyncio.to_thread(read)


def list_hazards(
    engine: Engine,
    reference: ReferenceData,
    principal: Principal,
    *,
    now: datetime,
    grid_unit: str | None = None,
    statuses: list[str] | None = None,
    listed_level: str | None = None,
    hazard_class: str | None = None,
    listed: bool | None = None,
    overdue: bool | None = None,
    enterprise: str | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The case list of the read model, narrowed to what ``principal`` may see (the API's and
    the CLI's; it needs no Temporal, only the read model). A filter naming a grid unit or an
    enterprise that does not exist is 404, a credit code whose check fails 422 — never an
    empty page that reads as "nothing there"."""
    require_grid_unit_filter(reference, grid_unit, "grid_unit")
    if enterprise is not None and not is_valid_credit_code(enterprise):
        raise credit_code_refusal("enterprise")
    if principal.role == "enterprise":
        if enterprise not in (None, principal.scope):
            raise forbidden("an enterprise sees only its own hazards")
        enterprise = principal.scope
    elif enterprise is not None and reference.enterprise(enterprise) is None:
        raise Refused(404, "not_found", f"enterprise {enterprise} not found", "enterprise")
    if principal.role in ("inspector", "supervisor"):
        scope = principal.scope or ""
        if grid_unit is None:
            grid_unit = scope
        elif not reference.is_within(grid_unit, scope):
            raise forbidden(f"grid unit {grid_unit} is outside your grid")
    page = list_cases(
        engine,
        now=now,
        filters=CaseFilter(
            grid_unit=grid_unit,
            statuses=tuple(statuses) if statuses else None,
            listed_level=listed_level,
            hazard_class=hazard_class,
            listed=listed,
            overdue=overdue,
            credit_code=enterprise,
            open_only=open_only,
        ),
        limit=limit,
        offset=offset,
    )
    return {
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "items": [
            jsonable(
                {
                    "hazard_id": item.hazard_id,
                    "overdue": item.overdue,
                    "overdue_since": item.overdue_since,
                    "days_overdue": item.days_overdue,
                    **item.fields,
                }
            )
            for item in page.items
        ],
    }


def require_grid_unit_filter(reference: ReferenceData, code: str | None, field: str) -> None:
    """A filter that names a grid unit names one that exists (404 otherwise, as GET
    /enterprises answers)."""
    if code is not None and reference.grid_unit(code) is None:
        raise Refused(404, "not_found", f"grid unit {code} not found", field)


def credit_code_refusal(field: str) -> Refused:
    return Refused(
        422, "credit_code.gb32100_check", "统一社会信用代码 fails its GB 32100-2015 check", field
    )


def update_refusal(exc: WorkflowUpdateFailedError) -> Refused:
    """A workflow's refusal of an Update (its validator's or handler's ``ApplicationError``,
    typed with the domain's rule): the same answer as the domain's own refusal."""
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        field = details.get("field") if isinstance(details, dict) else None
        rule = cause.type or "refused"
        if rule == "forbidden":
            return Refused(403, "access.forbidden", cause.message)
        return Refused(refusal_status(rule, field), rule, cause.message, field)
    return Refused(409, "refused", str(cause or exc))


def jsonable(value: Any) -> Any:
    """Plain JSON values (datetimes as ISO 8601, bytes as hex) for an HTTP or CLI answer."""
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _view(view: CaseView, now: datetime) -> dict[str, Any]:
    """The workflow's answer, overdue (逾期) judged at ``now``, the server's clock
    (``workflows.case_view.overdue_at``)."""
    answer = asdict(view)
    state = state_from_data(view.state)
    if state is not None:
        answer |= overdue_at(state, now)
    return answer


__all__ = ["Refused", "Services", "check_hazard_id", "list_hazards"]
