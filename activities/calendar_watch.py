"""The administrator's calendar file (节假日安排) as the running processes see it: where it is,
what it holds, and when the administrator must be told that a year is missing.

A deadline counted into a year neither chinese-calendar nor the file knows waits for that year
(the case says ``blocked``); registrations are recorded meanwhile, their notice waiting. So an
administrator must load next year's holidays before they are needed, and is told in time:
from the policy's ``[calendar] warn_from`` day (default 1 November) a missing next year — and
at any time a missing current year — shows in the readiness report (``/readyz``, never making
it fail), in ``duban up``'s banner, in the metrics (``duban_calendar_*``) and as one
notification to the administrators per missing year, queued in the notification outbox.

``CalendarSource`` re-reads the file when it changes, so the API and the watchers see a year as
soon as ``duban calendar load`` installs it; running cases re-read it on their own (they wait
``CALENDAR_RETRY`` between tries, or are woken by ``wake_waiting_cases``).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.rules import calendar_path, policy_for_warnings, read_calendar_text
from activities.settings import Settings
from domain.calendar import WorkingCalendar
from domain.calendar_file import CalendarFile, parse_calendar_file
from domain.case import calendar_missing_step_key
from domain.errors import DomainError
from domain.policy import Policy
from workflows.contracts import CASE_CALENDAR_LOADED_SIGNAL
from workflows.ids import case_workflow_id

log = structlog.get_logger(__name__)

WATCH_SECONDS = 600.0  # how often a watcher looks (a file change is seen on the next look)


@dataclass(frozen=True)
class CalendarStatus:
    """What the calendar holds on ``today`` (local), and whether to warn."""

    today: date
    warn_from: date  # this year's warning day (the policy's [calendar] warn_from)
    file: str | None
    file_years: tuple[int, ...]
    file_error: str | None  # the file is unreadable or invalid: nothing of it is used
    first_missing_year: int  # the first year from today's on without holiday data

    @property
    def days_until_needed(self) -> int:
        """Days from today to 1 January of the first missing year (≤ 0: it has begun)."""
        return (date(self.first_missing_year, 1, 1) - self.today).days

    @property
    def warning(self) -> bool:
        if self.first_missing_year <= self.today.year:
            return True
        return self.first_missing_year == self.today.year + 1 and self.today >= self.warn_from

    @property
    def message(self) -> str | None:
        """The warning for people, Chinese first; None when there is nothing to say."""
        year = self.first_missing_year
        if self.file_error is not None:
            return f"节假日安排文件无效, 未使用: {self.file_error}"
        if not self.warning:
            return None
        days = self.days_until_needed
        when = "现在就需要" if days <= 0 else f"{days} 天后需要"
        return (
            f"缺少 {year} 年节假日安排 ({when}) — no holidays for {year}: deadlines reaching "
            f"{year} wait until an administrator loads them (duban calendar load FILE)"
        )

    def readiness(self) -> dict[str, Any]:
        """The calendar's entry of ``/readyz``: ``ok`` false when the file is broken (cases
        cannot start until it is mended), ``warning`` when a year is missing. It never makes
        the process unready: no restart or rerouting loads a year (alert on the metrics)."""
        check: dict[str, Any] = {
            "ok": self.file_error is None,
            "first_missing_year": self.first_missing_year,
        }
        message = self.message
        if message is not None:
            check["warning"] = message
        return check

    def banner_lines(self) -> list[str]:
        message = self.message
        return [] if message is None else [f"calendar:    WARNING {message}"]


class CalendarSource:
    """The calendar file, parsed again whenever it changes on disk (size or modification
    time); a file that turns invalid leaves the last good calendar in use and says why."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._parsed: CalendarFile | None = None
        self._error: str | None = None

    def _refresh(self) -> None:
        path = calendar_path(self._settings)
        try:
            stat = path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        with self._lock:
            if stamp == self._stamp and (self._parsed is not None or self._error is not None):
                return
            try:
                text, _ = read_calendar_text(self._settings)
                self._parsed = parse_calendar_file(text) if text is not None else None
                self._error = None
            except DomainError as exc:
                self._error = exc.message
                log.warning("calendar.file_invalid", path=str(path), error=exc.message)
            self._stamp = stamp

    def calendar(self) -> WorkingCalendar:
        self._refresh()
        parsed = self._parsed
        return WorkingCalendar(parsed.years if parsed is not None else None)

    def describe(self) -> tuple[CalendarFile | None, str | None]:
        """The file as last read successfully, and the error of the current one (if any)."""
        self._refresh()
        return self._parsed, self._error

    def status(self, policy: Policy, now: datetime | None = None) -> CalendarStatus:
        calendar = self.calendar()
        parsed, error = self._parsed, self._error
        today = (now or datetime.now(UTC)).astimezone(policy.tz).date()
        text_path = calendar_path(self._settings)
        return CalendarStatus(
            today=today,
            warn_from=policy.calendar.warning_day(today.year),
            file=str(text_path) if parsed is not None or error is not None else None,
            file_years=tuple(sorted(parsed.years)) if parsed is not None else (),
            file_error=error,
            first_missing_year=calendar.first_missing_year(today.year),
        )


