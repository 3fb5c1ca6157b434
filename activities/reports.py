"""Report activities: which grid units need a report, and the report itself.

The figures come straight from the event store (``iter_all`` in global order) through the
domain's own ``evolve``, not from read tables, so a report is a function of the recorded facts
and an auditor can recompute it. Everything is counted *as of the period's end*: only events
recorded before it, so recomputing a past period later gives the same figures.

Figures of a grid unit cover its whole subtree (every unit on a case's grid path):

- ``found``: hazards found in the period; ``rectified``: cases written off (销号) in it;
  ``rectification_rate``: of the hazards found in the period, the share written off by its end.
- ``due``: deadlines that fell due in the period (a deadline replaced before it fell due, by an
  extension or a new notice, never falls due); ``rectified_on_time``: those met, i.e. the case
  was written off by the deadline, or the rectification reported by the deadline then passed
  verification; ``on_time_rectification_rate`` (到期整改率) = rectified_on_time / due.
- ``overdue``: cases that went overdue (逾期, a deadline missed) in the period or are overdue at
  its end (the domain's ``is_overdue``).
- escalations by the level escalated to, listings and de-listings by level, and blacklist
  changes (proceedings, listings, early removals, restorations, expiries) of the enterprises
  whose cases belong to the unit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import (
    EventMetadata,
    EventStore,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)
from activities.rules import RulesActivities
from activities.settings import Settings
from domain.case import CaseState, event_from_data, evolve
from domain.case_events import (
    CaseClosed,
    CaseEscalated,
    DeadlineMissed,
    HazardDelisted,
    HazardListed,
    HazardRegistered,
    RectificationReported,
    VerificationFailed,
)
from domain.errors import DomainError
from domain.grid import GridUnit
from domain.policy import Policy
from workflows.reports import (
    PlanReportsInput,
    ProduceReportInput,
    ReportPlan,
    ReportResult,
    check_period,
    period_before,
    period_bounds,
    report_key,
)

log = structlog.get_logger(__name__)

REPORT_EVENT = "ReportProduced"
TITLES = {
    "monthly": "月度安全风险分析报告",
    "quarterly": "季度隐患排查治理统计",
    "yearly": "年度隐患排查治理统计",
}
_BLACKLIST_CHANGES = {
    "ProceedingOpened": "proceedings_opened",
    "BlacklistPublished": "listed",
    "EarlyRemovalApproved": "removed_early",
    "EarlyRemovalRevoked": "restored",
    "BlacklistExpired": "expired",
}


@dataclass
class _Figures:
    unit: GridUnit
    cases: int = 0
    found: int = 0
    found_rectified: int = 0
    rectified: int = 0
    due: int = 0
    on_time: int = 0
    overdue: int = 0
    escalations: Counter[str] = field(default_factory=Counter)
    listed: Counter[str] = field(default_factory=Counter)
    delisted: Counter[str] = field(default_factory=Counter)
    blacklist: Counter[str] = field(default_factory=Counter)


@dataclass
class _Case:
    """One case's contribution to the period, computed from its events before the end."""

    path: tuple[GridUnit, ...]
    credit_code: str
    live: bool = False
    found: bool = False
    found_rectified: bool = False
    rectified: int = 0
    due: int = 0
    on_time: int = 0
    overdue: bool = False
    missed: bool = False
    escalations: Counter[str] = field(default_factory=Counter)
    listed: Counter[str] = field(default_factory=Counter)
    delisted: Counter[str] = field(default_factory=Counter)


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _case_figures(events: list[Any], start: datetime, end: datetime) -> _Case | None:
    """Fold a case's events recorded before ``end`` and count what happened in [start, end)."""
    first = events[0] if events else None
    if not isinstance(first, HazardRegistered) or first.at >= end:
        return None
    case = _Case(first.grid_path, first.credit_code)
    state: CaseState | None = None
    last_report: datetime | None = None
    ended_at: datetime | None = None

    def deadline_fell_due(deadline: datetime, met: bool) -> None:
        if start <= deadline < end:
            case.due += 1
            case.on_time += int(met)

    for event in events:
        if event.at >= end:
            break
        before = state
        state = evolve(state, event)
        in_period = start <= event.at < end
        match event:
            case HazardRegistered():
                case.found = start <= event.found_at < end
            case CaseClosed() if in_period:
                case.rectified += 1
            case DeadlineMissed() if in_period:
                case.missed = True
            case CaseEscalated() if in_period:
                case.escalations[event.grid_level.value] += 1
            case HazardListed() if in_period:
                case.listed[event.level.value] += 1
            case HazardDelisted() if in_period:
                case.delisted[event.level.value] += 1
            case RectificationReported():
                last_report = event.at
            case VerificationFailed():
                last_report = None
        if before is not None and before.is_open and not state.is_open:
            ended_at = event.at
        if before is None or not before.is_open or before.deadline is None:
            continue
        deadline = before.deadline
        if not state.is_open:
            if state.closed:  # written off: the deadline in force is met or not
                met = event.at <= deadline or (last_report is not None and last_report <= deadline)
                deadline_fell_due(deadline, met)
        elif (state.deadline, state.deadline_no) != (
            before.deadline,
            before.deadline_no,
        ) and event.at >= deadline:  # replaced only after it had fallen due: it was missed
            deadline_fell_due(deadline, False)
    if state is None:
        return None
    if state.is_open and state.deadline is not None and state.deadline < end:
        deadline_fell_due(state.deadline, False)  # still not written off at the period's end
    case.live = ended_at is None or ended_at >= start
    case.found_rectified = case.found and state.closed
    case.overdue = case.missed or state.is_overdue(end)
    return case


