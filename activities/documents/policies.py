"""The policies an issuer words documents under (``PolicyBook``): a case's documents follow
the policy the case was registered under, found by the fingerprint its registration recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from activities.rules import (
    DEFAULT_POLICY,
    DRILL_POLICY,
    RulesActivities,
    archived_policies,
    shipped_policy,
)
from activities.settings import Settings
from domain.calendar import WorkingCalendar, parse_calendar_toml
from domain.documents import CaseDocumentContext, DocumentRules
from domain.errors import DomainError
from domain.policy import Policy

log = structlog.get_logger(__name__)


@dataclass
class PolicyBook:
    """The policies documents may be worded under, by fingerprint, the current one (the first:
    for a credit record no case names) and the working calendar."""

    policies: dict[str, Policy]
    current: Policy
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)

    @staticmethod
    def of(*policies: Policy, calendar: WorkingCalendar | None = None) -> PolicyBook:
        return PolicyBook(
            {p.fingerprint: p for p in policies}, policies[0], calendar or WorkingCalendar()
        )

    @staticmethod
    def from_settings(settings: Settings) -> PolicyBook:
        """The configured policy (as a case starting now captures it), the shipped ones and
        their earlier editions (domain/policies/archive/), with the configured calendar."""
        policies: list[Policy] = []
        calendar_text = ""
        try:
            snapshot = RulesActivities(settings).snapshot()
            policies.append(Policy.from_data(snapshot.policy))
            calendar_text = snapshot.calendar_text or ""
        except DomainError as exc:
            # A broken policy or calendar file stops no process (each case start reports it):
            # the cases under the shipped policies still get their documents.
            log.warning("documents.configured_rules_unreadable", error=str(exc))
        for name in (DEFAULT_POLICY, DRILL_POLICY, *archived_policies()):
            shipped = shipped_policy(name)
            policies.append(shipped)
            if "time_zone" in settings.model_fields_set:
                data = shipped.to_data()
                data["time_zone"] = settings.time_zone
                policies.append(Policy.from_data(data))
        calendar = WorkingCalendar(parse_calendar_toml(calendar_text))
        return PolicyBook.of(*policies, calendar=calendar)

    def context(self, fingerprint: str, rules: DocumentRules) -> CaseDocumentContext | None:
        policy = self.policies.get(fingerprint)
        if policy is None:
            return None
        return CaseDocumentContext(policy, self.calendar, rules)
