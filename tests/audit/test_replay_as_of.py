"""An auditor's replay: the state as of every event's instant is exactly the state the
workflow held then, rebuilt from stored events only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from typer.testing import CliRunner

from activities.audit.replay import replay_case
from api.cli import app
from tests.workflows.case_helpers import report, start_case, verify
from tests.workflows.conftest import RunningWorker
from workflows.case import SupervisedCaseWorkflow

runner = CliRunner()


async def test_a_case_replayed_as_of_each_event_gives_the_states_the_workflow_went_through(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    views = [await handle.query(SupervisedCaseWorkflow.state)]
    await case_worker.env.sleep(timedelta(days=16))  # overdue → escalated to the township
    views.append(await handle.query(SupervisedCaseWorkflow.state))
    views.append(await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report()))
    views.append(
        await handle.execute_update(
            SupervisedCaseWorkflow.verify_rectification,
            verify(False, comments="未整改到位"),
        )
    )
    views.append(
        await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report("再次整改"))
    )
    views.append(
        await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    )
    events = case_worker.store.read_stream(f"case-{unique_hazard_id}")
    assert [v.version for v in views] == sorted({v.version for v in views})
    for view in views:
        instant = events[view.version - 1].recorded_at
        replay = replay_case(case_worker.store, unique_hazard_id, as_of=instant)
        assert replay.to_data()["state"] == view.state, f"as of version {view.version}"
        assert len(replay.timeline) == view.version
    before_anything = events[0].recorded_at - timedelta(microseconds=1)
    assert replay_case(case_worker.store, unique_hazard_id, as_of=before_anything).state is None
    assert views[-1].status == "closed"


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
    assert [e["label"] for e in data["timeline"]] == ["登记隐患", "下达整改通知书"]
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
