"""What a case's documents read from its recorded events: the event itself, the case's state
just before it (``fold``), the events recorded with it in the same decision, and the earlier
facts it refers to (the registration, the latest notice, the request a decision answers).

``CaseView`` is built from the case's whole history up to and including the event, never from
a live workflow: a document issued again from the same events says the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar
from domain.case import CaseState, fold
from domain.case.events import (
    CaseEvent,
    HazardClass,
    HazardRegistered,
)
from domain.documents.model import (
    Authority,
    Deadline,
    DocumentDraft,
    DocumentKind,
    Paragraph,
    Right,
)
from domain.documents.rules import DocumentRules
from domain.documents.wording import (
    HAZARD_CATEGORY,
    HAZARD_CLASS,
    clause,
    local_day,
    ordinal,
)
from domain.errors import DomainError
from domain.grid import GridUnit
from domain.policy import Policy

E = TypeVar("E", bound=CaseEvent)


@dataclass(frozen=True)
class CaseDocumentContext:
    """The rules a case's documents are built under: the policy the case was registered under
    (its history captured it), the working calendar, and the document rules."""

    policy: Policy
    calendar: WorkingCalendar
    rules: DocumentRules


@dataclass(frozen=True)
class CaseView:
    history: tuple[CaseEvent, ...]
    index: int
    context: CaseDocumentContext

    @staticmethod
    def of(history: Sequence[CaseEvent], index: int, context: CaseDocumentContext) -> CaseView:
        if not 0 <= index < len(history):
            raise DomainError("document.event_index", f"the case has no event {index + 1}", "index")
        if not isinstance(history[0], HazardRegistered):
            raise DomainError(
                "document.history_start",
                "a case's history starts with HazardRegistered",
                "history",
            )
        return CaseView(tuple(history), index, context)

    # --- the event and the case around it --------------------------------------------------

    @property
    def event(self) -> CaseEvent:
        return self.history[self.index]

    @property
    def registered(self) -> HazardRegistered:
        first = self.history[0]
        assert isinstance(first, HazardRegistered)
        return first

    @property
    def before(self) -> CaseState:
        """The case's state just before the event."""
        state = fold(self.history[: self.index])
        assert state is not None, "the registration has no state before it"
        return state

    @property
    def after_decision(self) -> CaseState:
        """The case's state once every event of the event's decision is recorded."""
        state = fold(self.history[: self.batch_end])
        assert state is not None
        return state

    @property
    def batch_end(self) -> int:
        """One past the last event recorded by the same decision (same instant, in order)."""
        end = self.index + 1
        while end < len(self.history) and self.history[end].at == self.event.at:
            end += 1
        return end

    def in_decision(self, kind: type[E]) -> E | None:
        """The event of ``kind`` recorded by the same decision, if any."""
        start = self.index
        while start > 0 and self.history[start - 1].at == self.event.at:
            start -= 1
        return next((e for e in self.history[start : self.batch_end] if isinstance(e, kind)), None)

    def last_before(self, kind: type[E]) -> E | None:
        return next((e for e in reversed(self.history[: self.index]) if isinstance(e, kind)), None)

    # --- people, places and words ------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return self.context.policy.tz

    @property
    def rules(self) -> DocumentRules:
        return self.context.rules

    @property
    def path(self) -> tuple[GridUnit, ...]:
        return self.registered.grid_path

    def unit(self, code: str) -> GridUnit:
        unit = next((u for u in self.path if u.code == code), None)
        if unit is None:
            raise DomainError(
                "document.authority.outside_path", f"no unit {code} on the grid path", "unit"
            )
        return unit

    def issuer_for(self, unit_code: str) -> Authority:
        return self.rules.issuing_authority(self.path, unit_code)

    @property
    def supervising_issuer(self) -> Authority:
        """The authority that issues for the unit supervising the case before the event."""
        return self.issuer_for(self.before.supervising_unit_code)

    @property
    def enterprise(self) -> str:
        return self.registered.enterprise_name

    @property
    def signed_on(self) -> date:
        return local_day(self.event.at, self.tz)

    def local_date(self, instant: datetime) -> date:
        return local_day(instant, self.tz)

    def hazard_short(self) -> str:
        """``一号车间存在的“配电箱门未关闭，线路裸露”一般事故隐患``: the hazard in one phrase."""
        r = self.registered
        return f"{clause(r.location)}存在的“{clause(r.description)}”{HAZARD_CLASS[r.hazard_class]}"

    def hazard_class_words(self) -> str:
        r = self.registered
        words = HAZARD_CLASS[r.hazard_class]
        if r.hazard_class is HazardClass.MAJOR and r.checklist_clause:
            words += f"（判定依据：{clause(r.checklist_clause)}）"
        return words

    def hazard_items(self, first: int = 1) -> list[Paragraph]:
        """The hazard's facts as numbered items （一）…, as a notice lists them."""
        r = self.registered
        items = [
            f"隐患编号：{r.hazard_id}。",
            f"隐患位置：{clause(r.location)}。",
            f"隐患情况：{clause(r.description)}。",
            f"隐患类别：{HAZARD_CATEGORY[r.category]}；隐患等级：{self.hazard_class_words()}。",
        ]
        return [Paragraph(f"（{ordinal(first + i)}）{text}") for i, text in enumerate(items)]

    # --- the draft ---------------------------------------------------------------------------

    def draft(
        self,
        kind: DocumentKind,
        *,
        authority: Authority,
        title: str,
        addressees: tuple[str, ...],
        body: list[Paragraph],
        deadline: Deadline | None = None,
        rights: tuple[Right, ...] = (),
        copy_to: tuple[str, ...] = (),
        rule_keys: tuple[str, ...] = (),
    ) -> DocumentDraft:
        return DocumentDraft(
            kind=kind,
            key=f"{self.registered.hazard_id}:{self.index + 1}:{kind.value}",
            subject=self.registered.hazard_id,
            source_event=self.event.EVENT_TYPE,
            source_at=self.event.at,
            authority=authority,
            title=title,
            addressees=addressees,
            body=tuple(body),
            basis=self.rules.basis(kind),
            deadline=deadline,
            rights=rights,
            signed_on=self.signed_on,
            copy_to=tuple(c for c in copy_to if c != authority.name),
            rule_keys=rule_keys,
        )
