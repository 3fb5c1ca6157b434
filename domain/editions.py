"""The rules each policy edition brought, one named predicate each.

A case decides for months under the policy captured when it started, and a recorded case must
replay with the same outcome, so a rule added later switches on with the policy's ``edition``
(absent = 1). Every rule that depends on the edition is named here, once, by what it changes;
the rest of the domain asks the rule, never the edition number.

- Edition 2: authority follows the grid (定格、定责、定人); a listing states its 五落实 and is
  published; deadlines in days are legal periods; the listing maximum counts from the first
  listing and bounds every deadline of a listed case; a due timer is decided before a person's
  command; the deadline waits while an extension request awaits its decision; a late failed
  verification or rejection counts as the deadline missed; extension limits depend on the
  listing; one enforcement referral per case; escalation's listing states the rung's measures;
  the credit notice states reasons, basis and rights; the stricter cross-checks of the policy.
- Edition 3: the decision alert repeats up the grid; no reminders once their deadline passed;
  withdrawal by the supervising unit or above.
- Edition 4: such a reminder is recorded as lapsed (``ReminderLapsed``), not dropped.
- Edition 5: self-inspection (企业自查自改): an enterprise's own registration states its measures
  and a deadline within ``[self_inspection]``; a general hazard it rectified itself closes on its
  own report; a major one awaits the supervising unit's acceptance (受理), alerted up the grid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the policy module asks these rules too; the type alone is needed here
    from domain.policy import Policy


# The editions this code knows: a policy names one of them (``policy.edition``).
EDITIONS = (1, 2, 3, 4, 5)


def is_known_edition(policy: Policy) -> bool:
    """The policy is written for an edition this code knows (``EDITIONS``)."""
    return policy.edition in EDITIONS


def _since(edition: int, policy: Policy) -> bool:
    return policy.edition >= edition


# --- edition 2 --------------------------------------------------------------------------------


def authority_follows_the_grid(policy: Policy) -> bool:
    """A supervisor acts for a grid unit on the case's grid path, and that unit's place decides
    what it may do: verify, decide an extension, record a refusal, list at a level (edition 1
    checked the role alone, and the listing authority only when the actor named a unit)."""
    return _since(2, policy)


def listing_states_five_implementations(policy: Policy) -> bool:
    """A listing a person makes states its 五落实 (responsibility, measures, funds, time limit,
    emergency plan)."""
    return _since(2, policy)


def listings_published_on_register(policy: Policy) -> bool:
    """A listing or de-listing is followed by its publication on the public register
    (``ListingPublished``)."""
    return _since(2, policy)


def periods_end_as_legal_periods(policy: Policy) -> bool:
    """A rectification period in days, months or years ends at 24:00 of its last day, rolled to
    the next working day when that day is off work (Civil Code Art. 201–203); edition 1 added
    the duration exactly."""
    return _since(2, policy)


def listing_maximum_counts_from_first_listing(policy: Policy) -> bool:
    """The listing maximum (挂牌督办期限) counts from the first listing: a raised level does not
    start the year again (edition 1 counted from the current listing)."""
    return _since(2, policy)


def deadlines_capped_by_listing_maximum(policy: Policy) -> bool:
    """Every deadline the policy computes for a listed case (rework, escalation, a listing over
    an earlier deadline) stays within the listing maximum; once it has ended, a missed deadline
    refers the case instead of taking a rung."""
    return _since(2, policy)


def due_timers_fire_before_commands(policy: Policy) -> bool:
    """A person's command is refused while a timer of the case is due and not yet fired
    (``case.timer.due_first``)."""
    return _since(2, policy)


def deadline_waits_for_extension_decision(policy: Policy) -> bool:
    """While an extension request awaits its decision the deadline does not fall due, and the
    decision has a timer of its own at ``decide_by``."""
    return _since(2, policy)


def late_failed_verification_counts_as_missed_deadline(policy: Policy) -> bool:
    """A verification failed at or after the deadline the report stopped counts as that deadline
    missed: the case takes the ladder's next rung."""
    return _since(2, policy)