class CalendarCollector(Collector):
    """``duban_calendar_*`` gauges, computed when scraped."""

    def __init__(self, source: CalendarSource, policy: Policy) -> None:
        self._source = source
        self._policy = policy

    def collect(self) -> Iterator[Metric]:
        status = self._source.status(self._policy)
        yield GaugeMetricFamily(
            "duban_calendar_first_missing_year",
            "The first year (from the current one) with no holiday data (节假日安排) loaded.",
            value=status.first_missing_year,
        )
        yield GaugeMetricFamily(
            "duban_calendar_missing_year_needed_in_days",
            "Days until 1 January of that year (0 or less: it has begun and deadlines in it wait).",
            value=status.days_until_needed,
        )
        yield GaugeMetricFamily(
            "duban_calendar_warning",
            "1 when an administrator must load a year's holidays now (from the policy's "
            "[calendar] warn_from day for next year, always for the current year).",
            value=1 if status.warning else 0,
        )
        yield GaugeMetricFamily(
            "duban_calendar_file_valid",
            "0 when the calendar file cannot be read or is invalid (nothing of it is used).",
            value=0 if status.file_error is not None else 1,
        )


_COLLECTORS: weakref.WeakKeyDictionary[CollectorRegistry, CalendarCollector] = (
    weakref.WeakKeyDictionary()
)


def register_calendar_metrics(
    registry: CollectorRegistry, source: CalendarSource, policy: Policy
) -> None:
    """Export the calendar gauges on ``registry`` from ``source``; registering again (a new
    API app in the same process) points the one collector at the new source."""
    collector = _COLLECTORS.get(registry)
    if collector is None:
        collector = _COLLECTORS[registry] = CalendarCollector(source, policy)
        registry.register(collector)
    collector._source, collector._policy = source, policy


def queue_admin_warning(engine: Engine, status: CalendarStatus) -> bool:
    """Queue the administrators' notification that ``status.first_missing_year`` is missing,
    once per year (its step key is unique in the outbox): True when this call queued it."""
    if not status.warning:
        return False
    year = status.first_missing_year
    step_key = calendar_missing_step_key(year)
    payload = {
        "step_key": step_key,
        "case_id": "calendar",
        "recipient": {"kind": "admin", "id": "administrators"},
        "reason": f"calendar_year_missing:{year}",
        "year": year,
        "days_until_needed": status.days_until_needed,
        "message": status.message,
    }
    with engine.begin() as conn:
        queued = conn.execute(
            sa.text(
                "INSERT INTO notification_outbox (step_key, case_id, workflow_id,"
                " recipient_kind, recipient_id, reason, payload)"
                " VALUES (:step_key, 'calendar', NULL, 'admin', 'administrators', :reason,"
                " CAST(:payload AS jsonb)) ON CONFLICT (step_key) DO NOTHING"
            ),
            {
                "step_key": step_key,
                "reason": payload["reason"],
                "payload": json.dumps(payload, ensure_ascii=False),
            },
        ).rowcount
    if queued:
        log.warning("calendar.year_missing_notified", year=year, message=status.message)
    return bool(queued)


class CalendarWatch:
    """Looks at the calendar every ``interval`` seconds on its own thread and queues the
    administrators' warning when it is due (idempotent: several processes may watch)."""

    def __init__(
        self,
        source: CalendarSource,
        policy: Policy,
        engine: Engine,
        interval: float = WATCH_SECONDS,
    ) -> None:
        self._source, self._policy, self._engine = source, policy, engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="duban-calendar", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def look(self, now: datetime | None = None) -> CalendarStatus:
        status = self._source.status(self._policy, now)
        queue_admin_warning(self._engine, status)
        return status

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.look()
            except sa.exc.SQLAlchemyError as exc:
                log.warning("calendar.watch_unavailable", error=str(exc))
            except Exception:  # a watcher that died would warn nobody
                log.exception("calendar.watch_failed")
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


# Open cases that may wait for calendar data: a notice not issued yet (no deadline), a deadline
# passed whose next step may need a year, an extension request whose alerts may.
_MAY_WAIT_SQL = """
SELECT hazard_id FROM case_view
WHERE is_open AND (deadline IS NULL OR deadline <= :now OR extension_requested_deadline IS NOT NULL)
ORDER BY hazard_id
"""


async def wake_waiting_cases(engine: Engine, client: Client, now: datetime | None = None) -> int:
    """Signal ``calendar_loaded`` to every open case that may wait for calendar data (from the
    read model); a case that waits for nothing ignores it. The number of cases signalled.

    Without it a waiting case re-reads the calendar within ``CALENDAR_RETRY`` (6 hours); with
    it, at once: a registration's notice is issued the moment its year is there."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(_MAY_WAIT_SQL), {"now": now or datetime.now(UTC)}).all()
    woken = 0
    for (hazard_id,) in rows:
        try:
            handle = client.get_workflow_handle(case_workflow_id(hazard_id))
            await handle.signal(CASE_CALENDAR_LOADED_SIGNAL)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:  # closed meanwhile: nothing to wake
                raise
            continue
        woken += 1
    return woken


def calendar_warning_lines(settings: Settings, now: datetime | None = None) -> list[str]:
    """What `duban up`'s banner says about the calendar: nothing while all is well, else the
    missing year (from the policy's warning day) or the broken file, and what to run."""
    return CalendarSource(settings).status(policy_for_warnings(settings), now).banner_lines()
