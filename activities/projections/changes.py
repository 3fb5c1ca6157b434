"""What a batch of events does to the read tables, worked out in memory before one write.

A row is a plain dict keyed by column name. Each handler reads the event's stored data (the
JSON the domain wrote with ``event_to_data``) and changes the row the way the domain's
``evolve`` changes ``CaseState`` / ``CreditState``; the tests fold the same events through the
domain and compare field by field. Going through the domain objects instead would cost
~150 µs per event to decode and ~500 µs per case to (de)serialise the state, a tenth of the
catch-up budget.

The figures of DOMAIN.md "Reports and figures". One set of definitions, used by the statistics
queries and by the reports alike (both read ``activities.projections.queries``):

- ``found``: hazards found (``found_at``) in the period, ``found_major`` of them major.
- ``rectified``: cases written off (销号) in the period, by a passed verification or at once
  (立改立销). 整改率 (rectification rate) = rectified / found, both of the period.
- ``hazards_due``, ``hazards_rectified_on_time`` (到期整改率 = rectified on time / due, the
  rate of the seeds, e.g. Huzhou's 99.83 %): hazards, each counted once, in the period its
  rectification deadline (整改期限) falls in, when its outcome is settled. The hazard's
  deadline is the one in force for the enterprise until the case first misses one: the
  notice's or a listing's, as moved by an approved extension or by the new deadline a failed
  verification sets before it passed (复查不合格, 重新限期整改); the supervision deadlines that
  escalation sets afterwards (督办函) are not the hazard's. On time: written off by it, or
  reported by it and then passed verification (a case closed early counts in its deadline's
  period). A hazard rectified late, escalated first, or whose verification failed after its
  deadline counts due and not on time, once. 立改立销 cases have no deadline and are never
  due. A hazard whose deadline has passed with no outcome yet (its rectification awaits
  verification, its timer has not fired) is counted due and not on time by the queries
  (``due_unsettled``), until it is settled.
- ``deadlines_due``, ``deadlines_met``, ``deadlines_missed``: every deadline that falls due —
  the hazard's and each supervision deadline after it — counted in the period the deadline
  itself falls in, once, when its outcome is settled (the same rules of met and missed; a
  deadline replaced before it falls due, by an extension, also one decided after it but asked
  for in time, or a failed verification before it, never falls due). A case escalated four
  times counts five deadlines and one hazard: this is the workload of the supervision ladder,
  not the 到期整改率. (Reports before migration 0010 carried this count as ``due``.)
- ``overdue`` (逾期): open hazards whose rectification deadline has passed without their being
  rectified by it (the domain's ``CaseState.overdue_since``: escalation does not end it; a
  rectification reported by the deadline and awaiting verification, or an extension asked for
  in time and awaiting its decision, holds it off) at the period's end (or now, for a period
  still running). A spell of being overdue that has ended is counted in ``overdue_at_end`` of
  every month whose end it covers; a spell still running is read from ``case_view``
  (``overdue_watch_since`` and ``rectification_deadline``).
- escalations by the grid level escalated to, listings and de-listings by listing level,
  enforcement referrals and withdrawals: in the period of the event.
- blacklist changes (proceedings opened, listed, removed early, restored, expired): in the
  period of the event, on the grid path of the enterprise: the reference data's
  (``EnterpriseRegistered`` and its unit's ancestors from ``GridUnitRegistered``), replaced
  by the path of each case registered for it. An enterprise with neither counts nowhere
  (and is logged as such).

Every unit on a case's grid path gets the counts, so a unit's figures cover its subtree.
Months are those of the case's time zone (the policy's, recorded at registration).

A malformed event (a field missing or of the wrong type) is skipped and counted like an
unknown one, and changes nothing: the rows it touched and its counts are rolled back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Row = dict[str, Any]

CASE_COLUMNS: tuple[str, ...] = (
    "hazard_id",
    "stream_id",
    "credit_code",
    "enterprise_name",
    "industry",
    "grid_code",
    "grid_path",
    "supervising_unit_code",
    "supervising_level",
    "supervising_person",
    "status",
    "is_open",
    "hazard_class",
    "checklist_clause",
    "category",
    "source",
    "mode",
    "description",
    "location",
    "time_zone",
    "listing_no",
    "listed_level",
    "listing_authority_code",
    "listed_at",
    "listings",
    "deadline",
    "deadline_no",
    "deadline_set_at",
    "reported_at",
    "review_by",
    "reports",
    "plan_submitted",
    "extension_requested_deadline",
    "extensions_granted",
    "verifications_failed",
    "deadlines_missed",
    "escalation_index",
    "refused",
    "referred",
    "registered_at",
    "found_at",
    "closed_at",
    "close_basis",
    "withdrawn_at",
    "rectified_on_time",
    "rectification_deadline",
    "rectification_missed",
    "settled_deadline_no",
    "overdue_watch_since",
    "version",
    "last_position",
)
# The projector's own bookkeeping for the figures: kept out of the case list's items.
CASE_BOOKKEEPING: frozenset[str] = frozenset({"settled_deadline_no", "overdue_watch_since"})
CASE_LIST_COLUMNS: tuple[str, ...] = tuple(c for c in CASE_COLUMNS if c not in CASE_BOOKKEEPING)

ENTERPRISE_COLUMNS: tuple[str, ...] = (
    "credit_code",
    "enterprise_name",
    "industry",
    "grid_code",
    "grid_path",
    "time_zone",
    "cases_registered",
    "credit_opened_at",
    "credit_entries",
    "rating",
    "rating_points",
    "open_proceeding_no",
    "objection_until",
    "last_proceeding_trigger",
    "last_decided_by",
    "last_decision_basis",
    "proceedings",
    "blacklisted",
    "blacklist_proceeding_no",
    "blacklisted_since",
    "blacklisted_until",
    "early_removal_from",
    "last_listing_ended_at",
    "last_position",
)

REGISTER_COLUMNS: tuple[str, ...] = (
    "proceeding_no",
    "credit_code",
    "enterprise_name",
    "grid_path",
    "status",
    "trigger",
    "decided_by",
    "basis",
    "listed_at",
    "expires_at",
    "early_removal_from",
    "removed_early_at",
    "removal_revoked_at",
    "expired_at",
    "last_position",
)

ESCALATION_LEVELS: tuple[str, ...] = ("township", "county", "city", "province")
LISTING_LEVELS: tuple[str, ...] = ("county", "city", "province")
BLACKLIST_CHANGES: tuple[str, ...] = (
    "proceedings_opened",
    "listed",
    "removed_early",
    "restored",
    "expired",
)

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
)
_METRIC = {name: i for i, name in enumerate(METRICS)}

GRID_UNIT_COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent_code", "responsible_person")

CASE_STREAM_PREFIX = "case-"
CREDIT_STREAM_PREFIX = "credit-"
GRID_STREAM_PREFIX = "grid-"
ENTERPRISE_STREAM_PREFIX = "enterprise-"
DEFAULT_TIME_ZONE = "Asia/Shanghai"

_LEVEL_RANK = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
_ZONES: dict[str, ZoneInfo] = {}
# What a handler may raise on an event whose data lacks a field or has one of the wrong shape.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _zone(name: str | None) -> ZoneInfo:
    key = name or DEFAULT_TIME_ZONE
    zone = _ZONES.get(key)
    if zone is None:
        zone = _ZONES[key] = ZoneInfo(key)
    return zone


def instant(value: str | datetime) -> datetime:
    """A stored instant: ISO text in an event's data, a datetime in a row loaded back."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def month_of(moment: str | datetime, time_zone: str | None) -> date:
    """The first day of the month ``moment`` falls in, on the wall clock of ``time_zone``."""
    local = instant(moment).astimezone(_zone(time_zone))
    return date(local.year, local.month, 1)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_ends(start: datetime, end: datetime, time_zone: str | None) -> list[date]:
    """The months whose end T (local midnight starting the next month) has ``start <= T <
    end``: the month ends an overdue spell [start, end) covers."""
    zone = _zone(time_zone)
    local = start.astimezone(zone)
    month = date(local.year, local.month, 1)
    at_midnight_of_first = local == datetime(month.year, month.month, 1, tzinfo=zone)
    boundary = month if at_midnight_of_first else _next_month(month)
    months: list[date] = []
    while datetime(boundary.year, boundary.month, 1, tzinfo=zone) < end:
        months.append(_previous_month(boundary))
        boundary = _next_month(boundary)
    return months


