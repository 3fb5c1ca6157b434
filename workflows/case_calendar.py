"""What a case does while the administrator's calendar lacks a year its next step needs: the
registration's notice waits (the case is recorded, the notice issued once the year is loaded),
a due deadline or the next timer's time cannot be told. The case never guesses a year's
holidays: it re-reads the calendar file, tells the operator (its view's ``blocked``, the log),
and tries again every ``CALENDAR_RETRY`` or at once on the ``calendar_loaded`` signal.

Kept apart from the workflow class because a case whose calendar is complete never enters it;
it is a base class of ``SupervisedCaseWorkflow`` (workflows/case.py), whose state it reads.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calendar import WorkingCalendar, parse_calendar_toml
    from domain.case import NOTICE_KEY, CaseState, Timer
    from domain.case.commands import SYSTEM_ACTOR, CaseCommand, FireTimer
    from domain.case.events import CaseEvent
    from domain.errors import CalendarDataMissing
    from domain.policy import Policy
    from workflows.recording import load_rules
    from workflows.timers import wait_for_change

CALENDAR_RETRY = timedelta(hours=6)


class CaseCalendarWaits:
    """The calendar-waiting steps of the case workflow (a mixin: the state is the workflow's)."""

    _state: CaseState | None
    _policy: Policy | None
    _calendar: WorkingCalendar
    _lock: asyncio.Lock
    _changed: bool
    _blocked: str | None  # why a due step cannot be decided yet (shown in the view)
    _blocked_year: int | None
    _notice_blocked: CalendarDataMissing | None  # why the registration's notice still waits
    _timers_blocked: bool  # ``_blocked`` says the next timer's time cannot be told

    if TYPE_CHECKING:  # the workflow's own steps, which these call

        async def _execute(
            self, command: CaseCommand, correlation_id: str | None
        ) -> list[CaseEvent]: ...

        async def _fire_due_timers(self) -> None: ...

        def _pending_timers(self) -> list[Timer]: ...

    def _notice_waiting(self) -> bool:
        state = self._state
        return state is not None and state.is_open and state.notice_pending is not None

    async def _issue_waiting_notice(self) -> bool:
        """Issue the registration's notice that waits for calendar data, re-reading the
        calendar file when the year is still missing; True while it still waits (the case then
        re-reads every CALENDAR_RETRY, or at once on the ``calendar_loaded`` signal). People's
        commands meanwhile are answered: those that need the notice are refused with the
        missing year (the domain's rule), the enterprise's plan and report are taken."""
        async with self._lock:
            for attempt in range(2):
                if not self._notice_waiting():
                    break
                try:
                    await self._execute(FireTimer(actor=SYSTEM_ACTOR, key=NOTICE_KEY), None)
                except CalendarDataMissing as missing:
                    if attempt == 0:
                        await self._refresh_calendar()
                        continue
                    if self._notice_blocked is None:
                        workflow.logger.warning(
                            "notice waits for calendar data: %s", missing.message
                        )
                    self._notice_blocked = missing
                    return True
            self._notice_blocked = None
            return False

    async def _pending_timers_or_wait_for_calendar(self) -> list[Timer] | None:
        """The timers to wait for; None after waiting for calendar data that the next timer's
        time needs (a repeated extension-decision alert counted in working days): the file is
        re-read, and while the year is still missing the case waits, telling the operator."""
        try:
            timers = self._pending_timers()
            if self._timers_blocked:  # the year has been loaded meanwhile
                self._timers_blocked, self._blocked = False, None
            return timers
        except CalendarDataMissing:
            await self._refresh_calendar()
        try:
            return self._pending_timers()
        except CalendarDataMissing as exc:
            self._timers_blocked = True
            self._note_block(exc)
            await self._wait_for_calendar()
            return None

    async def _fire_due_timers_or_note_block(self) -> bool:
        """Fire due timers; when a deadline needs a year the calendar has no data for, re-read
        the calendar file once, and if the year is still missing record nothing, tell the
        operator (through the view and the log) and return True: the caller waits a little
        and tries again. Never guess a year's holidays."""
        try:
            await self._fire_due_timers()
            self._blocked = None
            return False
        except CalendarDataMissing:
            await self._refresh_calendar()
        try:
            await self._fire_due_timers()
            self._blocked = None
            return False
        except CalendarDataMissing as exc:
            self._note_block(exc)
            return True

    async def _fire_due_timers_or_wait_for_calendar(self) -> None:
        """Before CALENDAR_BLOCK_RELEASES_LOCK: the same, but waiting inside the caller's lock.
        Kept so that cases blocked under the earlier code replay exactly."""
        try:
            await self._fire_due_timers()
            self._blocked = None
            return
        except CalendarDataMissing:
            await self._refresh_calendar()
        try:
            await self._fire_due_timers()
            self._blocked = None
        except CalendarDataMissing as exc:
            self._note_block(exc)
            await self._wait_for_calendar()

    async def _wait_for_calendar(self) -> None:
        """Wait CALENDAR_RETRY, or less if anything changes (a signal, a person's update)."""
        await wait_for_change(lambda: self._changed, CALENDAR_RETRY)

    def _note_block(self, exc: CalendarDataMissing) -> None:
        self._blocked, self._blocked_year = f"{exc.rule}: {exc.message}", exc.year
        workflow.logger.warning("case blocked on calendar data: %s", exc.message)

    async def _refresh_calendar(self) -> None:
        """Load the administrator's calendar file again (a newly published year). Only the
        calendar is refreshed: the policy stays the one the case was registered under."""
        rules = await load_rules("calendar")
        if rules.calendar_text:
            self._calendar = WorkingCalendar(parse_calendar_toml(rules.calendar_text))
