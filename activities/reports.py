"""Report activities: which grid units need a report, and the report itself.

The figures are the read models' (``activities.projections.read_models.figures.queries``): the
same queries, with the same definitions (activities/projections/read_models/figures/), as the
statistics a supervisor looks at, so a report and the statistics of the same unit and period
agree. A report reads a handful of indexed rows of its unit's subtree; it never scans the
event store.

Before reading, an activity brings the read models up to the store's head as of its start: it
applies any batches the follower has not applied yet itself, serialised with the follower by
the projection's lock (``Projector.step``), so a report never misses an event recorded before
it started, whether the follower runs, lags or has died. It heartbeats while doing so.

Content: the figures of the unit's subtree for the period, the period and its due date, the
unit, the policy in force and the definitions of the figures (``definitions``); stored once as
a ``ReportProduced`` event with the sha256 of its JSON file, and written as JSON and CSV from
that stored event. A stored report is a record and keeps its figures: one stored before
migration 0010 has no ``definitions``, and its ``due``, ``rectified_on_time`` and
``on_time_rectification_rate`` counted deadlines (what ``deadlines_due`` and ``deadlines_met``
count now), not hazards.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import EventMetadata, EventStore, NewEvent, WrongExpectedVersion
from activities.projections import BatchResult, Projector
from activities.projections.read_models.figures.queries import (
    UnitStatistics,
    rate,
    unit_statistics,
    units_with_figures,
)
from activities.projections.read_models.grid_units import grid_unit
from activities.projections.rebuilding import complete_read_models
from activities.rules import RulesActivities
from activities.settings import Settings
from domain.errors import DomainError
from domain.periods import Period, check_period, period_before, report_due_date
from domain.policy import Policy
from workflows.contracts import PlanReportsInput, ProduceReportInput, ReportPlan, ReportResult
from workflows.ids import report_key

log = structlog.get_logger(__name__)

REPORT_EVENT = "ReportProduced"
TITLES = {
    "monthly": "月度安全风险分析报告",
    "quarterly": "季度隐患排查治理统计",
    "yearly": "年度隐患排查治理统计",
}
# The figures of a report, in the order of its CSV file.
FIGURES: tuple[str, ...] = (
    "cases",
    "found",
    "found_major",
    "rectified",
    "rectification_rate",
    "due",
    "rectified_on_time",
    "on_time_rectification_rate",
    "due_unsettled",
    "deadlines_due",
    "deadlines_met",
    "deadlines_missed",
    "deadlines_due_unsettled",
    "overdue",
    "referred",
    "withdrawn",
)
# Those of a report stored before the figures had ``definitions`` (migration 0010), in the
# order its CSV file was written: its files are written again from its stored content.
FIGURES_BEFORE_DEFINITIONS: tuple[str, ...] = (
    "cases",
    "found",
    "found_major",
    "rectified",
    "rectification_rate",
    "due",
    "rectified_on_time",
    "on_time_rectification_rate",
    "deadlines_missed",
    "due_unsettled",
    "overdue",
    "referred",
    "withdrawn",
)
# What the figures mean (activities/projections/read_models/figures/ has the rules in full),
# carried in every report so that a reader of a stored one knows which definition it used.
DEFINITIONS: dict[str, str] = {
    "version": "2026-12 (per hazard)",
    "due": "到期隐患数：整改期限（整改通知书或挂牌督办的期限，含批准延期、复查不合格后重新限定的"
    "期限）在本期届满的隐患，每项隐患计一次；含期限已过、尚无结果的 due_unsettled",
    "rectified_on_time": "按期整改数：其中在整改期限内整改完毕（期限内申请验收并经验收合格）的隐患",
    "on_time_rectification_rate": "到期整改率 = rectified_on_time ÷ due，按隐患计",
    "deadlines_due": "到期期限数：本期届满的每一个期限，含逐级督办（督办函）设定的期限；"
    "deadlines_met 按期，deadlines_missed 逾期；按期限计，不是到期整改率",
    "overdue": "逾期隐患数：overdue_as_of 时未销号、整改期限已过而未按期整改的隐患，升级督办后仍计",
}
GROUPS: tuple[str, ...] = (
    "escalations_by_level",
    "listed_by_level",
    "delisted_by_level",
    "blacklist_changes",
    "found_by_finder",
)


def _bad_request(message: str, rule: str = "report.bad_request") -> ApplicationError:
    return ApplicationError(message, type=rule, non_retryable=True)


def report_content(
    kind: str, period: str, figures: UnitStatistics, policy: Policy
) -> dict[str, Any]:
    """A report's content: the unit's figures for the period, nothing computed here."""
    return {
        "title": TITLES[kind],
        "kind": kind,
        "period": period,
        "period_start": figures.start.isoformat(),
        "period_end": figures.end.isoformat(),
        "due_by": report_due_date(kind, period, policy.reports).isoformat(),
        "unit": {"code": figures.unit_code, "name": figures.unit_name, "level": figures.unit_level},
        "cases": figures.cases,
        "found": figures.found,
        "found_major": figures.found_major,
        "rectified": figures.rectified,
        "rectification_rate": figures.rectification_rate,
        "due": figures.due,
        "rectified_on_time": figures.rectified_on_time,
        "on_time_rectification_rate": rate(figures.rectified_on_time, figures.due),
        "due_unsettled": figures.due_unsettled,
        "deadlines_due": figures.deadlines_due,
        "deadlines_met": figures.deadlines_met,
        "deadlines_missed": figures.deadlines_missed,
        "deadlines_due_unsettled": figures.deadlines_due_unsettled,
        "overdue": figures.overdue,
        "overdue_as_of": figures.overdue_as_of.astimezone(policy.tz).isoformat(),
        "referred": figures.referred,
        "withdrawn": figures.withdrawn,
        "escalations_by_level": dict(figures.escalations_by_level),
        "listed_by_level": dict(figures.listed_by_level),
        "delisted_by_level": dict(figures.delisted_by_level),
        "blacklist_changes": dict(sorted(figures.blacklist_changes.items())),
        # 企业自查 and 检查发现 counted apart; self_rectified: written off on the enterprise's
        # own report (自查自改销号).
        "found_by_finder": {
            "self_inspection": figures.found_self_inspection,
            "inspectors": figures.found_by_inspectors,
            "self_rectified": figures.self_rectified,
        },
        "policy": {
            "name": policy.name,
            "version": policy.version,
            "fingerprint": policy.fingerprint,
        },
        "definitions": DEFINITIONS,
    }


def content_bytes(content: dict[str, Any]) -> bytes:
    """The JSON file's exact bytes; their sha256 is the hash stored with the report."""
    return (json.dumps(content, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def csv_text(content: dict[str, Any]) -> str:
    """One row per figure (nested figures as ``escalations_by_level.county``)."""
    order = FIGURES if "definitions" in content else FIGURES_BEFORE_DEFINITIONS
    rows: list[tuple[str, Any]] = [(key, content[key]) for key in order]
    for group in GROUPS:
        # A report stored before a group existed has none (its file is written as it was).
        rows += [(f"{group}.{k}", v) for k, v in content.get(group, {}).items()]
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


def _heartbeat(batch: BatchResult) -> None:
    if activity.in_activity():
        activity.heartbeat(batch.position)


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

    def read_models_current(self) -> int:
        """Apply what the read models lack up to the store's head as of now; the position."""
        head = self._store.head().position
        return Projector(self._store).catch_up_to(head, on_progress=_heartbeat)

    @contextlib.contextmanager
    def _complete_read_models(self) -> Iterator[None]:
        """Keep ``duban projections rebuild`` from emptying the tables while a report reads
        them, or refuse (retryably) while one runs: figures stored for ever are never partial."""
        with complete_read_models(self._store.engine) as complete:
            if not complete:
                raise ApplicationError(
                    "the read models are being rebuilt; the report is read once they are "
                    "complete again",
                    type="report.read_models_rebuilding",
                )
            yield

    def _require_read_models_unchanged(self, position: int) -> None:
        """A report is stored for ever: refuse (retryably) figures read while the read tables
        were emptied and are being filled again (``duban projections rebuild``). The rebuild
        puts the position back to 0 in the transaction that empties them, so a position
        below the one caught up to before reading says the figures may be partial; the retry
        reads them again once the rebuild has passed that point."""
        now_at = Projector(self._store).position()
        if now_at < position:
            raise ApplicationError(
                f"the read models were rebuilt while the report was read (position {now_at} "
                f"< {position}); it is read again",
                type="report.read_models_rebuilding",
            )

    def content_of(self, kind: str, period: str, unit_code: str, now: datetime) -> dict[str, Any]:
        """The content of (kind, unit, period) from the read tables as they are (no catch-up,
        no store access): what ``produce_report`` stores."""
        policy = self._policy()
        span = _period(kind, period)
        if grid_unit(self._store.engine, unit_code) is None:
            raise _bad_request(f"unit_code: no grid unit {unit_code!r} is known", "report.unit")
        figures = unit_statistics(
            self._store.engine, unit_code, span, now=now, time_zone=policy.time_zone
        )
        return report_content(kind, period, figures, policy)

    @activity.defn(name="plan_reports")
    def plan_reports(self, request: PlanReportsInput) -> ReportPlan:
        policy = self._policy()
        try:
            period = request.period or period_before(
                request.kind, datetime.fromisoformat(request.scheduled_at), policy.tz
            )
            check_period(request.kind, period)
        except ValueError as exc:
            raise _bad_request(str(exc)) from exc
        span = _ended(request.kind, period, policy)
        with self._complete_read_models():
            position = self.read_models_current()
            units = units_with_figures(self._store.engine, span, time_zone=policy.time_zone)
            self._require_read_models_unchanged(position)
        log.info(
            "reports.planned",
            kind=request.kind,
            period=period,
            units=len(units),
            as_of_position=position,
        )
        return ReportPlan(request.kind, period, units)

    @activity.defn(name="produce_report")
    def produce_report(self, request: ProduceReportInput) -> ReportResult:
        try:
            stream_id = report_key(request.kind, request.unit_code, request.period)
            event_id = UUID(request.event_id)
        except ValueError as exc:
            raise _bad_request(str(exc)) from exc
        bound = log.bind(
            stream_id=stream_id,
            workflow_id=request.workflow_id,
            run_id=request.run_id,
            event_id=request.event_id,
        )
        stored = self._store.read_stream(stream_id)
        already = bool(stored)
        if not already:
            policy = self._policy()
            _ended(request.kind, request.period, policy)
            with self._complete_read_models():
                position = self.read_models_current()
                now = datetime.now(UTC)
                try:
                    content = self.content_of(request.kind, request.period, request.unit_code, now)
                except ApplicationError:
                    # Emptied tables know no grid unit either: that is a reset, not bad input.
                    self._require_read_models_unchanged(position)
                    raise
                self._require_read_models_unchanged(position)
            digest = hashlib.sha256(content_bytes(content)).hexdigest()
            data = {
                "kind": request.kind,
                "period": request.period,
                "unit_code": request.unit_code,
                "content": content,
                "content_sha256": digest,
                "read_models_position": position,
            }
            try:
                result = self._store.append(
                    stream_id,
                    0,  # a report is produced once: a second writer finds the stream taken
                    [
                        NewEvent(
                            event_id=event_id,
                            event_type=REPORT_EVENT,
                            data=data,
                            metadata=EventMetadata(
                                actor_id="system",
                                actor_role="system",
                                causation_id=f"report:{stream_id}",
                                workflow_id=request.workflow_id,
                                run_id=request.run_id,
                            ),
                            occurred_at=now.astimezone(policy.tz),
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


def _period(kind: str, period: str) -> Period:
    try:
        check_period(kind, period)
        return Period.of_report(kind, period)
    except ValueError as exc:
        raise _bad_request(str(exc)) from exc


def _ended(kind: str, period: str, policy: Policy) -> Period:
    """The period, refused while it has not ended: its figures would still move."""
    span = _period(kind, period)
    end = span.bounds(policy.time_zone)[1]
    if datetime.now(UTC) < end:
        raise _bad_request(
            f"period: {period} ends at {end.isoformat()}; a report covers a whole period",
            "report.period_not_ended",
        )
    return span