def _previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def case_status(row: Row) -> str:
    """``CaseState.status``, from the row's columns (same order of precedence)."""
    if row["closed_at"] is not None:
        return "closed"
    if row["withdrawn_at"] is not None:
        return "withdrawn"
    if row["reported_at"] is not None:
        return "reported"
    if row["referred"]:
        return "referred"
    if row["escalation_index"] > 0:
        return "escalated"
    return "rectifying"


# An extension asked for in time and decided after the deadline: the deadline never fell due
# (edition 2 policies hold its timer while the request awaits its decision).
_REPLACES_BEFORE_DUE = frozenset({"ExtensionApproved"})


class BatchChanges:
    """The rows one batch touches, loaded once, changed in memory, written once."""

    def __init__(
        self,
        cases: dict[str, Row],
        enterprises: dict[str, Row],
        register: dict[str, Row],
        grid_parents: dict[str, str | None] | None = None,
    ) -> None:
        self.cases = cases
        self.enterprises = enterprises
        self.register = register
        # code -> parent code of every grid unit this batch may need to walk up from.
        self.grid_parents: dict[str, str | None] = dict(grid_parents or {})
        self.dirty_cases: set[str] = set()
        self.dirty_enterprises: set[str] = set()
        self.dirty_register: set[str] = set()
        self.statistics: dict[tuple[str, date], list[int]] = {}
        self.grid_units: dict[str, tuple[str, str, str, str | None, str]] = {}
        self.applied = 0
        self.skipped: Counter[str] = Counter()
        self.orphans: Counter[str] = Counter()
        self.malformed: list[tuple[int, str, str]] = []  # (position, event type, error)
        # Blacklist changes of an enterprise with no grid unit known: counted nowhere.
        self.unplaced: Counter[str] = Counter()
        # Events of streams these read models do not cover (reports, exported histories):
        # expected, so counted without a warning.
        self.ignored: Counter[str] = Counter()
        # The counts of the event being applied, taken back if it turns out malformed.
        self._undo: list[tuple[list[int], int]] = []

    # ------------------------------------------------------------------ dispatch

    def apply(
        self,
        position: int,
        stream_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> bool:
        """Apply one event; False (and counted) when it is not one the read models know."""
        self._undo.clear()
        try:
            applied = self._dispatch(position, stream_id, event_type, schema_version, data)
        except MALFORMED as exc:
            for deltas, index in self._undo:
                deltas[index] -= 1
            self.malformed.append((position, event_type, f"{type(exc).__name__}: {exc}"))
            self.skipped[event_type] += 1
            return False
        if applied:
            self.applied += 1
        return applied

    def _dispatch(
        self,
        position: int,
        stream_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> bool:
        if stream_id.startswith(CASE_STREAM_PREFIX):
            return self._case_event(position, stream_id, event_type, schema_version, data)
        if stream_id.startswith(CREDIT_STREAM_PREFIX):
            return self._credit_event(position, stream_id, event_type, schema_version, data)
        if event_type == "GridUnitRegistered" and stream_id.startswith(GRID_STREAM_PREFIX):
            return self._known(event_type, schema_version) and self._grid_unit(data)
        if event_type == "EnterpriseRegistered" and stream_id.startswith(ENTERPRISE_STREAM_PREFIX):
            return self._known(event_type, schema_version) and self._enterprise(position, data)
        self.ignored[event_type] += 1
        return False

    def _known(self, event_type: str, schema_version: int) -> bool:
        if schema_version == 1:
            return True
        self.skipped[event_type] += 1
        return False

    def _case_event(
        self,
        position: int,
        stream_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> bool:
        hazard_id = stream_id[len(CASE_STREAM_PREFIX) :]
        if event_type == "HazardRegistered" and schema_version == 1:
            if hazard_id in self.cases:
                # evolve refuses a second registration; so does the read side.
                self.orphans[event_type] += 1
                self.skipped[event_type] += 1
                return False
            self._register_case(hazard_id, stream_id, position, data)
            return True
        handler = _CASE_HANDLERS.get(event_type)
        if handler is None or schema_version != 1:
            self.skipped[event_type] += 1
            return False
        row = self.cases.get(hazard_id)
        if row is None:
            # A case event with no registration before it: nothing to attach it to.
            self.orphans[event_type] += 1
            self.skipped[event_type] += 1
            return False
        before = dict(row)
        try:
            at = data["at"]
            moment = instant(at)
            handler(self, row, data)
            self._deadline_bookkeeping(row, before, at, moment, event_type, data)
        except MALFORMED:
            row.clear()
            row.update(before)
            raise
        row["version"] += 1
        row["last_position"] = position
        self.dirty_cases.add(hazard_id)
        return True

    def _credit_event(
        self,
        position: int,
        stream_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> bool:
        credit_handler = _CREDIT_HANDLERS.get(event_type)
        if credit_handler is None or schema_version != 1:
            self.skipped[event_type] += 1
            return False
        code = stream_id[len(CREDIT_STREAM_PREFIX) :]
        enterprise = self.enterprises.get(code)
        created = enterprise is None
        if enterprise is None:
            if event_type != "CreditRecordOpened":
                self.orphans[event_type] += 1
                self.skipped[event_type] += 1
                return False
            enterprise = _new_enterprise(code, data["enterprise_name"], position)
        before = dict(enterprise)
        try:
            credit_handler(self, enterprise, position, data)
        except MALFORMED:
            enterprise.clear()
            enterprise.update(before)
            raise
        if created:
            self.enterprises[code] = enterprise
        enterprise["last_position"] = position
        self.dirty_enterprises.add(code)
        return True

    # ------------------------------------------------------------------ counting

    def count(
        self, units: list[str] | None, moment: str | datetime, time_zone: str | None, metric: str
    ) -> None:
        if units:
            self.count_month(units, month_of(moment, time_zone), metric)

    def count_month(self, units: list[str], period: date, metric: str) -> None:
        index = _METRIC[metric]
        statistics = self.statistics
        undo = self._undo
        for unit in units:
            key = (unit, period)
            deltas = statistics.get(key)
            if deltas is None:
                deltas = statistics[key] = [0] * len(METRICS)
            deltas[index] += 1
            undo.append((deltas, index))

    def settle(self, row: Row, number: int, deadline: str | datetime, met: bool) -> None:
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
        self.count_month(units, period, "deadlines_due")
        self.count_month(units, period, "deadlines_met" if met else "deadlines_missed")
        if hazards_deadline:
            self.count_month(units, period, "hazards_due")
            if met:
                self.count_month(units, period, "hazards_rectified_on_time")
            row["rectified_on_time"] = met

    def _deadline_bookkeeping(
        self,
        row: Row,
        before: Row,
        at: str,
        moment: datetime,
        event_type: str,
        data: dict[str, Any],
    ) -> None:
        """After any case event: settle a deadline that stopped being in force once it had
        fallen due, follow the hazard's rectification deadline, and end or start the spell
        in which the hazard is overdue once that deadline has passed."""
        row["status"] = case_status(row)
        is_open = row["closed_at"] is None and row["withdrawn_at"] is None
        row["is_open"] = is_open
        old_no, old_deadline = before["deadline_no"], before["deadline"]
        replaced = row["deadline_no"] != old_no
        if (
            old_deadline is not None
            and old_no > row["settled_deadline_no"]
            and (replaced or not is_open)
            and event_type not in _REPLACES_BEFORE_DUE
            and moment >= instant(old_deadline)
        ):
            self.settle(row, old_no, old_deadline, met=False)
        _follow_rectification_deadline(row, before, event_type, data, moment)
        self._watch_overdue(row, before, at, moment, is_open)

    def _watch_overdue(
        self, row: Row, before: Row, at: str, moment: datetime, is_open: bool
    ) -> None:
        """The spell since which the hazard has been open with its rectification deadline and
        nothing holding it off (``overdue_watch_since``): overdue at every instant of it from
        that deadline on. A spell that ends is counted in ``overdue_at_end`` of each month end
        it covers from the deadline on; one still running is read by the queries."""
        deadline = row["rectification_deadline"]
        watching = is_open and deadline is not None and not _held_off(row)
        old_deadline = before["rectification_deadline"]
        moved = not _same_instant(deadline, old_deadline)
        since = before["overdue_watch_since"]
        if since is not None:
            if watching and not moved:
                return
            if old_deadline is not None:  # always, for a running spell
                overdue_from = max(instant(old_deadline), instant(since))
                for month in month_ends(overdue_from, moment, row["time_zone"]):
                    self.count_month(row["grid_path"], month, "overdue_at_end")
            row["overdue_watch_since"] = at if watching else None
        elif watching:
            row["overdue_watch_since"] = at

    # ------------------------------------------------------------------ grid and enterprises

    def grid_path_of(self, code: str) -> list[str] | None:
        """The unit and its ancestors, lowest first, from the grid units the read side knows;
        None when the unit itself is unknown."""
        if code not in self.grid_parents:
            return None
        path = [code]
        parent = self.grid_parents.get(code)
        while parent is not None and parent not in path:
            path.append(parent)
            parent = self.grid_parents.get(parent)
        return path

    def _note_unit(self, unit: dict[str, Any]) -> None:
        code = unit["code"]
        self.grid_units[code] = (
            code,
            unit["name"],
            unit["level"],
            unit["parent_code"],
            unit["responsible_person"],
        )
        self.grid_parents[code] = unit["parent_code"]

    def _grid_unit(self, data: dict[str, Any]) -> bool:
        unit = {name: data[name] for name in GRID_UNIT_COLUMNS}
        self._note_unit(unit)
        return True

    def _enterprise(self, position: int, data: dict[str, Any]) -> bool:
        code, name = data["credit_code"], data["name"]
        industry, grid_code = data["industry"], data["grid_code"]
        path = self.grid_path_of(grid_code)
        enterprise = self.enterprises.get(code)
        if enterprise is None:
            enterprise = self.enterprises[code] = _new_enterprise(code, name, position)
        enterprise["industry"] = industry
        enterprise["grid_code"] = grid_code
        if path is not None:
            enterprise["grid_path"] = path
        enterprise["last_position"] = position
        self.dirty_enterprises.add(code)
        return True

    # ------------------------------------------------------------------ case events

    def _register_case(
        self, hazard_id: str, stream_id: str, position: int, data: dict[str, Any]
    ) -> None:
        path = data["grid_path"]
        lowest = path[0]
        codes = [unit["code"] for unit in path]
        at, found_at, time_zone = data["at"], data["found_at"], data["time_zone"]
        instant(at)  # refuse malformed instants and zones before anything changes
        month_of(found_at, time_zone)
        code = data["credit_code"]
        row: Row = {
            "hazard_id": hazard_id,
            "stream_id": stream_id,
            "credit_code": code,
            "enterprise_name": data["enterprise_name"],
            "industry": data["industry"],
            "grid_code": lowest["code"],
            "grid_path": codes,
            "supervising_unit_code": lowest["code"],
            "supervising_level": lowest["level"],
            "supervising_person": lowest["responsible_person"],
            "status": "rectifying",
            "is_open": True,
            "hazard_class": data["hazard_class"],
            "checklist_clause": data["checklist_clause"],
            "category": data["category"],
            "source": data["source"],
            "mode": data["mode"],
            "description": data["description"],
            "location": data["location"],
            "time_zone": time_zone,
            "listing_no": None,
            "listed_level": None,
            "listing_authority_code": None,
            "listed_at": None,
            "listings": [],
            "deadline": None,
            "deadline_no": 0,
            "deadline_set_at": None,
            "reported_at": None,
            "review_by": None,
            "reports": 0,
            "plan_submitted": False,
            "extension_requested_deadline": None,
            "extensions_granted": 0,
            "verifications_failed": 0,
            "deadlines_missed": 0,
            "escalation_index": 0,
            "refused": False,
            "referred": False,
            "registered_at": at,
            "found_at": found_at,
            "closed_at": None,
            "close_basis": None,
            "withdrawn_at": None,
            "rectified_on_time": None,
            "rectification_deadline": None,
            "rectification_missed": False,
            "settled_deadline_no": 0,
            "overdue_watch_since": None,
            "version": 1,
            "last_position": position,
        }
        units = [
            {name: unit[name] for name in GRID_UNIT_COLUMNS} for unit in path
        ]  # every field read before anything changes
        self.cases[hazard_id] = row
        self.dirty_cases.add(hazard_id)
        for unit in units:
            self._note_unit(unit)
        self.count(codes, found_at, time_zone, "found")
        if data["hazard_class"] == "major":
            self.count(codes, found_at, time_zone, "found_major")
        enterprise = self.enterprises.get(code)
        if enterprise is None:
            enterprise = self.enterprises[code] = _new_enterprise(
                code, data["enterprise_name"], position
            )
        enterprise["industry"] = data["industry"]
        enterprise["grid_code"] = lowest["code"]
        enterprise["grid_path"] = codes
        enterprise["time_zone"] = time_zone
        enterprise["cases_registered"] += 1
        enterprise["last_position"] = position
        self.dirty_enterprises.add(code)


def _set_deadline(row: Row, deadline: str, number: int, at: str) -> None:
    instant(deadline)  # a malformed deadline is refused before it is stored
    row["deadline"] = deadline
    row["deadline_no"] = number
    row["deadline_set_at"] = at
    if row["listing_no"] is not None:
        # The listing in force shows the deadline in force: the notice that follows a listing
        # made at registration sets it, an approved extension or an escalation moves it.
        _change_listing(row, row["listing_no"], {"deadline": _utc(deadline)})


def _same_instant(a: str | datetime | None, b: str | datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return instant(a) == instant(b)


def _held_off(row: Row) -> bool:
    """The hazard is not overdue, whatever the clock says: a rectification reported by its
    deadline awaits verification, or an extension asked for in time awaits its decision."""
    deadline, reported_at = row["rectification_deadline"], row["reported_at"]
    if reported_at is not None and instant(reported_at) <= instant(deadline):
        return True
    return row["extension_requested_deadline"] is not None and not row["rectification_missed"]


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


def _notice_issued(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    _set_deadline(row, data["deadline"], data["deadline_no"], data["at"])


def _listed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level, at = data["level"], data["at"]
    deadline, number = data["deadline"], data["deadline_no"]
    authority, person = data["authority_unit_code"], data["authority_person"]
    row["listing_no"] = data["listing_no"]
    row["listed_level"] = level
    row["listing_authority_code"] = authority
    row["listed_at"] = at
    # ListingLevel.grid_level is the grid level of the same name.
    if _LEVEL_RANK[level] < _LEVEL_RANK[row["supervising_level"]]:
        row["supervising_unit_code"] = authority
        row["supervising_level"] = level
        row["supervising_person"] = person
    if deadline is not None and number is not None:
        _set_deadline(row, deadline, number, at)
    if level in LISTING_LEVELS:
        changes.count(row["grid_path"], at, row["time_zone"], f"listed_{level}")
    _enter_listing(row, data)


# The public register of listed hazards (挂牌督办公示) keeps every listing of a case, in
# ``listings``: also the ones de-listed (摘牌) or replaced by a higher listing (提级挂牌), which
# the ``listing_no``… columns forget. Instants are stored as UTC ISO text, so the JSON is the
# same whether its values came from an event or from a row read back (a rebuild compares it).
LISTING_ENTRY_FIELDS: tuple[str, ...] = (
    "listing_no",
    "level",
    "authority_unit_code",
    "authority_name",
    "status",  # listed, delisted, superseded
    "listed_at",
    "publish_by",
    "published_at",
    "deadline",
    "supersedes",
    "superseded_by",
    "superseded_at",
    "delisted_at",
    "delist_basis",
    "delisting_publish_by",
    "delisting_published_at",
)


def _utc(value: str | datetime) -> str:
    return instant(value).astimezone(UTC).isoformat()


def _enter_listing(row: Row, data: dict[str, Any]) -> None:
    """A new entry for HazardListed (after ``_listed`` set the deadline it runs with); the
    listing it replaces, if any, is marked superseded. The list is copied, never changed in
    place: a malformed event restores the row's previous value."""
    at, supersedes = _utc(data["at"]), data.get("supersedes")
    publish_by, deadline = data.get("publish_by"), row["deadline"]
    entries = [
        {**entry, "status": "superseded", "superseded_by": data["listing_no"], "superseded_at": at}
        if supersedes is not None and entry["listing_no"] == supersedes
        else entry
        for entry in row["listings"] or []
    ]
    entry = dict.fromkeys(LISTING_ENTRY_FIELDS)
    entry.update(
        listing_no=data["listing_no"],
        level=data["level"],
        authority_unit_code=data["authority_unit_code"],
        authority_name=data.get("authority_name"),
        status="listed",
        listed_at=at,
        publish_by=_utc(publish_by) if publish_by is not None else None,
        deadline=_utc(deadline) if deadline is not None else None,
        supersedes=supersedes,
    )
    row["listings"] = [*entries, entry]


def _change_listing(row: Row, listing_no: str, values: dict[str, Any]) -> None:
    row["listings"] = [
        {**entry, **values} if entry["listing_no"] == listing_no else entry
        for entry in row["listings"] or []
    ]


def _plan_submitted(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["plan_submitted"] = True


def _reported(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    at, review_by = data["at"], data["review_by"]
    row["reports"] += 1
    row["reported_at"] = at
    row["review_by"] = review_by
    row["extension_requested_deadline"] = None


def _verification_passed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    deadline, reported_at = row["deadline"], row["reported_at"]
    if deadline is not None:
        # Reported by the deadline and now passed: met, even if verified after it.
        met = reported_at is not None and instant(reported_at) <= instant(deadline)
        changes.settle(row, row["deadline_no"], deadline, met)
    row["reported_at"] = None
    row["review_by"] = None


def _verification_failed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    deadline, number, at = data["deadline"], data["deadline_no"], data["at"]
    row["reported_at"] = None
    row["review_by"] = None
    row["verifications_failed"] += 1
    _set_deadline(row, deadline, number, at)


def _extension_requested(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = data["requested_deadline"]


def _extension_approved(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    deadline, number, at = data["deadline"], data["deadline_no"], data["at"]
    row["extension_requested_deadline"] = None
    row["extensions_granted"] += 1
    _set_deadline(row, deadline, number, at)


def _extension_rejected(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = None


def _refusal(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["refused"] = True


def _referred(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["referred"] = True
    changes.count(row["grid_path"], data["at"], row["time_zone"], "referred")


def _withdrawn(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    at = data["at"]
    row["withdrawn_at"] = at
    row["extension_requested_deadline"] = None
    changes.count(row["grid_path"], at, row["time_zone"], "withdrawn")


def _timer_fired(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """ReminderDue, ReminderLapsed, VerificationOverdue, ExtensionDecisionOverdue: only the
    version moves (the fired key is kept in the case's own state, which the read side does not
    need)."""


def _notice_awaiting_calendar(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """NoticeAwaitingCalendar: the case is listed with no deadline yet (its notice waits for a
    year's holidays); the deadline comes with the RectificationNoticeIssued that follows."""


def _published(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """ListingPublished (挂牌/摘牌公告): the listing itself was counted when it was made; the
    public register of listed hazards notes when it was published."""
    published_at = "published_at" if data["kind"] == "listing" else "delisting_published_at"
    _change_listing(row, data["listing_no"], {published_at: _utc(data["at"])})


def _deadline_missed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    # The event names its deadline: it may come after a failed verification moved the case on.
    deadline, number = data["deadline"], data["deadline_no"]
    instant(deadline)
    row["extension_requested_deadline"] = None
    row["deadlines_missed"] += 1
    changes.settle(row, number, deadline, met=False)


def _escalated(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level, at = data["grid_level"], data["at"]
    deadline, number = data["deadline"], data["deadline_no"]
    unit, person, index = data["unit_code"], data["responsible_person"], data["escalation_index"]
    row["escalation_index"] = max(row["escalation_index"], index)
    row["supervising_unit_code"] = unit
    row["supervising_level"] = level
    row["supervising_person"] = person
    _set_deadline(row, deadline, number, at)
    if level in ESCALATION_LEVELS:
        changes.count(row["grid_path"], at, row["time_zone"], f"escalations_{level}")


def _delisted(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level, at = data["level"], data["at"]
    row["listing_no"] = None
    row["listed_level"] = None
    row["listing_authority_code"] = None
    row["listed_at"] = None
    if level in LISTING_LEVELS:
        changes.count(row["grid_path"], at, row["time_zone"], f"delisted_{level}")
    publish_by = data.get("publish_by")
    _change_listing(
        row,
        data["listing_no"],
        {
            "status": "delisted",
            "delisted_at": _utc(at),
            "delist_basis": data.get("basis"),
            "delisting_publish_by": _utc(publish_by) if publish_by is not None else None,
        },
    )


def _credit_trigger(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """Forwarded to the enterprise's credit stream, which the enterprise view follows."""


def _closed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    at, basis = data["at"], data["basis"]
    deadline = row["deadline"]
    if deadline is not None:
        # Usually settled by the passed verification just before; else: closed by it or not.
        changes.settle(row, row["deadline_no"], deadline, instant(at) <= instant(deadline))
    row["closed_at"] = at
    row["close_basis"] = basis
    row["extension_requested_deadline"] = None
    if row["rectified_on_time"] is None:  # no deadline was ever set (立改立销): rectified at once
        row["rectified_on_time"] = True
    changes.count(row["grid_path"], at, row["time_zone"], "rectified")


CaseHandler = Callable[[BatchChanges, Row, dict[str, Any]], None]

_CASE_HANDLERS: dict[str, CaseHandler] = {
    "RectificationNoticeIssued": _notice_issued,
    "HazardListed": _listed,
    "GovernancePlanSubmitted": _plan_submitted,
    "RectificationReported": _reported,
    "VerificationPassed": _verification_passed,
    "VerificationFailed": _verification_failed,
    "ExtensionRequested": _extension_requested,
    "ExtensionApproved": _extension_approved,
    "ExtensionRejected": _extension_rejected,
    "RefusalRecorded": _refusal,
    "EnforcementReferred": _referred,
    "CaseWithdrawn": _withdrawn,
    "ReminderDue": _timer_fired,
    "ReminderLapsed": _timer_fired,
    "DeadlineMissed": _deadline_missed,
    "VerificationOverdue": _timer_fired,
    "CaseEscalated": _escalated,
    "HazardDelisted": _delisted,
    "CreditTriggerRaised": _credit_trigger,
    "CaseClosed": _closed,
    "ExtensionDecisionOverdue": _timer_fired,
    "ListingPublished": _published,
    "NoticeAwaitingCalendar": _notice_awaiting_calendar,
}

# ---------------------------------------------------------------------- credit events


def _new_enterprise(code: str, name: str, position: int) -> Row:
    return {
        "credit_code": code,
        "enterprise_name": name,
        "industry": None,
        "grid_code": None,
        "grid_path": None,
        "time_zone": None,
        "cases_registered": 0,
        "credit_opened_at": None,
        "credit_entries": [],
        "rating": None,
        "rating_points": None,
        "open_proceeding_no": None,
        "objection_until": None,
        "last_proceeding_trigger": None,
        "last_decided_by": None,
        "last_decision_basis": None,
        "proceedings": 0,
        "blacklisted": False,
        "blacklist_proceeding_no": None,
        "blacklisted_since": None,
        "blacklisted_until": None,
        "early_removal_from": None,
        "last_listing_ended_at": None,
        "last_position": position,
    }


def _blacklist_change(changes: BatchChanges, e: Row, at: str, change: str) -> None:
    if e["grid_path"]:
        changes.count(e["grid_path"], at, e["time_zone"], f"blacklist_{change}")
    else:
        changes.unplaced[change] += 1


def _record_opened(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    e["credit_opened_at"] = data["at"]


def _credit_event_recorded(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    e["credit_entries"] = [
        *e["credit_entries"],
        [data["case_id"], data["kind"], data["occurred_at"]],
    ]


def _proceeding_opened(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    number, trigger, at = data["proceeding_no"], data["trigger"], data["at"]
    e["open_proceeding_no"] = number
    e["objection_until"] = None
    e["last_proceeding_trigger"] = trigger
    e["proceedings"] += 1
    _blacklist_change(changes, e, at, "proceedings_opened")


def _proceeding_notice(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    e["objection_until"] = data["objection_until"]


def _credit_no_change(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    """ObjectionFiled, ObjectionWindowClosed, EarlyRemovalApplied/Rejected: nothing the read
    side shows changes (the credit workflow's own state keeps them)."""


def _listing_decided(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    decided_by, basis = data["decided_by"], data["basis"]
    e["open_proceeding_no"] = None
    e["objection_until"] = None
    e["last_decided_by"] = decided_by
    e["last_decision_basis"] = basis


def _blacklist_published(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    number, at = data["proceeding_no"], data["at"]
    expires_at, early_from = data["expires_at"], data["early_removal_from"]
    e["blacklisted"] = True
    e["blacklist_proceeding_no"] = number
    e["blacklisted_since"] = at
    e["blacklisted_until"] = expires_at
    e["early_removal_from"] = early_from
    _blacklist_change(changes, e, at, "listed")
    changes.register[number] = {
        "proceeding_no": number,
        "credit_code": e["credit_code"],
        "enterprise_name": e["enterprise_name"],
        "grid_path": e["grid_path"],
        "status": "listed",
        "trigger": e["last_proceeding_trigger"],
        "decided_by": e["last_decided_by"],
        "basis": e["last_decision_basis"],
        "listed_at": at,
        "expires_at": expires_at,
        "early_removal_from": early_from,
        "removed_early_at": None,
        "removal_revoked_at": None,
        "expired_at": None,
        "last_position": position,
    }
    changes.dirty_register.add(number)


def _register_entry(changes: BatchChanges, number: str | None, position: int) -> Row | None:
    entry = changes.register.get(number) if number is not None else None
    if entry is not None and number is not None:
        entry["last_position"] = position
        changes.dirty_register.add(number)
    return entry


def _early_removal_approved(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    at = data["at"]
    e["blacklisted"] = False
    e["last_listing_ended_at"] = at
    _blacklist_change(changes, e, at, "removed_early")
    entry = _register_entry(changes, e["blacklist_proceeding_no"], position)
    if entry is not None:
        entry["status"] = "removed_early"
        entry["removed_early_at"] = at


def _early_removal_revoked(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    at, expires_at = data["at"], data["expires_at"]
    e["blacklisted"] = True
    e["blacklisted_until"] = expires_at
    _blacklist_change(changes, e, at, "restored")
    entry = _register_entry(changes, e["blacklist_proceeding_no"], position)
    if entry is not None:
        entry["status"] = "listed"
        entry["removal_revoked_at"] = at
        entry["expires_at"] = expires_at


def _blacklist_expired(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    at, number = data["at"], data["proceeding_no"]
    e["blacklisted"] = False
    e["blacklist_proceeding_no"] = None
    e["blacklisted_since"] = None
    e["blacklisted_until"] = None
    e["early_removal_from"] = None
    e["last_listing_ended_at"] = at
    _blacklist_change(changes, e, at, "expired")
    entry = _register_entry(changes, number, position)
    if entry is not None:
        entry["status"] = "expired"
        entry["expired_at"] = at


def _rating_changed(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    rating, points = data["new"], data["points"]
    e["rating"] = rating
    e["rating_points"] = points


CreditHandler = Callable[[BatchChanges, Row, int, dict[str, Any]], None]

_CREDIT_HANDLERS: dict[str, CreditHandler] = {
    "CreditRecordOpened": _record_opened,
    "CreditEventRecorded": _credit_event_recorded,
    "ProceedingOpened": _proceeding_opened,
    "ProceedingNoticeIssued": _proceeding_notice,
    "ObjectionFiled": _credit_no_change,
    "ObjectionWindowClosed": _credit_no_change,
    "ListingDecided": _listing_decided,
    "BlacklistPublished": _blacklist_published,
    "EarlyRemovalApplied": _credit_no_change,
    "EarlyRemovalApproved": _early_removal_approved,
    "EarlyRemovalRejected": _credit_no_change,
    "EarlyRemovalRevoked": _early_removal_revoked,
    "BlacklistExpired": _blacklist_expired,
    "RatingChanged": _rating_changed,
}

KNOWN_CASE_EVENTS = frozenset({"HazardRegistered", *_CASE_HANDLERS})
KNOWN_CREDIT_EVENTS = frozenset(_CREDIT_HANDLERS)