class ReportBook:
    """The figures of every grid unit for one (kind, period), from one pass over the store."""

    def __init__(self, kind: str, period: str, policy: Policy) -> None:
        self.kind = kind
        self.period = period
        self.policy = policy
        self.start, self.end = period_bounds(kind, period, policy.tz)
        self.units: dict[str, _Figures] = {}
        self.position = 0

    def read(self, events: Iterable[RecordedEvent]) -> ReportBook:
        cases: dict[str, list[Any]] = {}
        credit: list[RecordedEvent] = []
        for recorded in events:
            self.position = recorded.position
            if recorded.stream_id.startswith("case-"):
                try:
                    event = event_from_data(
                        recorded.event_type, recorded.schema_version, recorded.data
                    )
                except DomainError:
                    continue  # a newer event type than this code knows: it counts nowhere
                cases.setdefault(recorded.stream_id, []).append(event)
            elif recorded.stream_id.startswith("credit-") and (
                recorded.event_type in _BLACKLIST_CHANGES
                and self.start <= recorded.occurred_at < self.end
            ):
                credit.append(recorded)
        paths: dict[str, tuple[GridUnit, ...]] = {}
        for events_of_case in cases.values():
            case = _case_figures(events_of_case, self.start, self.end)
            if case is None:
                continue
            paths[case.credit_code] = case.path
            if case.live:
                self._add(case)
        for recorded in credit:
            code = recorded.stream_id.removeprefix("credit-")
            for unit in paths.get(code, ()):
                self._unit(unit).blacklist[_BLACKLIST_CHANGES[recorded.event_type]] += 1
        return self

    def _unit(self, unit: GridUnit) -> _Figures:
        return self.units.setdefault(unit.code, _Figures(unit))

    def _add(self, case: _Case) -> None:
        for unit in case.path:
            f = self._unit(unit)
            f.cases += 1
            f.found += case.found
            f.found_rectified += case.found_rectified
            f.rectified += case.rectified
            f.due += case.due
            f.on_time += case.on_time
            f.overdue += case.overdue
            f.escalations.update(case.escalations)
            f.listed.update(case.listed)
            f.delisted.update(case.delisted)

    def content(self, unit_code: str) -> dict[str, Any]:
        f = self.units.get(unit_code)
        if f is None:
            raise ApplicationError(
                f"grid unit {unit_code} had no cases in {self.period}",
                type="report.unit_without_cases",
                non_retryable=True,
            )
        return {
            "title": TITLES[self.kind],
            "kind": self.kind,
            "period": self.period,
            "period_start": self.start.isoformat(),
            "period_end": self.end.isoformat(),
            "unit": {"code": f.unit.code, "name": f.unit.name, "level": f.unit.level.value},
            "cases": f.cases,
            "found": f.found,
            "rectified": f.rectified,
            "rectification_rate": _ratio(f.found_rectified, f.found),
            "due": f.due,
            "rectified_on_time": f.on_time,
            "on_time_rectification_rate": _ratio(f.on_time, f.due),
            "overdue": f.overdue,
            "escalations_by_level": dict(sorted(f.escalations.items())),
            "listed_by_level": dict(sorted(f.listed.items())),
            "delisted_by_level": dict(sorted(f.delisted.items())),
            "blacklist_changes": {k: f.blacklist[k] for k in sorted(_BLACKLIST_CHANGES.values())},
            "policy": {
                "name": self.policy.name,
                "version": self.policy.version,
                "fingerprint": self.policy.fingerprint,
            },
        }


