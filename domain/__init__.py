"""duban's domain (督办): pure, deterministic rules for supervised hazard rectification.

No I/O, no clock, no randomness: time comes in as ``now``, the policy and the working calendar
as arguments. The same ``evolve`` rebuilds any case for a workflow and for an auditor.
"""

from domain.calendar import WorkingCalendar, YearCalendar, parse_calendar_toml
from domain.credit_code import is_valid_credit_code, make_credit_code, validate_credit_code
from domain.durations import PolicyDuration
from domain.errors import CalendarDataMissing, DomainError, PolicyError
from domain.grid import Enterprise, GridLevel, GridTree, GridUnit
from domain.policy import Policy, parse_policy

__all__ = [
    "CalendarDataMissing",
    "DomainError",
    "Enterprise",
    "GridLevel",
    "GridTree",
    "GridUnit",
    "Policy",
    "PolicyDuration",
    "PolicyError",
    "WorkingCalendar",
    "YearCalendar",
    "is_valid_credit_code",
    "make_credit_code",
    "parse_calendar_toml",
    "parse_policy",
    "validate_credit_code",
]
