"""What the HTTP API does, apart from HTTP: access rules, case commands, credit commands.

Routes stay thin: they translate a request into a call here, and one place (``api/errors.py``)
turns refusals into answers. Every decision still goes through a workflow and the domain; the
API never writes an event about a case itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.eventstore import EventStore
from activities.projections.queries import CaseFilter, list_cases
from activities.reference_data import ReferenceData
from api.auth import Principal
from domain.calendar import WorkingCalendar
from domain.case import command_to_data, decide
from domain.case_commands import Actor, CaseCommand, RegisterHazard, Role
from domain.case_events import (
    Evidence,
    HazardCategory,
    HazardClass,
    HazardSource,
    RectificationMode,
)
from domain.credit import credit_command_to_data
from domain.credit_code import is_valid_credit_code
from domain.errors import DomainError
from domain.policy import ListingLevel, Policy
from workflows.case import CaseCommandInput, CaseView, CaseWorkflowInput, SupervisedCaseWorkflow
from workflows.credit import CreditCommandInput, CreditView
from workflows.ids import case_stream_id, case_workflow_id, check_hazard_id, credit_workflow_id

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


def domain_refusal(exc: DomainError) -> Refused:
    # A refusal about one field of the request is 422; one about the case's state, 409.
    return Refused(422 if exc.field else 409, exc.rule, exc.message, exc.field)


@dataclass(frozen=True)
class CaseFacts:
    """What access control needs to know about a case: where it is and whose it is."""

    hazard_id: str
    credit_code: str
    grid_codes: tuple[str, ...]


def actor_of(principal: Principal) -> Actor:
    unit = principal.scope if principal.role in ("supervisor", "inspector") else None
    return Actor(principal.actor_id, Role(principal.role), unit_code=unit)


@dataclass
class Services:
    engine: Engine
    store: EventStore
    reference: ReferenceData
    temporal: Client
    task_queue: str
    policy: Policy
    calendar: WorkingCalendar

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
            raise forbidden(f"a {principal.role} may not do this")
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

    def new_hazard_id(self, principal: Principal, idempotency_key: str | None) -> str:
        today = datetime.now(UTC).strftime("%Y%m%d")
        if idempotency_key:
            # The same key from the same token names the same hazard: a retried POST can
            # never start a second case, even when two retries race.
            digest = hashlib.sha256(f"{principal.token_id}:{idempotency_key}".encode())
            return f"H-{today}-{digest.hexdigest()[:12]}"
        return f"H-{today}-{secrets.token_hex(6)}"

    def registration(
        self, principal: Principal, hazard_id: str, body: dict[str, Any], now: datetime
    ) -> RegisterHazard:
        if principal.role not in ("inspector", "supervisor"):
            raise forbidden("only inspectors and supervisors register hazards")
        code = body["credit_code"].upper()
        enterprise = self.reference.enterprise(code)
        if enterprise is None:
            if not is_valid_credit_code(code):
                raise Refused(
                    422,
                    "credit_code.gb32100_check",
                    "统一社会信用代码 fails its GB 32100-2015 check",
                    "credit_code",
                )
            raise Refused(422, "enterprise.unknown", f"no enterprise {code}", "credit_code")
        path = tuple(self.reference.path_to_root(enterprise.grid_code))
        if principal.scope not in {unit.code for unit in path}:
            raise forbidden(f"enterprise {code} is outside your grid")
        try:
            command = RegisterHazard(
                actor=actor_of(principal),
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
            )
            decide(None, command, now, self.policy, self.calendar)  # refuse before starting
        except DomainError as exc:
            raise domain_refusal(exc) from exc
        return command

    async def register(
        self, principal: Principal, body: dict[str, Any], idempotency_key: str | None
    ) -> dict[str, Any]:
        hazard_id = self.new_hazard_id(principal, idempotency_key)
        command = self.registration(principal, hazard_id, body, datetime.now(UTC))
        try:
            handle: WorkflowHandle[Any, Any] = await self.temporal.start_workflow(
                SupervisedCaseWorkflow.run,
                CaseWorkflowInput(command_to_data(command), correlation_id=idempotency_key),
                id=case_workflow_id(hazard_id),
                task_queue=self.task_queue,
            )
        except WorkflowAlreadyStartedError:
            handle = self.temporal.get_workflow_handle(case_workflow_id(hazard_id))
        view = await self._wait_registered(handle)
        return {"hazard_id": hazard_id, "case": _view(view)}

    async def _wait_registered(self, handle: WorkflowHandle[Any, Any]) -> CaseView:
        for _ in range(200):
            view: CaseView = await handle.query(SupervisedCaseWorkflow.state)
            if view.version > 0:
                return view
            await asyncio.sleep(0.05)
        raise Refused(503, "case.starting", "the case is still starting; ask again shortly")

    async def case(self, principal: Principal, hazard_id: str) -> dict[str, Any]:
        self.require_read(principal, hazard_id)
        handle = self.temporal.get_workflow_handle(case_workflow_id(hazard_id))
        try:
            view: CaseView = await handle.query(SupervisedCaseWorkflow.state)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise not_found(f"workflow of hazard {hazard_id}") from exc
            raise
        return _view(view)

    async def act(
        self,
        principal: Principal,
        hazard_id: str,
        update: str,
        roles: tuple[str, ...],
        build: Any,
    ) -> dict[str, Any]:
        if principal.role not in roles:
            raise forbidden(f"a {principal.role} may not do this; allowed: {', '.join(roles)}")
        self.require_read(principal, hazard_id)
        try:
            command: CaseCommand = build(actor_of(principal))
        except DomainError as exc:
            raise domain_refusal(exc) from exc
        handle = self.temporal.get_workflow_handle(case_workflow_id(hazard_id))
        try:
            view = await handle.execute_update(
                update, CaseCommandInput(command_to_data(command)), result_type=CaseView
            )
        except WorkflowUpdateFailedError as exc:
            raise _update_refusal(exc) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise Refused(
                    409, "case.not_running", f"case {hazard_id} is no longer running"
                ) from exc
            raise
        return _view(view)

    def list_hazards(
        self,
        principal: Principal,
        *,
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
        """The case list of the read model, narrowed to what ``principal`` may see."""
        if principal.role == "enterprise":
            if enterprise not in (None, principal.scope):
                raise forbidden("an enterprise sees only its own hazards")
            enterprise = principal.scope
        elif principal.role in ("inspector", "supervisor"):
            scope = principal.scope or ""
            if grid_unit is None:
                grid_unit = scope
            elif not self.reference.is_within(grid_unit, scope):
                raise forbidden(f"grid unit {grid_unit} is outside your grid")
        page = list_cases(
            self.engine,
            now=datetime.now(UTC),
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
                jsonable({"hazard_id": item.hazard_id, "overdue": item.overdue, **item.fields})
                for item in page.items
            ],
        }

    # ------------------------------------------------------------------ credit

    async def credit_update(
        self, principal: Principal, credit_code: str, update: str, command: Any
    ) -> dict[str, Any]:
        handle = self.temporal.get_workflow_handle(credit_workflow_id(credit_code))
        try:
            view = await handle.execute_update(
                update,
                CreditCommandInput(credit_command_to_data(command)),
                result_type=CreditView,
            )
        except WorkflowUpdateFailedError as exc:
            raise _update_refusal(exc) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise Refused(
                    409, "credit.no_record", f"enterprise {credit_code} has no credit record yet"
                ) from exc
            raise
        return asdict(view)


def _update_refusal(exc: WorkflowUpdateFailedError) -> Refused:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        field = details.get("field") if isinstance(details, dict) else None
        rule = cause.type or "refused"
        if rule == "forbidden":
            return Refused(403, "access.forbidden", cause.message)
        return Refused(422 if field else 409, rule, cause.message, field)
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


def _view(view: CaseView) -> dict[str, Any]:
    return asdict(view)


__all__ = ["Refused", "Services", "check_hazard_id"]
