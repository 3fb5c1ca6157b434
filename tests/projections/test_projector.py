"""The projector: read tables after a realistic history, resume after a crash, rebuild."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest

from activities.eventstore import EventMetadata, NewEvent
from activities.projections import Projector, rebuild
from activities.projections.projector import BatchResult
from activities.projections.read_models.cases import CaseFilter, list_cases
from domain.case import fold
from tests.projections.conftest import ReadSide
from tests.projections.scenario import (
    ENTERPRISE,
    ENTERPRISE_2,
    History,
    build_history,
    case_events,
    day,
    scenario_steps,
)

COMPARED_FIELDS = (
    "credit_code",
    "enterprise_name",
    "hazard_class",
    "category",
    "source",
    "mode",
    "supervising_unit_code",
    "supervising_person",
    "deadline",
    "deadline_no",
    "deadline_set_at",
    "escalation_index",
    "reports",
    "reported_at",
    "review_by",
    "plan_submitted",
    "extensions_granted",
    "verifications_failed",
    "refused",
    "referred",
    "registered_at",
    "version",
    "rectification_deadline",
    "rectification_missed",
)


def test_case_rows_equal_what_folding_the_domain_gives(read_side: ReadSide) -> None:
    history = build_history(read_side.store)
    Projector(read_side.store, batch_size=7).catch_up()

    rows = {r["hazard_id"]: r for r in read_side.rows("SELECT * FROM case_view")}
    assert sorted(rows) == sorted(history.cases)
    for hazard_id in history.cases:
        state = fold(case_events(read_side.store, hazard_id))
        assert state is not None
        row = rows[hazard_id]
        for name in COMPARED_FIELDS:
            assert row[name] == getattr(state, name), (hazard_id, name)
        assert row["status"] == state.status.value
        assert row["is_open"] == state.is_open
        assert row["supervising_level"] == state.supervising_level.value
        assert row["listed_level"] == (state.listed_level.value if state.listed_level else None)
        assert row["listing_no"] == (state.listing.listing_no if state.listing else None)
        assert row["grid_path"] == [u.code for u in state.grid_path]
        assert (row["extension_requested_deadline"] is None) == (state.pending_extension is None)
    assert rows["H-A"]["rectified_on_time"] is True
    assert rows["H-F"]["rectified_on_time"] is False
    assert rows["H-B"]["status"] == "escalated"
    assert rows["H-C"]["status"] == "referred"
    assert rows["H-E"]["status"] == "withdrawn"


def test_overdue_in_lists_equals_the_domain_is_overdue_at_each_instant(read_side: ReadSide) -> None:
    history = build_history(read_side.store)
    Projector(read_side.store).catch_up()
    for now in (day(10), day(25), day(31), day(60), day(200)):
        page = list_cases(read_side.engine, now=now, filters=CaseFilter(overdue=True), limit=100)
        expected = {h for h, s in history.cases.items() if s.is_overdue(now)}
        assert {item.hazard_id for item in page.items} == expected, now
    # H-B's township deadline passes with no new event: overdue at day 31, not at day 25.
    assert "H-B" in {
        i.hazard_id
        for i in list_cases(read_side.engine, now=day(31), filters=CaseFilter(overdue=True)).items
    }


def test_enterprise_rows_follow_the_credit_record(read_side: ReadSide) -> None:
    history = build_history(read_side.store)
    Projector(read_side.store, batch_size=3).catch_up()
    rows = {r["credit_code"]: r for r in read_side.rows("SELECT * FROM enterprise_view")}
    machinery, chemical = rows[ENTERPRISE.credit_code], rows[ENTERPRISE_2.credit_code]
    assert machinery["cases_registered"] == 3
    assert chemical["cases_registered"] == 4
    assert machinery["grid_code"] == ENTERPRISE.grid_code
    assert [e[1] for e in machinery["credit_entries"]] == ["escalation", "escalation"]
    assert machinery["blacklisted"] is False  # listed, then expired after three years
    assert machinery["last_listing_ended_at"] is not None
    state = history.credit[ENTERPRISE_2.credit_code]
    assert chemical["blacklisted"] is state.is_blacklisted is True
    assert state.blacklist is not None
    assert chemical["blacklisted_until"] == state.blacklist.expires_at
    assert (chemical["rating"], chemical["rating_points"]) == (state.rating, state.points)
    assert chemical["proceedings"] == state.proceedings == 1


def test_the_blacklist_register_keeps_listing_expiry_early_removal_and_its_revocation(
    read_side: ReadSide,
) -> None:
    build_history(read_side.store)
    Projector(read_side.store).catch_up()
    entries = {r["credit_code"]: r for r in read_side.rows("SELECT * FROM blacklist_register")}
    expired, restored = entries[ENTERPRISE.credit_code], entries[ENTERPRISE_2.credit_code]
    assert expired["status"] == "expired"
    assert expired["trigger"] == "accident"
    assert expired["basis"] == "发生较大生产安全事故"
    assert expired["expired_at"] == expired["expires_at"]
    assert restored["status"] == "listed"
    assert restored["trigger"] == "refusal"
    assert restored["removed_early_at"] is not None
    assert restored["removal_revoked_at"] > restored["removed_early_at"]


def test_a_projector_stopped_midway_is_continued_by_another_without_gaps_or_repeats(
    read_side: ReadSide,
) -> None:
    build_history(read_side.store)
    head = read_side.store.head().position
    first = Projector(read_side.store, batch_size=5)
    assert first.catch_up(max_events=23) == 23
    assert first.position() == 23
    assert Projector(read_side.store, batch_size=4).catch_up() == head - 23
    resumed = read_side.snapshot()

    rebuild(read_side.engine)
    assert read_side.snapshot() == resumed


class _CrashBeforeCommit(Projector):
    """Fails after writing its rows, before the commit: as if the process died there."""

    def step(self, limit: int | None = None) -> BatchResult:
        self._write = self._crash  # type: ignore[method-assign]
        return super().step(limit)

    @staticmethod
    def _crash(cursor: object, changes: object) -> None:
        Projector._write(cursor, changes)  # type: ignore[arg-type]
        raise RuntimeError("worker killed")


def test_a_crash_inside_a_batch_leaves_the_tables_at_the_last_committed_position(
    read_side: ReadSide,
) -> None:
    build_history(read_side.store)
    Projector(read_side.store, batch_size=10).catch_up(max_events=20)
    before = read_side.snapshot()
    with pytest.raises(RuntimeError, match="worker killed"):
        _CrashBeforeCommit(read_side.store, batch_size=10).catch_up()
    assert read_side.snapshot() == before

    Projector(read_side.store, batch_size=10).catch_up()
    incremental = read_side.snapshot()
    rebuild(read_side.engine)
    assert read_side.snapshot() == incremental


def test_rebuild_gives_the_same_tables_as_projecting_while_events_arrive(
    read_side: ReadSide,
) -> None:
    history = History(read_side.store)
    steps = scenario_steps(history)
    projector = Projector(read_side.store, batch_size=2)
    for start in range(0, len(steps), 4):
        for step in steps[start : start + 4]:
            step()
        projector.catch_up()
    incremental = read_side.snapshot()
    result = rebuild(read_side.engine, batch_size=1000)
    assert result.events == read_side.store.head().position
    assert read_side.snapshot() == incremental


def test_unknown_events_are_skipped_counted_and_never_stop_the_projection(
    read_side: ReadSide,
) -> None:
    meta = EventMetadata("someone", "system")
    at = datetime(2025, 3, 3, tzinfo=UTC)
    read_side.store.append(
        "case-H-X",
        0,
        [NewEvent(uuid.uuid4(), "HazardTeleported", {"at": at.isoformat()}, meta, at)],
    )
    read_side.store.append(
        "report-P37-2025-03", 0, [NewEvent(uuid.uuid4(), "ReportProduced", {"x": 1}, meta, at)]
    )
    read_side.store.append(
        "case-H-Y",
        0,
        [
            NewEvent(
                uuid.uuid4(), "CaseClosed", {"basis": "verified", "at": at.isoformat()}, meta, at
            )
        ],
    )
    build_history(read_side.store, upto=3)
    projector = Projector(read_side.store)
    applied = projector.catch_up()
    head = read_side.store.head().position
    assert applied == head - 3
    assert projector.skipped_by_type == {"HazardTeleported": 1, "CaseClosed": 1}
    # a stream the read models do not cover is passed over quietly, but still counted
    assert projector.ignored_by_type == {"ReportProduced": 1}
    assert read_side.rows("SELECT position, skipped FROM projection_positions") == [
        {"position": head, "skipped": 3}
    ]
    assert {r["hazard_id"] for r in read_side.rows("SELECT hazard_id FROM case_view")} == {
        "H-A",
        "H-B",
        "H-C",
    }


def test_projecting_never_writes_to_the_event_store(read_side: ReadSide) -> None:
    build_history(read_side.store)
    before = read_side.rows("SELECT position, hash FROM events ORDER BY position")
    Projector(read_side.store).catch_up()
    rebuild(read_side.engine)
    assert read_side.rows("SELECT position, hash FROM events ORDER BY position") == before


def test_a_following_projector_shows_new_events_shortly_after_they_are_appended(
    read_side: ReadSide,
) -> None:
    stop = threading.Event()
    projector = Projector(read_side.store)
    follower = threading.Thread(target=projector.run, args=(stop,), kwargs={"idle_wait": 0.2})
    follower.start()
    try:
        build_history(read_side.store, upto=6)
        head = read_side.store.head().position
        deadline = time.monotonic() + 10
        while projector.position() < head and time.monotonic() < deadline:
            time.sleep(0.02)
        assert projector.position() == head
        assert len(read_side.rows("SELECT hazard_id FROM case_view")) == 6
    finally:
        stop.set()
        follower.join(timeout=10)
    assert not follower.is_alive()


def test_a_following_projector_retries_after_a_database_error_and_reports_its_health(
    read_side: ReadSide, fresh_database_url: str
) -> None:
    from activities.database import create_owner_engine

    owner = create_owner_engine(fresh_database_url)
    history = History(read_side.store)
    steps = scenario_steps(history)
    for step in steps[:6]:
        step()
    projector = Projector(read_side.store)
    assert not projector.health().following
    stop = threading.Event()
    follower = threading.Thread(
        target=projector.run,
        args=(stop,),
        kwargs={"idle_wait": 0.1, "first_pause": 0.05, "longest_pause": 0.2},
    )
    follower.start()

    def wait_for(condition: object, what: str) -> None:
        deadline = time.monotonic() + 15
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            time.sleep(0.02)
        assert condition(), what  # type: ignore[operator]

    try:
        wait_for(lambda: projector.position() == read_side.store.head().position, "caught up")
        assert projector.health().healthy
        with owner.begin() as conn:  # the statistics table is gone: every batch now fails
            conn.exec_driver_sql("ALTER TABLE case_statistics RENAME TO case_statistics_away")
        for step in steps[6:]:
            step()
        wait_for(lambda: projector.health().failures >= 3, "retried")
        stuck_at = projector.position()
        time.sleep(0.3)
        health = projector.health()
        assert health.following and not health.healthy
        assert "case_statistics" in (health.last_error or "")
        assert health.retry_in_seconds is not None and health.retry_in_seconds <= 0.2
        assert projector.position() == stuck_at
        assert projector.lag() == read_side.store.head().position - stuck_at > 0
        with owner.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE case_statistics_away RENAME TO case_statistics")
        wait_for(lambda: projector.lag() == 0, "recovered")
        wait_for(lambda: projector.health().healthy, "healthy again")
        recovered = projector.health()
        assert recovered.failures == 0 and recovered.last_error is not None
        assert recovered.position == read_side.store.head().position
    finally:
        stop.set()
        follower.join(timeout=10)
        owner.dispose()
    assert not follower.is_alive()
    assert not projector.health().following
    followed = read_side.snapshot()
    rebuild(read_side.engine)
    assert read_side.snapshot() == followed
