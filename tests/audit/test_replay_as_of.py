"""An auditor's replay: the state as of every event's instant is exactly the state the
workflow held then, rebuilt from stored events only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from activities.audit.replay import replay_case
from api.cli import app
from tests.audit.conftest import LoggingSafeCliRunner
from tests.workflows.case_helpers import report, start_case, verify, wait_for_version
from tests.workflows.conftest import RunningWorker
from workflows.case import SupervisedCaseWorkflow

runner = LoggingSafeCliRunner()


async def test_a_case_replayed_as_of_every_event_boundary_gives_the_states_the_workflow_held(
    case_worker: RunningWorker, unique_hazard_id: str
):
    """Every append is captured as the workflow's queried state right after it (updates return
    it; timer-driven appends are caught by querying every two hours of skipped time). Then,
    for every stored event: as of its instant the replay is the state after its append, and
    one microsecond before, the state after the append before it."""
    held: dict[int, dict] = {}  # version after an append -> the workflow's state then

    def capture(view) -> None:  # type: ignore[no-untyped-def]
        held.setdefault(view.version, view.state)
        assert held[view.version] == view.state, f"version {view.version} changed state"

    handle, _ = await start_case(case_worker, unique_hazard_id)
    capture(await wait_for_version(handle, 2))
    for _ in range(16 * 12):  # reminders, the missed deadline and the escalation
        await case_worker.env.sleep(timedelta(hours=2))
        capture(await handle.query(SupervisedCaseWorkflow.state))
    capture(await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report()))
    capture(
        await handle.execute_update(
            SupervisedCaseWorkflow.verify_rectification, verify(False, comments="未整改到位")
        )
    )
    capture(
        await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report("再次整改"))
    )
    capture(await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True)))

    events = case_worker.store.read_stream(f"case-{unique_hazard_id}")
    appends: list[list] = []  # events of one append share their recorded_at
    for event in events:
        if appends and appends[-1][-1].recorded_at == event.recorded_at:
            appends[-1].append(event)
        else:
            appends.append([event])
    ends = [batch[-1].stream_version for batch in appends]
    assert sorted(held) == ends, "every append was seen by a query, and nothing else"
    assert {e.event_type for e in events} >= {"ReminderDue", "DeadlineMissed", "CaseEscalated"}

    previous: dict | None = None
    for batch in appends:
        after = held[batch[-1].stream_version]
        for event in batch:
            at = replay_case(case_worker.store, unique_hazard_id, as_of=event.recorded_at)
            assert at.to_data()["state"] == after, f"as of event {event.stream_version}"
            assert len(at.timeline) == batch[-1].stream_version
            just_before = replay_case(
                case_worker.store,
                unique_hazard_id,
                as_of=event.recorded_at - timedelta(microseconds=1),
            )
            assert just_before.to_data()["state"] == previous, (
                f"just before event {event.stream_version}"
            )
        previous = after
    assert replay_case(case_worker.store, unique_hazard_id).to_data()["state"] == previous
    assert previous is not None and previous["closed"] is True


async def test_the_replay_command_prints_a_timeline_and_refuses_a_malformed_instant(
    case_worker: RunningWorker, unique_hazard_id: str, database_url: str, tmp_path
):
    await start_case(case_worker, unique_hazard_id)
    env = {
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_DATA_DIR": str(tmp_path),
        "DUBAN_LOG_LEVEL": "WARNING",
    }
    result = runner.invoke(app, ["audit", "replay", unique_hazard_id, "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [e["label"] for e in data["timeline"]] == ["登记隐患", "下达隐患整改通知书"]
    assert data["state"]["status"] == "rectifying"
    first = datetime.fromisoformat(data["timeline"][0]["recorded_at"])
    early = runner.invoke(
        app,
        [
            "audit",
            "replay",
            unique_hazard_id,
            "--json",
            "--as-of",
            (first - timedelta(seconds=1)).isoformat(),
        ],
        env=env,
    )
    assert json.loads(early.output)["state"] is None
    bad = runner.invoke(app, ["audit", "replay", unique_hazard_id, "--as-of", "yesterday"], env=env)
    assert bad.exit_code == 2 and "--as-of" in bad.output
    history = runner.invoke(app, ["audit", "history", unique_hazard_id, "--json"], env=env)
    lines = [json.loads(line) for line in history.output.splitlines()]
    assert [e["event_type"] for e in lines] == ["HazardRegistered", "RectificationNoticeIssued"]
