"""How events count in ``case_statistics`` (the definitions are the package's docstring), and
the deadline bookkeeping the counts rest on, kept in the case's own row of ``case_view``:
which deadline was settled last (``settled_deadline_no``), the hazard's rectification deadline
(``rectification_deadline``, ``rectification_missed``, ``rectified_on_time``) and the spell in
which it is overdue (``overdue_watch_since``).

A batch's counts are deltas per (unit, month), added to the stored counters when the batch is
written. Each count is journalled (``BatchChanges.undo``) so that a malformed event's counts are
taken back.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from activities.projections.read_models.rows import (
    CaseChange,
    CreditChange,
    Row,
    instant,
    month_ends,
    month_of,
    same_instant,
)

if TYPE_CHECKING:
    from activities.projections.batch import BatchChanges

ESCALATION_LEVELS: tuple[str, ...] = ("township", "county", "city", "province")
LISTING_LEVELS: tuple[str, ...] = ("county", "city", "province")
BLACKLIST_CHANGES: tuple[str, ...] = (
    "proceedings_opened",
    "listed",
    "removed_early",
    "restored",
    "expired",
)

# The counters of ``case_statistics``, in the order of a batch's delta lists.
METRICS: tuple[str, ...] = (
    "found",
    "found_major",
    "rectified",
    "hazards_due",
    "hazards_rectified_on_time",
    "deadlines_due",
    "deadlines_met",
    "deadlines_missed",
    "overdue_at_end",
    *(f"escalations_{level}" for level in ESCALATION_LEVELS),
    *(f"listed_{level}" for level in LISTING_LEVELS),
    *(f"delisted_{level}" for level in LISTING_LEVELS),
    "referred",
    "withdrawn",
    *(f"blacklist_{change}" for change in BLACKLIST_CHANGES),
    # 企业自查 (migration 0018): found by the enterprise itself, and written off on its own
    # report (自查自改销号); the rest of ``found`` was found by inspectors and supervisors.
    "found_self_inspection",
    "self_rectified",
)
_METRIC = {name: i for i, name in enumerate(METRICS)}

# An extension asked for in time and decided after the deadline: the deadline never fell due
# (edition 2 policies hold its timer while the request awaits its decision).
_REPLACES_BEFORE_DUE = frozenset({"ExtensionApproved"})

# --------------------------------------------------------------------------- counting


def count(
    changes: BatchChanges,
    units: list[str] | None,
    moment: str | datetime,
    time_zone: str | None,
    metric: str,
) -> None:
    """Count ``metric`` once for every unit of a grid path, in the month of ``moment``."""
    if units:
        count_month(changes, units, month_of(moment, time_zone), metric)


def count_month(changes: BatchChanges, units: list[str], period: date, metric: str) -> None:
    index = _METRIC[metric]
    statistics = changes.statistics
    undo = changes.undo
    for unit in units:
        key = (unit, period)
        deltas = statistics.get(key)
        if deltas is None:
            deltas = statistics[key] = [0] * len(METRICS)
        deltas[index] += 1
        undo.append((deltas, index))


def settle(
    changes: BatchChanges, row: Row, number: int, deadline: str | datetime, met: bool
) -> None:
    """Count deadline ``number`` as due, met or missed, in its own month; once. The first
    deadline a case settles is the hazard's own (the deadlines before it were replaced
    before they fell due; the ones after it are supervision deadlines): it also counts the
    hazard, due and rectified on time or not."""
    if number <= row["settled_deadline_no"]:
        return
    hazards_deadline = row["settled_deadline_no"] == 0
    row["settled_deadline_no"] = number
    units, zone = row["grid_path"], row["time_zone"]
    period = month_of(deadline, zone)
    count_month(changes, units, period, "deadlines_due")
    count_month(changes, units, period, "deadlines_met" if met else "deadlines_missed")
    if hazards_deadline:
        count_month(changes, units, period, "hazards_due")
        if met:
            count_month(changes, units, period, "hazards_rectified_on_time")
        row["rectified_on_time"] = met


# --------------------------------------------------------------------------- case events
# Each runs before the case list's change of the same event (``read_models/cases.py``): the
# row is still as the event found it.


def case_registered(changes: BatchChanges, case: Row) -> None:
    """HazardRegistered (its row already built and checked): found, and found major."""
    codes, found_at, time_zone = case["grid_path"], case["found_at"], case["time_zone"]
    count(changes, codes, found_at, time_zone, "found")
    if case["hazard_class"] == "major":
        count(changes, codes, found_at, time_zone, "found_major")
    if case["source"] == "self_inspection":
        count(changes, codes, found_at, time_zone, "found_self_inspection")


def _listed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level, at = data["level"], data["at"]
    if level in LISTING_LEVELS:
        count(changes, row["grid_path"], at, row["time_zone"], f"listed_{level}")


def _verification_passed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    deadline, reported_at = row["deadline"], row["reported_at"]
    if deadline is not None:
        # Reported by the deadline and now passed: met, even if verified after it.
        met = reported_at is not None and instant(reported_at) <= instant(deadline)
        settle(changes, row, row["deadline_no"], deadline, met)


def _referred(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    count(changes, row["grid_path"], data["at"], row["time_zone"], "referred")


def _withdrawn(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    count(changes, row["grid_path"], data["at"], row["time_zone"], "withdrawn")


def _deadline_missed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    # The event names its deadline: it may come after a failed verification moved the case on.
    deadline, number = data["deadline"], data["deadline_no"]
    instant(deadline)
    settle(changes, row, number, deadline, met=False)


def _escalated(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level, at = data["grid_level"], data["at"]
    if level in ESCALATION_LEVELS:
        count(changes, row["grid_path"], at, row["time_zone"], f"escalations_{level}")


def _delisted(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level, at = data["level"], data["at"]
    if level in LISTING_LEVELS:
        count(changes, row["grid_path"], at, row["time_zone"], f"delisted_{level}")


def _closed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    at, deadline = data["at"], row["deadline"]
    if deadline is not None:
        # Usually settled by the passed verification just before; else: closed by it or not.
        settle(changes, row, row["deadline_no"], deadline, instant(at) <= instant(deadline))
    if row["rectified_on_time"] is None:  # no deadline was ever set (立改立销): rectified at once
        row["rectified_on_time"] = True
    count(changes, row["grid_path"], at, row["time_zone"], "rectified")
    if data.get("basis") == "self_rectified":
        count(changes, row["grid_path"], at, row["time_zone"], "self_rectified")


FIGURE_CHANGES: dict[str, CaseChange] = {
    "HazardListed": _listed,
    "VerificationPassed": _verification_passed,
    "EnforcementReferred": _referred,
    "CaseWithdrawn": _withdrawn,
    "DeadlineMissed": _deadline_missed,
    "CaseEscalated": _escalated,
    "HazardDelisted": _delisted,
    "CaseClosed": _closed,
}


def after_case_event(
    changes: BatchChanges,
    row: Row,
    before: Row,
    at: str,
    moment: datetime,
    event_type: str,
    data: dict[str, Any],
) -> None:
    """After any case event (and the case list's ``after_case_event``): settle a deadline that
    stopped being in force once it had fallen due, follow the hazard's rectification deadline,
    and end or start the spell in which the hazard is overdue once that deadline has passed."""
    is_open = row["is_open"]
    old_no, old_deadline = before["deadline_no"], before["deadline"]
    replaced = row["deadline_no"] != old_no
    if (
        old_deadline is not None
        and old_no > row["settled_deadline_no"]
        and (replaced or not is_open)
        and event_type not in _REPLACES_BEFORE_DUE
        and moment >= instant(old_deadline)
    ):
        settle(changes, row, old_no, old_deadline, met=False)
    _follow_rectification_deadline(row, before, event_type, data, moment)
    _watch_overdue(changes, row, before, at, moment, is_open)


def _follow_rectification_deadline(
    row: Row, before: Row, event_type: str, data: dict[str, Any], moment: datetime
) -> None:
    """``rectification_deadline`` and ``rectification_missed`` as the domain's
    ``_follow_rectification_deadline`` keeps them: the deadline in force until the case first
    misses one, then the one it missed."""
    if before["rectification_missed"]:
        return
    deadline = before["rectification_deadline"]
    replaced = row["deadline_no"] != before["deadline_no"]
    missed = False
    if deadline is not None:
        due = instant(deadline)
        if event_type == "DeadlineMissed":
            missed = True
        elif event_type == "VerificationFailed":
            missed = bool(data.get("counts_as_missed")) or moment >= due
        elif event_type == "RectificationReported":
            missed = moment > due
        elif event_type != "ExtensionApproved":
            missed = replaced and moment >= due
    if missed:
        row["rectification_missed"] = True
    elif replaced:
        row["rectification_deadline"] = row["deadline"]


def _held_off(row: Row) -> bool:
    """The hazard is not overdue, whatever the clock says: a rectification reported by its
    deadline awaits verification, or an extension asked for in time awaits its decision."""
    deadline, reported_at = row["rectification_deadline"], row["reported_at"]
    if reported_at is not None and instant(reported_at) <= instant(deadline):
        return True
    return row["extension_requested_deadline"] is not None and not row["rectification_missed"]


def _watch_overdue(
    changes: BatchChanges, row: Row, before: Row, at: str, moment: datetime, is_open: bool
) -> None:
    """The spell since which the hazard has been open with its rectification deadline and
    nothing holding it off (``overdue_watch_since``): overdue at every instant of it from
    that deadline on. A spell that ends is counted in ``overdue_at_end`` of each month end
    it covers from the deadline on; one still running is read by the queries."""
    deadline = row["rectification_deadline"]
    watching = is_open and deadline is not None and not _held_off(row)
    old_deadline = before["rectification_deadline"]
    moved = not same_instant(deadline, old_deadline)
    since = before["overdue_watch_since"]
    if since is not None:
        if watching and not moved:
            return
        if old_deadline is not None:  # always, for a running spell
            overdue_from = max(instant(old_deadline), instant(since))
            for month in month_ends(overdue_from, moment, row["time_zone"]):
                count_month(changes, row["grid_path"], month, "overdue_at_end")
        row["overdue_watch_since"] = at if watching else None
    elif watching:
        row["overdue_watch_since"] = at


# --------------------------------------------------------------------------- credit events
# Each runs after the enterprise's change of the same event (``read_models/enterprises.py``)
# and before the blacklist register's; ``e`` is the enterprise's row.


def _blacklist_change(changes: BatchChanges, e: Row, at: str, change: str) -> None:
    if e["grid_path"]:
        count(changes, e["grid_path"], at, e["time_zone"], f"blacklist_{change}")
    else:
        changes.unplaced[change] += 1


def _counted_as(change: str) -> CreditChange:
    def counted(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
        _blacklist_change(changes, e, data["at"], change)

    counted.__name__ = f"_blacklist_{change}"
    return counted


CREDIT_FIGURE_CHANGES: dict[str, CreditChange] = {
    "ProceedingOpened": _counted_as("proceedings_opened"),
    "BlacklistPublished": _counted_as("listed"),
    "EarlyRemovalApproved": _counted_as("removed_early"),
    "EarlyRemovalRevoked": _counted_as("restored"),
    "BlacklistExpired": _counted_as("expired"),
}
