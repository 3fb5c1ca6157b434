"""Public reports (举报): the public's side (a challenge to solve, a report filed with no
sign-in, its course followed by a receipt code) and the grid's side (the list, one report, its
verification and reward), every decision through the report's workflow and the domain.

Flood protection needs no outside service: a proof-of-work (the SHA-256 of
``<challenge>:<nonce>`` starts with the policy's number of zero bits), a challenge spent once,
and a limit of challenges and reports per address and hour. Addresses are kept as their
SHA-256 only. A reporter's name and contact are kept apart from the event store (which
auditors read in full), shown only to the roles ``public_reports.identity_visible_to`` names;
the report's first event records their digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.projections.read_models.public_reports import (
    PublicReportPage,
    list_public_reports,
)
from api.auth import Principal
from api.services.access import AccessRules, actor_of, grid_scope_of
from api.services.refusals import Refused, domain_refusal, forbidden, not_found, temporal_answers
from domain.case.commands import Actor, Role
from domain.case.events import STORED_FILE_SCHEME, Evidence
from domain.errors import DomainError
from domain.grid import GridLevel
from domain.policy import PublicReports
from domain.public_report import (
    PublicReportCommand,
    ReceivePublicReport,
    decide_report,
    fold_report,
    report_command_to_data,
    report_event_from_data,
)
from workflows.contracts import (
    PublicReportCommandInput,
    PublicReportView,
    PublicReportWorkflowInput,
)
from workflows.ids import public_report_stream_id, public_report_workflow_id
from workflows.public_report import PublicReportWorkflow

CHALLENGE_LIFETIME = timedelta(minutes=10)
CHALLENGES_PER_REPORT = 4  # challenges an address may ask for per report it may file
PUBLIC_ACTOR = Actor("public", Role.SYSTEM)  # a report comes from no signed-in person


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def report_id_of(receipt_code: str) -> str:
    """The report a receipt code follows: knowing a report's id never gives its receipt."""
    return "R-" + _sha256(f"receipt:{receipt_code}")[:24]


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solves(challenge: str, nonce: str, bits: int) -> bool:
    """The proof-of-work: SHA-256 of ``challenge:nonce`` starts with ``bits`` zero bits."""
    return leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) >= bits


def identity_digest(report_id: str, name: str, contact: str) -> str:
    return _sha256(json.dumps([report_id, name, contact], ensure_ascii=False))


