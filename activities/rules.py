"""Loads the supervision policy and the working-day calendar for workflows.

Read once per case start through an activity, so the exact rules are captured in the case's
history: a replay months later decides with the same numbers even if the file changed since.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.settings import Settings
from domain.calendar import parse_calendar_toml
from domain.errors import DomainError
from domain.policy import Policy, parse_policy
from workflows.contracts import LoadRulesInput, RulesSnapshot

# The policies shipped as package data beside the domain (domain/policies/*.toml); the domain
# parses policy text, reading the file is this side's I/O.
DEFAULT_POLICY = "default.toml"
DRILL_POLICY = "drill.toml"  # every duration in seconds: a whole ladder runs in a minute


def shipped_policy(name: str) -> Policy:
    """A policy shipped with duban (``DEFAULT_POLICY``, ``DRILL_POLICY``), parsed."""
    text = resources.files("domain.policies").joinpath(name).read_text(encoding="utf-8")
    return parse_policy(text)


class RulesActivities:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def snapshot(self) -> RulesSnapshot:
        """The rules as configured now; raises ``DomainError`` naming the key when invalid."""
        policy, policy_source = self._policy()
        calendar_text, calendar_source = self._calendar()
        data = policy.to_data()
        if "time_zone" in self._settings.model_fields_set:
            data["time_zone"] = self._settings.time_zone
            Policy.from_data(data)
        return RulesSnapshot(data, policy_source, calendar_text, calendar_source)

    def calendar_snapshot(self) -> RulesSnapshot:
        """Only the calendar: a running case re-reads it when a year's holidays are missing,
        and keeps the policy it was registered under — so a policy file broken meanwhile must
        not stop the calendar from reaching it. ``policy`` is empty in this snapshot."""
        calendar_text, calendar_source = self._calendar()
        return RulesSnapshot({}, "", calendar_text, calendar_source)

    def _calendar(self) -> tuple[str | None, str | None]:
        if self._settings.calendar_file is None:
            return None, None
        calendar_text = _read(self._settings.calendar_file, "calendar_file")
        parse_calendar_toml(calendar_text)  # refuse a broken file now, not at a deadline
        return calendar_text, str(self._settings.calendar_file)

    def _policy(self) -> tuple[Policy, str]:
        if self._settings.policy_file is None:
            return shipped_policy(DEFAULT_POLICY), "domain/policies/default.toml"
        text = _read(self._settings.policy_file, "policy_file")
        return parse_policy(text), str(self._settings.policy_file)

    @activity.defn(name="load_rules")
    def load_rules(self, request: LoadRulesInput) -> RulesSnapshot:
        try:
            return self.calendar_snapshot() if request.purpose == "calendar" else self.snapshot()
        except DomainError as exc:
            raise ApplicationError(
                f"the configured rules are invalid: {exc}", type="InvalidRules", non_retryable=False
            ) from exc


def _read(path: Path, setting: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DomainError(
            "settings.unreadable", f"cannot read {path}: {exc.strerror}", field=setting
        ) from exc
