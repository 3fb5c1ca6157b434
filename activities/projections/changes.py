"""What a batch of events does to the read tables, worked out in memory before one write.

A row is a plain dict keyed by column name. Each handler reads the event's stored data (the
JSON the domain wrote with ``event_to_data``) and changes the row the way the domain's
``evolve`` changes ``CaseState`` / ``CreditState``; the tests fold the same events through the
domain and compare field by field. Going through the domain objects instead would cost
~150 µs per event to decode and ~500 µs per case to (de)serialise the state, a tenth of the
catch-up budget.

Statistics (per grid unit × month, for every unit on the case's grid path) count:

- ``found``/``found_major``: hazards registered; ``rectified``: cases closed (销号), 立改立销
  included; ``withdrawn``, ``listed``, ``delisted``, ``referred``, escalations per grid level,
  ``deadlines_missed``: each missed deadline (逾期), in the month it was missed.
- 到期整改率 = ``rectified_on_time`` / ``due``. A case comes due once: in the month it closes
  without ever having missed a deadline (it counts as due *and* rectified on time), or in the
  month of its first missed deadline (due, not on time). Open cases whose deadline has not
  come yet are not due. The rate is thus never above 1 and never changes for a past month.
- Blacklist changes of an enterprise are counted on the grid path of its latest case (an
  enterprise with no case yet has no grid unit to count them on).

Months are those of the case's time zone (the policy's, recorded at registration).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from psycopg2.extras import Json

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
    "version",
    "last_position",
)

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

METRICS: tuple[str, ...] = (
    "found",
    "found_major",
    "rectified",
    "rectified_on_time",
    "due",
    "deadlines_missed",
    "escalations_township",
    "escalations_county",
    "escalations_city",
    "escalations_province",
    "listed",
    "delisted",
    "referred",
    "withdrawn",
    "blacklist_listed",
    "blacklist_expired",
    "blacklist_removed_early",
    "blacklist_restored",
)
_METRIC = {name: i for i, name in enumerate(METRICS)}

GRID_UNIT_COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent_code", "responsible_person")

CASE_STREAM_PREFIX = "case-"
CREDIT_STREAM_PREFIX = "credit-"
DEFAULT_TIME_ZONE = "Asia/Shanghai"

_LEVEL_RANK = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str | None) -> ZoneInfo:
    key = name or DEFAULT_TIME_ZONE
    zone = _ZONES.get(key)
    if zone is None:
        zone = _ZONES[key] = ZoneInfo(key)
    return zone


def month_of(instant: str | datetime, time_zone: str | None) -> date:
    """The first day of the month ``instant`` falls in, on the wall clock of ``time_zone``."""
    moment = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    local = moment.astimezone(_zone(time_zone))
    return date(local.year, local.month, 1)


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


class BatchChanges:
    """The rows one batch touches, loaded once, changed in memory, written once."""

    def __init__(
        self,
        cases: dict[str, Row],
        enterprises: dict[str, Row],
        register: dict[str, Row],
    ) -> None:
        self.cases = cases
        self.enterprises = enterprises
        self.register = register
        self.dirty_cases: set[str] = set()
        self.dirty_enterprises: set[str] = set()
        self.dirty_register: set[str] = set()
        self.statistics: dict[tuple[str, date], list[int]] = {}
        self.grid_units: dict[str, tuple[str, str, str, str | None, str]] = {}
        self.applied = 0
        self.skipped: Counter[str] = Counter()
        self.orphans: Counter[str] = Counter()
        # Events of streams these read models do not cover (grid and enterprise reference
        # data, reports, exported histories): expected, so counted without a warning.
        self.ignored: Counter[str] = Counter()

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
        if stream_id.startswith(CASE_STREAM_PREFIX):
            hazard_id = stream_id[len(CASE_STREAM_PREFIX) :]
            if event_type == "HazardRegistered" and schema_version == 1:
                if hazard_id in self.cases:
                    # evolve refuses a second registration; so does the read side.
                    self.orphans[event_type] += 1
                    self.skipped[event_type] += 1
                    return False
                self._register_case(hazard_id, stream_id, position, data)
                self.applied += 1
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
            handler(self, row, data)
            row["version"] += 1
            row["last_position"] = position
            row["status"] = case_status(row)
            row["is_open"] = row["closed_at"] is None and row["withdrawn_at"] is None
            self.dirty_cases.add(hazard_id)
            self.applied += 1
            return True
        if stream_id.startswith(CREDIT_STREAM_PREFIX):
            credit_handler = _CREDIT_HANDLERS.get(event_type)
            if credit_handler is None or schema_version != 1:
                self.skipped[event_type] += 1
                return False
            code = stream_id[len(CREDIT_STREAM_PREFIX) :]
            enterprise = self.enterprises.get(code)
            if enterprise is None:
                if event_type != "CreditRecordOpened":
                    self.orphans[event_type] += 1
                    self.skipped[event_type] += 1
                    return False
                enterprise = self.enterprises[code] = _new_enterprise(
                    code, data["enterprise_name"], position
                )
            credit_handler(self, enterprise, position, data)
            enterprise["last_position"] = position
            self.dirty_enterprises.add(code)
            self.applied += 1
            return True
        self.ignored[event_type] += 1
        return False

    def count(
        self, units: list[str] | None, instant: str, time_zone: str | None, metric: str
    ) -> None:
        if not units:
            return
        period = month_of(instant, time_zone)
        index = _METRIC[metric]
        statistics = self.statistics
        for unit in units:
            key = (unit, period)
            deltas = statistics.get(key)
            if deltas is None:
                deltas = statistics[key] = [0] * len(METRICS)
            deltas[index] += 1

    # ------------------------------------------------------------------ case events

    def _register_case(
        self, hazard_id: str, stream_id: str, position: int, data: dict[str, Any]
    ) -> None:
        path = data["grid_path"]
        lowest = path[0]
        codes = [unit["code"] for unit in path]
        at = data["at"]
        row: Row = {
            "hazard_id": hazard_id,
            "stream_id": stream_id,
            "credit_code": data["credit_code"],
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
            "time_zone": data["time_zone"],
            "listing_no": None,
            "listed_level": None,
            "listing_authority_code": None,
            "listed_at": None,
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
            "found_at": data["found_at"],
            "closed_at": None,
            "close_basis": None,
            "withdrawn_at": None,
            "rectified_on_time": None,
            "version": 1,
            "last_position": position,
        }
        self.cases[hazard_id] = row
        self.dirty_cases.add(hazard_id)
        for unit in path:
            self.grid_units[unit["code"]] = (
                unit["code"],
                unit["name"],
                unit["level"],
                unit["parent_code"],
                unit["responsible_person"],
            )
        time_zone = data["time_zone"]
        self.count(codes, at, time_zone, "found")
        if data["hazard_class"] == "major":
            self.count(codes, at, time_zone, "found_major")
        code = data["credit_code"]
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
    row["deadline"] = deadline
    row["deadline_no"] = number
    row["deadline_set_at"] = at


def _notice_issued(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    _set_deadline(row, data["deadline"], data["deadline_no"], data["at"])


def _listed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level = data["level"]
    row["listing_no"] = data["listing_no"]
    row["listed_level"] = level
    row["listing_authority_code"] = data["authority_unit_code"]
    row["listed_at"] = data["at"]
    # ListingLevel.grid_level is the grid level of the same name.
    if _LEVEL_RANK[level] < _LEVEL_RANK[row["supervising_level"]]:
        row["supervising_unit_code"] = data["authority_unit_code"]
        row["supervising_level"] = level
        row["supervising_person"] = data["authority_person"]
    if data["deadline"] is not None and data["deadline_no"] is not None:
        _set_deadline(row, data["deadline"], data["deadline_no"], data["at"])
    changes.count(row["grid_path"], data["at"], row["time_zone"], "listed")


def _plan_submitted(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["plan_submitted"] = True


def _reported(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["reports"] += 1
    row["reported_at"] = data["at"]
    row["review_by"] = data["review_by"]
    row["extension_requested_deadline"] = None


def _verification_passed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["reported_at"] = None
    row["review_by"] = None


def _verification_failed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["reported_at"] = None
    row["review_by"] = None
    row["verifications_failed"] += 1
    _set_deadline(row, data["deadline"], data["deadline_no"], data["at"])


def _extension_requested(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = data["requested_deadline"]


def _extension_approved(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = None
    row["extensions_granted"] += 1
    _set_deadline(row, data["deadline"], data["deadline_no"], data["at"])


def _extension_rejected(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = None


def _refusal(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["refused"] = True


def _referred(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["referred"] = True
    changes.count(row["grid_path"], data["at"], row["time_zone"], "referred")


def _withdrawn(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["withdrawn_at"] = data["at"]
    row["extension_requested_deadline"] = None
    changes.count(row["grid_path"], data["at"], row["time_zone"], "withdrawn")


def _timer_fired(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """ReminderDue, VerificationOverdue: only the version moves (the fired key is kept in the
    case's own state, which the read side does not need)."""


def _deadline_missed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = None
    first = row["deadlines_missed"] == 0
    row["deadlines_missed"] += 1
    units, at, zone = row["grid_path"], data["at"], row["time_zone"]
    changes.count(units, at, zone, "deadlines_missed")
    if first:
        changes.count(units, at, zone, "due")


def _escalated(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["escalation_index"] = max(row["escalation_index"], data["escalation_index"])
    row["supervising_unit_code"] = data["unit_code"]
    row["supervising_level"] = data["grid_level"]
    row["supervising_person"] = data["responsible_person"]
    _set_deadline(row, data["deadline"], data["deadline_no"], data["at"])
    changes.count(
        row["grid_path"], data["at"], row["time_zone"], "escalations_" + data["grid_level"]
    )


def _delisted(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["listing_no"] = None
    row["listed_level"] = None
    row["listing_authority_code"] = None
    row["listed_at"] = None
    changes.count(row["grid_path"], data["at"], row["time_zone"], "delisted")


def _credit_trigger(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """Forwarded to the enterprise's credit stream, which the enterprise view follows."""


def _closed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    at = data["at"]
    row["closed_at"] = at
    row["close_basis"] = data["basis"]
    row["extension_requested_deadline"] = None
    on_time = row["deadlines_missed"] == 0
    row["rectified_on_time"] = on_time
    units, zone = row["grid_path"], row["time_zone"]
    changes.count(units, at, zone, "rectified")
    if on_time:
        changes.count(units, at, zone, "rectified_on_time")
        changes.count(units, at, zone, "due")


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
    "DeadlineMissed": _deadline_missed,
    "VerificationOverdue": _timer_fired,
    "CaseEscalated": _escalated,
    "HazardDelisted": _delisted,
    "CreditTriggerRaised": _credit_trigger,
    "CaseClosed": _closed,
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
    e["open_proceeding_no"] = data["proceeding_no"]
    e["objection_until"] = None
    e["last_proceeding_trigger"] = data["trigger"]
    e["proceedings"] += 1


def _proceeding_notice(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    e["objection_until"] = data["objection_until"]


def _credit_no_change(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    """ObjectionFiled, ObjectionWindowClosed, EarlyRemovalApplied/Rejected: nothing the read
    side shows changes (the credit workflow's own state keeps them)."""


def _listing_decided(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    e["open_proceeding_no"] = None
    e["objection_until"] = None
    e["last_decided_by"] = data["decided_by"]
    e["last_decision_basis"] = data["basis"]


def _blacklist_published(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    number = data["proceeding_no"]
    e["blacklisted"] = True
    e["blacklist_proceeding_no"] = number
    e["blacklisted_since"] = data["at"]
    e["blacklisted_until"] = data["expires_at"]
    e["early_removal_from"] = data["early_removal_from"]
    changes.register[number] = {
        "proceeding_no": number,
        "credit_code": e["credit_code"],
        "enterprise_name": e["enterprise_name"],
        "grid_path": e["grid_path"],
        "status": "listed",
        "trigger": e["last_proceeding_trigger"],
        "decided_by": e["last_decided_by"],
        "basis": e["last_decision_basis"],
        "listed_at": data["at"],
        "expires_at": data["expires_at"],
        "early_removal_from": data["early_removal_from"],
        "removed_early_at": None,
        "removal_revoked_at": None,
        "expired_at": None,
        "last_position": position,
    }
    changes.dirty_register.add(number)
    changes.count(e["grid_path"], data["at"], e["time_zone"], "blacklist_listed")


def _register_entry(changes: BatchChanges, number: str | None, position: int) -> Row | None:
    entry = changes.register.get(number) if number is not None else None
    if entry is not None and number is not None:
        entry["last_position"] = position
        changes.dirty_register.add(number)
    return entry


def _early_removal_approved(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    e["blacklisted"] = False
    e["last_listing_ended_at"] = data["at"]
    entry = _register_entry(changes, e["blacklist_proceeding_no"], position)
    if entry is not None:
        entry["status"] = "removed_early"
        entry["removed_early_at"] = data["at"]
    changes.count(e["grid_path"], data["at"], e["time_zone"], "blacklist_removed_early")


def _early_removal_revoked(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    e["blacklisted"] = True
    e["blacklisted_until"] = data["expires_at"]
    entry = _register_entry(changes, e["blacklist_proceeding_no"], position)
    if entry is not None:
        entry["status"] = "listed"
        entry["removal_revoked_at"] = data["at"]
        entry["expires_at"] = data["expires_at"]
    changes.count(e["grid_path"], data["at"], e["time_zone"], "blacklist_restored")


def _blacklist_expired(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    e["blacklisted"] = False
    e["blacklist_proceeding_no"] = None
    e["blacklisted_since"] = None
    e["blacklisted_until"] = None
    e["early_removal_from"] = None
    e["last_listing_ended_at"] = data["at"]
    entry = _register_entry(changes, data["proceeding_no"], position)
    if entry is not None:
        entry["status"] = "expired"
        entry["expired_at"] = data["at"]
    changes.count(e["grid_path"], data["at"], e["time_zone"], "blacklist_expired")


def _rating_changed(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    e["rating"] = data["new"]
    e["rating_points"] = data["points"]


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


def row_values(row: Row, columns: tuple[str, ...]) -> tuple[Any, ...]:
    """A row as a tuple for ``execute_values``; JSON columns wrapped for the driver."""
    return tuple(Json(row[c]) if c == "credit_entries" else row[c] for c in columns)