def content_bytes(content: dict[str, Any]) -> bytes:
    """The JSON file's exact bytes; their sha256 is the hash stored with the report."""
    return (json.dumps(content, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def csv_text(content: dict[str, Any]) -> str:
    """One row per figure (nested figures as ``escalations_by_level.county``)."""
    rows: list[tuple[str, Any]] = []
    for key in (
        "cases",
        "found",
        "rectified",
        "rectification_rate",
        "due",
        "rectified_on_time",
        "on_time_rectification_rate",
        "overdue",
    ):
        rows.append((key, content[key]))
    for group in (
        "escalations_by_level",
        "listed_by_level",
        "delisted_by_level",
        "blacklist_changes",
    ):
        rows += [(f"{group}.{k}", v) for k, v in content[group].items()]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "period", "unit_code", "unit_name", "metric", "value"])
    unit = content["unit"]
    for metric, value in rows:
        writer.writerow(
            [content["kind"], content["period"], unit["code"], unit["name"], metric, value]
        )
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ReportActivities:
    def __init__(self, store: EventStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    @property
    def reports_dir(self) -> Path:
        return self._settings.reports_dir or self._settings.data_dir / "reports"

    def _policy(self) -> Policy:
        try:
            return Policy.from_data(RulesActivities(self._settings).snapshot().policy)
        except DomainError as exc:
            raise ApplicationError(
                f"the configured rules are invalid: {exc}", type="InvalidRules"
            ) from exc

    def book(self, kind: str, period: str) -> ReportBook:
        """Every unit's figures for (kind, period), from the whole store as of now."""
        return ReportBook(kind, period, self._policy()).read(self._store.iter_all())

    @activity.defn(name="plan_reports")
    def plan_reports(self, request: PlanReportsInput) -> ReportPlan:
        policy = self._policy()
        try:
            period = request.period or period_before(
                request.kind, datetime.fromisoformat(request.scheduled_at), policy.tz
            )
            check_period(request.kind, period)
        except ValueError as exc:
            raise ApplicationError(str(exc), type="report.bad_request", non_retryable=True) from exc
        book = ReportBook(request.kind, period, policy).read(self._store.iter_all())
        units = sorted(book.units)
        log.info(
            "reports.planned",
            kind=request.kind,
            period=period,
            units=len(units),
            as_of_position=book.position,
        )
        return ReportPlan(request.kind, period, units)

    @activity.defn(name="produce_report")
    def produce_report(self, request: ProduceReportInput) -> ReportResult:
        try:
            stream_id = report_key(request.kind, request.unit_code, request.period)
        except ValueError as exc:
            raise ApplicationError(str(exc), type="report.bad_request", non_retryable=True) from exc
        bound = log.bind(
            stream_id=stream_id,
            workflow_id=request.workflow_id,
            run_id=request.run_id,
            event_id=request.event_id,
        )
        stored = self._store.read_stream(stream_id)
        already = bool(stored)
        if not already:
            content = self.book(request.kind, request.period).content(request.unit_code)
            body = content_bytes(content)
            digest = hashlib.sha256(body).hexdigest()
            data = {
                "kind": request.kind,
                "period": request.period,
                "unit_code": request.unit_code,
                "content": content,
                "content_sha256": digest,
            }
            try:
                result = self._store.append(
                    stream_id,
                    0,  # a report is produced once: a second writer finds the stream taken
                    [
                        NewEvent(
                            event_id=UUID(request.event_id),
                            event_type=REPORT_EVENT,
                            data=data,
                            metadata=EventMetadata(
                                actor_id="system",
                                actor_role="system",
                                causation_id=f"report:{stream_id}",
                                workflow_id=request.workflow_id,
                                run_id=request.run_id,
                            ),
                            occurred_at=datetime.now(self._policy().tz),
                        )
                    ],
                )
                already = result.already_stored
            except WrongExpectedVersion:
                already = True
            stored = self._store.read_stream(stream_id)
        # The files are always written from the stored event, so they match its hash.
        recorded = stored[0].data
        content = recorded["content"]
        body = content_bytes(content)
        if hashlib.sha256(body).hexdigest() != recorded["content_sha256"]:
            raise ApplicationError(
                f"stored report {stream_id} does not match its content hash",
                type="report.hash_mismatch",
                non_retryable=True,
            )
        folder = self.reports_dir / request.kind / request.period
        name = stream_id.removeprefix(f"report-{request.kind}-").removesuffix(f"-{request.period}")
        json_path, csv_path = folder / f"{name}.json", folder / f"{name}.csv"
        _write_atomically(json_path, body)
        _write_atomically(csv_path, csv_text(content).encode())
        bound.info("reports.produced", already_stored=already, sha256=recorded["content_sha256"])
        return ReportResult(
            stream_id=stream_id,
            content_sha256=recorded["content_sha256"],
            json_path=str(json_path),
            csv_path=str(csv_path),
            already_stored=already,
            figures=content,
        )
