"""An enterprise's credit state and ``evolve_credit``: what the recorded events make of its
record — entries, the open proceeding, the blacklist entry, the grade."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from domain.credit.events import (
    BlacklistExpired,
    BlacklistPublished,
    CreditEvent,
    CreditEventRecorded,
    CreditRecordOpened,
    CreditServiceAcknowledged,
    EarlyRemovalApplied,
    EarlyRemovalApproved,
    EarlyRemovalRejected,
    EarlyRemovalRevoked,
    ListingDecided,
    ObjectionFiled,
    ObjectionWindowClosed,
    ProceedingNoticeIssued,
    ProceedingOpened,
    RatingChanged,
)
from domain.errors import DomainError
from domain.policy import CreditEventKind


@dataclass(frozen=True)
class CreditEntry:
    case_id: str
    kind: CreditEventKind
    occurred_at: datetime


@dataclass(frozen=True)
class Proceeding:
    proceeding_no: str
    trigger: str
    objection_until: datetime | None = None
    objections: int = 0
    window_closed: bool = False


@dataclass(frozen=True)
class BlacklistEntry:
    proceeding_no: str
    published_at: datetime
    expires_at: datetime
    early_removal_from: datetime
    removal_applied: bool = False
    removed_early: bool = False


@dataclass(frozen=True)
class CreditState:
    credit_code: str
    enterprise_name: str
    opened_at: datetime
    entries: tuple[CreditEntry, ...] = ()
    proceeding: Proceeding | None = None
    proceedings: int = 0
    blacklist: BlacklistEntry | None = None
    last_listing_ended_at: datetime | None = None
    rating: str | None = None
    points: int | None = None
    fired_timers: tuple[str, ...] = ()
    version: int = 0

    @property
    def is_blacklisted(self) -> bool:
        return self.blacklist is not None and not self.blacklist.removed_early


def evolve_credit(state: CreditState | None, event: CreditEvent) -> CreditState:
    if state is None:
        if not isinstance(event, CreditRecordOpened):
            raise DomainError(
                "credit.evolve.not_opened", f"{event.EVENT_TYPE} before CreditRecordOpened"
            )
        return CreditState(event.credit_code, event.enterprise_name, event.at, version=1)
    s = replace(state, version=state.version + 1)
    match event:
        case CreditRecordOpened():
            raise DomainError("credit.evolve.already_opened", "a credit record is opened once")
        case CreditEventRecorded():
            entry = CreditEntry(event.case_id, event.kind, event.occurred_at)
            return replace(s, entries=(*s.entries, entry))
        case ProceedingOpened():
            return replace(
                s,
                proceeding=Proceeding(event.proceeding_no, event.trigger),
                proceedings=s.proceedings + 1,
            )
        case ProceedingNoticeIssued():
            assert s.proceeding is not None
            return replace(
                s, proceeding=replace(s.proceeding, objection_until=event.objection_until)
            )
        case ObjectionFiled():
            assert s.proceeding is not None
            p = s.proceeding
            return replace(s, proceeding=replace(p, objections=p.objections + 1))
        case ObjectionWindowClosed():
            assert s.proceeding is not None
            return replace(
                s,
                proceeding=replace(s.proceeding, window_closed=True),
                fired_timers=(*s.fired_timers, event.timer_key),
            )
        case ListingDecided():
            return replace(s, proceeding=None)
        case BlacklistPublished():
            entry_b = BlacklistEntry(
                event.proceeding_no, event.at, event.expires_at, event.early_removal_from
            )
            return replace(s, blacklist=entry_b)
        case EarlyRemovalApplied():
            assert s.blacklist is not None
            return replace(s, blacklist=replace(s.blacklist, removal_applied=True))
        case EarlyRemovalApproved():
            assert s.blacklist is not None
            return replace(
                s,
                blacklist=replace(s.blacklist, removal_applied=False, removed_early=True),
                last_listing_ended_at=event.at,
            )
        case EarlyRemovalRejected():
            assert s.blacklist is not None
            return replace(s, blacklist=replace(s.blacklist, removal_applied=False))
        case EarlyRemovalRevoked():
            assert s.blacklist is not None
            restored = replace(s.blacklist, removed_early=False, expires_at=event.expires_at)
            return replace(s, blacklist=restored)
        case BlacklistExpired():
            return replace(
                s,
                blacklist=None,
                last_listing_ended_at=event.at,
                fired_timers=(*s.fired_timers, event.timer_key),
            )
        case RatingChanged():
            return replace(s, rating=event.new, points=event.points)
        case CreditServiceAcknowledged():
            return s
    raise DomainError("credit.evolve.unknown_event", f"unknown event {type(event).__name__}")


def fold_credit(
    events: list[CreditEvent] | tuple[CreditEvent, ...], state: CreditState | None = None
) -> CreditState | None:
    for event in events:
        state = evolve_credit(state, event)
    return state