class PublicReportServices(AccessRules):
    """The public's and the grid's side of public reports."""

    def _report_rules(self) -> PublicReports:
        rules = self.policy.public_reports
        if rules is None:
            raise Refused(404, "public_report.not_taken", "this policy takes no public reports")
        return rules

    # ------------------------------------------------------------------ the public's side

    def issue_report_challenge(self, address: str) -> dict[str, Any]:
        rules = self._report_rules()
        digest = _sha256(f"address:{address}")
        now = self.clock()
        with self.engine.begin() as conn:
            issued = conn.exec_driver_sql(
                "SELECT count(*) FROM public_report_challenges"
                " WHERE address_digest = %(a)s AND issued_at > %(since)s",
                {"a": digest, "since": now - timedelta(hours=1)},
            ).scalar_one()
            if issued >= rules.per_address_per_hour * CHALLENGES_PER_REPORT:
                raise Refused(429, "public_report.rate_limited", "too many requests; try later")
            challenge = secrets.token_urlsafe(24)
            conn.exec_driver_sql(
                "INSERT INTO public_report_challenges (challenge, address_digest, issued_at)"
                " VALUES (%(c)s, %(a)s, %(at)s)",
                {"c": challenge, "a": digest, "at": now},
            )
        return {
            "challenge": challenge,
            "bits": rules.proof_of_work_bits,
            "expires_at": (now + CHALLENGE_LIFETIME).isoformat(),
            "rule": "sha256(challenge + ':' + nonce) starts with `bits` zero bits",
        }

    def _spend_report_challenge(
        self, address: str, challenge: str, nonce: str, report_id: str, rules: PublicReports
    ) -> None:
        """The challenge was issued, is fresh, solved, and spent now; the address is under its
        hourly limit. Refused before anything is recorded."""
        digest = _sha256(f"address:{address}")
        now = self.clock()
        with self.engine.begin() as conn:
            issued = conn.exec_driver_sql(
                "SELECT issued_at FROM public_report_challenges WHERE challenge = %(c)s",
                {"c": challenge},
            ).scalar()
            if issued is None or issued < now - CHALLENGE_LIFETIME:
                raise Refused(
                    422, "public_report.challenge_unknown", "ask for a new challenge", "challenge"
                )
            if not solves(challenge, nonce, rules.proof_of_work_bits):
                raise Refused(
                    422,
                    "public_report.proof_of_work",
                    f"sha256(challenge:nonce) must start with {rules.proof_of_work_bits} zero bits",
                    "nonce",
                )
            filed = conn.exec_driver_sql(
                "SELECT count(*) FROM public_report_submissions"
                " WHERE address_digest = %(a)s AND submitted_at > %(since)s",
                {"a": digest, "since": now - timedelta(hours=1)},
            ).scalar_one()
            if filed >= rules.per_address_per_hour:
                raise Refused(429, "public_report.rate_limited", "too many reports; try later")
            spent = conn.exec_driver_sql(
                "INSERT INTO public_report_submissions"
                " (challenge, address_digest, report_id, submitted_at)"
                " VALUES (%(c)s, %(a)s, %(r)s, %(at)s) ON CONFLICT (challenge) DO NOTHING",
                {"c": challenge, "a": digest, "r": report_id, "at": now},
            ).rowcount
            if not spent:
                raise Refused(
                    409, "public_report.challenge_spent", "this challenge was used", "challenge"
                )

    def report_receipt(
        self, address: str, body: dict[str, Any], receipt_code: str
    ) -> ReceivePublicReport:
        """Judge a report as its workflow will, spend its challenge, keep its identity apart."""
        rules = self._report_rules()
        report_id = report_id_of(receipt_code)
        code, unit_code = body.get("credit_code"), body.get("grid_unit_code")
        enterprise = None
        if code:
            enterprise = self.reference.enterprise(code.upper())
            if enterprise is None:
                raise Refused(422, "enterprise.unknown", f"no enterprise {code}", "credit_code")
            unit_code = enterprise.grid_code
        if not unit_code:
            raise Refused(
                422,
                "public_report.place_unit_required",
                "name the enterprise (credit_code) or the village grid unit of the place",
                "grid_unit_code",
            )
        unit = self.reference.grid_unit(unit_code)
        if unit is None or unit.level is not GridLevel.VILLAGE:
            raise Refused(
                422,
                "public_report.grid_unit_required",
                "the place's grid unit is a village-level unit (村/社区)",
                "grid_unit_code",
            )
        name, contact = body.get("reporter_name") or "", body.get("reporter_contact") or ""
        digest = identity_digest(report_id, name, contact) if (name or contact) else None
        try:
            command = ReceivePublicReport(
                actor=PUBLIC_ACTOR,
                report_id=report_id,
                grid_path=tuple(self.reference.path_to_root(unit.code)),
                credit_code=enterprise.credit_code if enterprise else None,
                enterprise_name=enterprise.name if enterprise else None,
                place=body["place"],
                description=body["description"],
                evidence=_typed_evidence(body.get("evidence") or ()),
                identity_digest=digest,
            )
            decide_report(None, command, self.clock(), self.policy)
        except DomainError as exc:
            raise domain_refusal(exc) from exc
        self._spend_report_challenge(address, body["challenge"], body["nonce"], report_id, rules)
        if digest is not None:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO public_report_identities (report_id, name, contact, digest)"
                    " VALUES (%(r)s, %(n)s, %(c)s, %(d)s) ON CONFLICT (report_id) DO NOTHING",
                    {"r": report_id, "n": name, "c": contact, "d": digest},
                )
        return command

    async def file_public_report(self, address: str, body: dict[str, Any]) -> dict[str, Any]:
        receipt_code = secrets.token_urlsafe(18)
        command = await asyncio.to_thread(self.report_receipt, address, body, receipt_code)
        workflow_id = public_report_workflow_id(command.report_id)
        with temporal_answers():
            try:
                handle = await self.temporal.start_workflow(
                    PublicReportWorkflow.run,
                    PublicReportWorkflowInput(report_command_to_data(command)),
                    id=workflow_id,
                    task_queue=self.task_queue,
                )
            except WorkflowAlreadyStartedError:  # a receipt code is 144 random bits
                raise Refused(409, "public_report.exists", "ask again") from None
            view = await self._report_started(handle)
        return {
            "report_id": command.report_id,
            "receipt_code": receipt_code,
            "status": view.status,
            "verify_by": view.verify_by,
        }

    async def _report_started(self, handle: Any) -> PublicReportView:
        for _ in range(200):
            view: PublicReportView = await handle.query(PublicReportWorkflow.state)
            if view.version > 0:
                return view
            await asyncio.sleep(0.05)
        raise Refused(503, "public_report.starting", "the report is being received; ask again")

    async def follow_report(self, receipt_code: str) -> dict[str, Any]:
        """What a receipt code may read: its report's course, no one else's, no identity."""
        report_id = report_id_of(receipt_code)
        state, record = await asyncio.to_thread(self._report_record, report_id)
        if state is None:
            raise not_found("report")
        outcome: dict[str, Any] = {
            "status": state.status,
            "received_at": state.received_at.isoformat(),
            "verify_by": state.verify_by.isoformat(),
            "linked_cases": len(state.hazard_ids),
            "reward_yuan": state.reward_yuan,
        }
        dismissed = next((e for e in record if e["event_type"] == "PublicReportDismissed"), None)
        outcome["dismissal_reason"] = dismissed["data"]["reason"] if dismissed else None
        return outcome

    def _report_record(self, report_id: str) -> tuple[Any, list[dict[str, Any]]]:
        events = self.store.read_stream(public_report_stream_id(report_id))
        record = [{"event_type": e.event_type, "data": e.data} for e in events]
        state = fold_report(report_event_from_data(e.event_type, e.data) for e in events)
        return state, record

    # ------------------------------------------------------------------ the grid's side

    def list_public_reports(self, principal: Principal, **filters: Any) -> PublicReportPage:
        if principal.role not in ("inspector", "supervisor", "auditor", "admin"):
            raise forbidden("public reports are read by the grid, auditors and administrators")
        grid_unit = grid_scope_of(principal, self.reference, filters.pop("grid_unit", None))
        return list_public_reports(self.engine, grid_unit=grid_unit, **filters)

    def public_report(self, principal: Principal, report_id: str) -> dict[str, Any]:
        state, record = self._report_readable(principal, report_id)
        received = record[0]["data"]
        answer: dict[str, Any] = {
            "report_id": report_id,
            "status": state.status,
            "assigned_unit_code": state.assigned_unit.code,
            "credit_code": received.get("credit_code"),
            "enterprise_name": received.get("enterprise_name"),
            "place": received["place"],
            "description": received["description"],
            "received_at": received["at"],
            "verify_by": received["verify_by"],
            "hazard_ids": list(state.hazard_ids),
            "reward_yuan": state.reward_yuan,
            "events": [e["event_type"] for e in record],
            "reporter": None,
        }
        rules = self._report_rules()
        if principal.role in rules.identity_visible_to and received.get("identity_digest"):
            with self.engine.connect() as conn:
                row = conn.exec_driver_sql(
                    "SELECT name, contact, digest FROM public_report_identities"
                    " WHERE report_id = %(r)s",
                    {"r": report_id},
                ).first()
            if row is not None:
                answer["reporter"] = {
                    "name": row[0],
                    "contact": row[1],
                    "matches_record": row[2] == received["identity_digest"],
                }
        return answer

    def _report_readable(
        self, principal: Principal, report_id: str
    ) -> tuple[Any, list[dict[str, Any]]]:
        if principal.role not in ("inspector", "supervisor", "auditor", "admin"):
            raise forbidden("public reports are read by the grid, auditors and administrators")
        try:
            public_report_workflow_id(report_id)
        except ValueError as exc:
            raise Refused(422, "report_id.invalid", str(exc), "report_id") from exc
        state, record = self._report_record(report_id)
        if state is None:
            raise not_found(f"report {report_id}")
        if principal.role in ("inspector", "supervisor") and principal.scope not in {
            u.code for u in state.grid_path
        }:
            raise forbidden(f"report {report_id} is outside your grid")
        return state, record

    def _report_command(
        self, principal: Principal, report_id: str, build: Any, hazard_ids: tuple[str, ...] = ()
    ) -> PublicReportCommand:
        if principal.role != "supervisor":
            raise forbidden("a report is verified and rewarded by supervisors")
        self._report_readable(principal, report_id)
        for hazard_id in hazard_ids:
            self.require_read(principal, hazard_id)  # a linked case exists, inside your grid
        command: PublicReportCommand = build(actor_of(principal, self.reference))
        return command

    async def act_on_report(
        self,
        principal: Principal,
        report_id: str,
        update: str,
        build: Any,
        *,
        hazard_ids: tuple[str, ...] = (),
        update_id: str | None = None,
    ) -> dict[str, Any]:
        command = await asyncio.to_thread(
            self._report_command, principal, report_id, build, hazard_ids
        )
        handle = self.temporal.get_workflow_handle(public_report_workflow_id(report_id))
        gone = Refused(409, "public_report.not_running", f"report {report_id} is closed")
        with temporal_answers(gone):
            view: PublicReportView = await handle.execute_update(
                update,
                PublicReportCommandInput(report_command_to_data(command), correlation_id=update_id),
                id=update_id,
                result_type=PublicReportView,
            )
        return {
            "report_id": view.report_id,
            "status": view.status,
            "version": view.version,
            "hazard_ids": view.hazard_ids,
            "reward_yuan": view.reward_yuan,
        }


def _typed_evidence(items: Sequence[dict[str, Any]]) -> tuple[Evidence, ...]:
    """A reporter has no account to upload with: the report's evidence is typed (an address and
    its SHA-256), never a stored file's reference."""
    evidence = []
    for index, item in enumerate(items):
        uri = item.get("uri") or ""
        if not uri:
            raise Refused(
                422,
                "evidence.uri_required",
                "a public report's evidence is an address (uri) and its SHA-256",
                f"evidence.{index}.uri",
            )
        if uri.strip().lower().startswith(STORED_FILE_SCHEME):
            raise Refused(
                422,
                "evidence.uri_reserved",
                f"a {STORED_FILE_SCHEME} reference is made by an upload only",
                f"evidence.{index}.uri",
            )
        evidence.append(Evidence(uri, item["sha256"]))
    return tuple(evidence)
