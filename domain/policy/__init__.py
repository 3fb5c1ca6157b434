"""The supervision policy (督办策略): every number the rules use, from one file an administrator
edits. ``parse_policy`` validates a TOML text and names the exact key path of any error;
``Policy.to_data``/``Policy.from_data`` give the JSON shape a workflow carries (the same shape
as the TOML file), and ``fingerprint`` identifies the exact policy a case runs under.

Editions. A case decides for months under the policy captured when it started, and a recorded
case must replay with the same outcome. Rules added later therefore switch on with the
policy's ``edition`` (absent = 1) or with keys that older policies do not have; a policy
without them parses as it always did and keeps its fingerprint. Each rule an edition brought
is a named predicate in ``domain.editions``.

The domain parses text (``parse_policy``); reading a file (the shipped ones are under
``domain/policies/``) is the caller's I/O.
"""

from domain.policy.model import (
    Policy,
    parse_policy,
)
from domain.policy.sections import (
    CalendarWarning,
    Credit,
    CreditEventKind,
    CreditNotice,
    CreditTriggers,
    Deadlines,
    Escalation,
    Extension,
    ExtensionLimits,
    Grade,
    ListedDeadlines,
    Listing,
    ListingLevel,
    Notice,
    PublicReports,
    Rating,
    Reminders,
    Reports,
    Rung,
    SelfInspection,
    Step,
    Verification,
    Whitelist,
)

__all__ = [
    "CalendarWarning",
    "Credit",
    "CreditEventKind",
    "CreditNotice",
    "CreditTriggers",
    "Deadlines",
    "Escalation",
    "Extension",
    "ExtensionLimits",
    "Grade",
    "ListedDeadlines",
    "Listing",
    "ListingLevel",
    "Notice",
    "Policy",
    "PublicReports",
    "Rating",
    "Reminders",
    "Reports",
    "Rung",
    "SelfInspection",
    "Step",
    "Verification",
    "Whitelist",
    "parse_policy",
]
