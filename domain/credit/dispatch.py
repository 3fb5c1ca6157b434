"""``decide_credit``: which rule answers each command to a credit record, after the checks
every command meets (an auditor changes nothing; a record is opened once), and the rating
recomputed after every change (a ``RatingChanged`` whenever the grade moves).

The rules live in ``proceedings`` (列入程序), ``early_removal`` (信用修复) and ``timers``.
"""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import Role
from domain.credit.commands import (
    AcknowledgeCreditService,
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
    FireCreditTimer,
    OpenCreditRecord,
    OpenProceeding,
    RecordCreditEvent,
    RevokeEarlyRemoval,
)
from domain.credit.early_removal import (
    apply_early_removal,
    decide_early_removal,
    revoke_early_removal,
)
from domain.credit.events import (
    CreditEvent,
    CreditRecordOpened,
    CreditServiceAcknowledged,
    RatingChanged,
)
from domain.credit.proceedings import (
    decide_listing,
    file_objection,
    open_proceeding,
    record_credit_event,
)
from domain.credit.rating import rating_of
from domain.credit.state import CreditState, evolve_credit, fold_credit
from domain.credit.timers import fire_credit_timer
from domain.credit_code import validate_credit_code
from domain.durations import utc_instant
from domain.errors import DomainError
from domain.policy import Policy


def decide_credit(
    state: CreditState | None,
    command: CreditCommand,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar | None = None,
) -> list[CreditEvent]:
    """The events ``command`` causes; a RatingChanged is appended whenever the grade moves."""
    now = utc_instant(now, "now")
    cal = calendar or WorkingCalendar()
    if command.actor.role is Role.AUDITOR:
        raise DomainError(
            "credit.auditor.read_only", "an auditor reads and changes nothing", "actor.role"
        )
    base = state
    events: list[CreditEvent] = []
    if state is None:
        if not isinstance(command, OpenCreditRecord | RecordCreditEvent):
            raise DomainError("credit.not_opened", "this enterprise has no credit record yet")
        code = validate_credit_code(command.credit_code)
        events.append(CreditRecordOpened(code, command.enterprise_name, now))
        state = evolve_credit(None, events[0])
        if isinstance(command, OpenCreditRecord):
            return _with_rating(base, events, now, policy, cal)
    elif isinstance(command, OpenCreditRecord):
        raise DomainError("credit.already_opened", "the credit record exists")
    events += _decide(state, command, now, policy, cal)
    return _with_rating(base, events, now, policy, cal)


def _with_rating(
    base: CreditState | None,
    events: list[CreditEvent],
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CreditEvent]:
    """Append RatingChanged when the grade after ``events`` differs from the recorded one."""
    after = fold_credit(events, base)
    assert after is not None
    grade, points = rating_of(after, now, policy, calendar)
    if grade != after.rating:
        events.append(RatingChanged(after.rating, grade, points, now))
    return events


def _decide(
    state: CreditState, command: CreditCommand, now: datetime, policy: Policy, cal: WorkingCalendar
) -> list[CreditEvent]:
    match command:
        case RecordCreditEvent():
            return record_credit_event(state, command, now, policy, cal)
        case OpenProceeding():
            return open_proceeding(state, command, now, policy, cal)
        case FileObjection():
            return file_objection(state, command, now)
        case DecideListing():
            return decide_listing(state, command, now, policy, cal)
        case ApplyEarlyRemoval():
            return apply_early_removal(state, command, now)
        case DecideEarlyRemoval():
            return decide_early_removal(state, command, now, policy)
        case RevokeEarlyRemoval():
            return revoke_early_removal(state, command, now, policy)
        case FireCreditTimer():
            return fire_credit_timer(state, command, now, policy)
        case AcknowledgeCreditService():
            return acknowledge_credit_service(state, command, now)
    raise DomainError("credit.command.unknown", f"unknown command {type(command).__name__}")


# The credit notices served on the enterprise (告知书, 决定书): domain.recipients.SERVED_KINDS
# names them for the inbox.
SERVED_CREDIT_KINDS = ("credit_ProceedingNoticeIssued", "credit_ListingDecided")


def acknowledge_credit_service(
    state: CreditState, command: AcknowledgeCreditService, now: datetime
) -> list[CreditEvent]:
    """签收 of a credit notice by the enterprise it was served on."""
    if command.actor.role is not Role.ENTERPRISE:
        raise DomainError(
            "credit.service.enterprise_only",
            f"only the enterprise acknowledges service; {command.actor.role.value} may not",
            "actor.role",
        )
    prefix = f"credit-{state.credit_code}:"
    if not command.step_key.startswith(prefix) or not command.step_key.endswith(":enterprise"):
        raise DomainError(
            "credit.service.step_unknown",
            f"{command.step_key!r} is not a notice of this record to its enterprise",
            "step_key",
        )
    if command.notice_kind not in SERVED_CREDIT_KINDS:
        raise DomainError(
            "credit.service.kind_not_served",
            f"a {command.notice_kind} notice is not served; one of "
            + ", ".join(SERVED_CREDIT_KINDS),
            "notice_kind",
        )
    return [CreditServiceAcknowledged(command.step_key, command.notice_kind, command.actor.id, now)]
