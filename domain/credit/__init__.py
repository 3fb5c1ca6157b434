"""An enterprise's safety-production credit record (安全生产信用记录).

Case events that count (escalation, refusal, referral, overdue at the top of the ladder) are
recorded here; the policy's triggers open a serious-dishonesty proceeding (严重失信主体名单,
Order 11): notice (告知) with an objection window (陈述申辩) → decision by a person → publication
→ automatic removal after the list period (3 years) → early removal (信用修复) possible after
12 months, revoked (and the listing restored with its original expiry) when obtained by false
statements. A configurable local rating (A–D) is recomputed on every change; whitelist
eligibility is a query.

What lives where:

- ``events``, ``commands``: the record's events and commands.
- ``state``: ``CreditState``, ``evolve_credit``, ``fold_credit``.
- ``timers``: the objection window's end and the entry's expiry, pending and fired.
- ``rating``: the grade, the inspection frequency, whitelist eligibility.
- ``guards``: the checks the rules share (role, text, the deciding grid level).
- the rules: ``proceedings`` (a case's event recorded, triggers, notice, objection, listing
  decision) and ``early_removal`` (application, decision, revocation).
- ``dispatch``: ``decide_credit``, which rule answers a command, and the rating after it.
- ``codec``: events, commands and state as JSON-safe data.

This package exports the names the rest of duban uses; events and commands are imported from
``domain.credit.events`` and ``domain.credit.commands``.
"""

from domain.credit.codec import (
    check_credit_command_text,
    credit_command_from_data,
    credit_command_to_data,
    credit_event_from_data,
    credit_event_to_data,
    credit_state_to_data,
)
from domain.credit.dispatch import decide_credit
from domain.credit.proceedings import trigger_reasons
from domain.credit.rating import (
    inspections_per_year,
    rating_of,
    unrecorded_rating,
    whitelist_eligible,
)
from domain.credit.state import (
    BlacklistEntry,
    CreditEntry,
    CreditState,
    Proceeding,
    evolve_credit,
    fold_credit,
)
from domain.credit.timers import CreditTimer, pending_credit_timers

__all__ = [
    "BlacklistEntry",
    "CreditEntry",
    "CreditState",
    "CreditTimer",
    "Proceeding",
    "check_credit_command_text",
    "credit_command_from_data",
    "credit_command_to_data",
    "credit_event_from_data",
    "credit_event_to_data",
    "credit_state_to_data",
    "decide_credit",
    "evolve_credit",
    "fold_credit",
    "inspections_per_year",
    "pending_credit_timers",
    "rating_of",
    "trigger_reasons",
    "unrecorded_rating",
    "whitelist_eligible",
]
