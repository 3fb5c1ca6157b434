"""Domain errors: every refusal names the rule it enforces.

A rule id is a stable dotted string (``case.verify.requires_report``) that the API maps to a
4xx answer and that tests assert on; the message is for people and may carry the Chinese term.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command or a piece of data breaks a rule of the domain (业务规则)."""

    def __init__(self, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(f"[{rule}] {message}" + (f" (field: {field})" if field else ""))
        self.rule = rule
        self.message = message
        self.field = field


class CalendarDataMissing(DomainError):
    """Working days were needed in a year for which no holiday data (节假日安排) is loaded."""

    def __init__(self, year: int) -> None:
        super().__init__(
            "calendar.year_missing",
            f"no working-day data (节假日安排) for year {year}: the administrator must load the "
            f"State Council's holiday schedule for {year} (duban calendar load FILE)",
            field="calendar",
        )
        self.year = year


class PolicyError(DomainError):
    """The policy file (督办策略) is invalid; ``key`` is the exact key path."""

    def __init__(self, key: str, message: str, rule: str = "policy.invalid") -> None:
        super().__init__(rule, f"{key}: {message}", field=key)
        self.key = key
