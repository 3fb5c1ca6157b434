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
DEFAULT_CALENDAR_FILE = "calendar.toml"  # in the data directory, without DUBAN_CALENDAR_FILE


def calendar_path(settings: Settings) -> Path:
    """Where workers and the API read the calendar file, and ``duban calendar load`` writes
    it: DUBAN_CALENDAR_FILE, or ``calendar.toml`` in the data directory."""
    return settings.calendar_file or settings.data_dir / DEFAULT_CALENDAR_FILE


def read_calendar_text(settings: Settings) -> tuple[str | None, str | None]:
    """(text, path) of the configured calendar file; (None, None) when none is configured and
    the data directory has none. A configured file that cannot be read is an error."""
    path = calendar_path(settings)
    if settings.calendar_file is None and not path.is_file():
        return None, None
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DomainError(
            "settings.unreadable", f"cannot read {path}: {reason}", field="calendar_file"
        ) from exc


def archived_policies() -> tuple[str, ...]:
    """The earlier editions duban shipped (``domain/policies/archive/``, kept verbatim): a case
    keeps the policy it was registered under, so its documents are worded by it (matched by
    fingerprint) after an upgrade changed the shipped files."""
    archive = resources.files("domain.policies").joinpath("archive")
    return tuple(sorted(f"archive/{f.name}" for f in archive.iterdir() if f.name.endswith(".toml")))


def shipped_policy(name: str) -> Policy:
    """A policy shipped with duban (``DEFAULT_POLICY``, ``DRILL_POLICY``), parsed."""
    text = resources.files("domain.policies").joinpath(name).read_text(encoding="utf-8")
    return parse_policy(text)


def policy_for_warnings(settings: Settings) -> Policy:
    """The configured policy for a process's own use (the calendar warning's day and zone),
    or the shipped one when the configured file is broken: a process must not refuse to
    start over it (each case start reports that file)."""
    try:
        return RulesActivities(settings)._policy()[0]  # the policy alone: not the calendar
    except DomainError:
        return shipped_policy(DEFAULT_POLICY)


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
        # DUBAN_CALENDAR_FILE, or the data directory's calendar.toml (`duban calendar load`).
        calendar_text, source = read_calendar_text(self._settings)
        if calendar_text is not None:
            parse_calendar_toml(calendar_text)  # refuse a broken file now, not at a deadline
        return calendar_text, source

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