def late_rejection_counts_as_missed_deadline(policy: Policy) -> bool:
    """An extension rejected after the deadline has passed counts as the deadline missed at
    that moment."""
    return _since(2, policy)


def extension_limits_depend_on_listing(policy: Policy) -> bool:
    """Listed supervision keeps the extension limits of ``[extension]``; other cases use
    ``extension.unlisted`` (edition 1 applied the listed limits to every case)."""
    return _since(2, policy)


def extension_cutoff_leaves_whole_working_days(policy: Policy) -> bool:
    """A working-day cut-off for an extension request leaves exactly that many working days
    before the deadline's day, a closing day off work not counted."""
    return _since(2, policy)


def referred_once_per_case(policy: Policy) -> bool:
    """A case is referred to enforcement once; every referral counts as
    ``enforcement_referral`` and its ground's own kind counts once per case."""
    return _since(2, policy)


def escalation_listing_states_rung_measures(policy: Policy) -> bool:
    """A listing made by escalation states the rung's steps as its measures (逐级督办第n级)."""
    return _since(2, policy)


def withdrawal_by_unit_on_grid_path(policy: Policy) -> bool:
    """A case is withdrawn by a supervisor whose unit is on its grid path."""
    return _since(2, policy)


def credit_notice_states_reasons_and_rights(policy: Policy) -> bool:
    """A proceeding's notice (告知) states its facts and reasons, basis and the enterprise's
    rights (edition 1 notices carried the objection window only)."""
    return _since(2, policy)


def blacklist_entry_records_decision_and_publish_by(policy: Policy) -> bool:
    """A published blacklist entry records when the listing was decided and the legal deadline
    of its publication."""
    return _since(2, policy)


def notice_requirements_allowed(policy: Policy) -> bool:
    """The policy may state what a rectification notice must contain (``[notice]``)."""
    return _since(2, policy)


def policy_values_cross_checked(policy: Policy) -> bool:
    """The policy's values are checked against each other (listed deadlines within the listing
    maximum, extension decisions before their cut-off, an inspection frequency per grade)."""
    return _since(2, policy)


# --- edition 3 --------------------------------------------------------------------------------


def decision_alert_repeats_up_the_grid(policy: Policy) -> bool:
    """While an extension request stays undecided after ``decide_by`` the alert repeats every
    ``decide_within``, one grid level further up (edition 2: one alert, then the case waits)."""
    return _since(3, policy)


def reminders_stop_at_their_deadline(policy: Policy) -> bool:
    """A reminder of a deadline that has already passed is not sent: a catch-up after the
    deadline tells nobody "3 days before"."""
    return _since(3, policy)


def withdrawal_by_supervising_unit_or_above(policy: Policy) -> bool:
    """A case is withdrawn by its supervising unit or a unit above it, so that a unit below a
    listing authority cannot take down that authority's listing."""
    return _since(3, policy)


# --- edition 4 --------------------------------------------------------------------------------


def lapsed_reminders_recorded(policy: Policy) -> bool:
    """A reminder whose deadline passed before it could be sent is recorded as lapsed
    (``ReminderLapsed``, sent to nobody) instead of being dropped in silence."""
    return _since(4, policy)


# --- edition 5 --------------------------------------------------------------------------------


def self_registration_bounded(policy: Policy) -> bool:
    """An enterprise registering a hazard it found itself (自查) states the measures and a
    deadline, a general hazard's within ``self_inspection.max_general_period`` (edition 4 took
    the enterprise's registration like an inspector's)."""
    return _since(5, policy)


def self_rectified_general_closes_on_report(policy: Policy) -> bool:
    """A general hazard the enterprise registered itself, neither listed nor escalated, is
    written off on its own rectification report with evidence (自查自改销号), without an
    inspector's verification."""
    return _since(5, policy)


def self_reported_major_awaits_acceptance(policy: Policy) -> bool:
    """A major hazard the enterprise registered itself is reported to the supervising unit,
    which accepts it (受理) within ``self_inspection.accept_within``; unaccepted, an alert
    repeats every ``accept_within`` one grid level further up, and it cannot be verified."""
    return _since(5, policy)
