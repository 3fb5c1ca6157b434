"""The replay gate, made strict: Temporal's replay checks the *kind* and order of a workflow's
commands, not what they carry. A change to ``decide`` that alters an event's content or a
deadline while scheduling the same activities would replay "successfully" and then hold a
state that differs from the events stored for the case. So every committed history is
replayed here with an interceptor that captures each activity's input as the current code
produces it, and the inputs must equal those recorded in the history — the events appended,
the notifications queued, the credit signals sent.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio import converter
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from worker import WORKFLOWS, workflow_runner

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
PAYLOADS = converter.DataConverter.default.payload_converter


class CaptureActivityInputs(Interceptor):
    """Records (activity name, JSON of its arguments) for every activity a replay schedules."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[str, list[Any]]] = []

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        scheduled = self.scheduled

        class Outbound(WorkflowOutboundInterceptor):
            def start_activity(self, input: StartActivityInput):  # type: ignore[no-untyped-def]
                scheduled.append((input.activity, _as_json(PAYLOADS.to_payloads(input.args))))
                return super().start_activity(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound


def _as_json(payloads: Any) -> list[Any]:
    return [json.loads(p.data) for p in payloads]


def _recorded_inputs(history: WorkflowHistory) -> list[tuple[str, list[Any]]]:
    return [
        (
            e.activity_task_scheduled_event_attributes.activity_type.name,
            _as_json(e.activity_task_scheduled_event_attributes.input.payloads),
        )
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


def load_history(path: Path, history_json: dict[str, Any] | None = None) -> WorkflowHistory:
    """The history under the workflow id it ran as (its inputs carry that id): a replay under
    another id would decide the same, but record a different ``workflow_id`` in metadata."""
    history_json = history_json or json.loads(path.read_text())
    probe = WorkflowHistory.from_json(path.stem, history_json)
    ids = {
        args[0]["workflow_id"]
        for name, args in _recorded_inputs(probe)
        if name == "append_events" and args and args[0].get("workflow_id")
    }
    assert len(ids) == 1, f"{path.name}: cannot tell which workflow id it ran as: {ids}"
    return WorkflowHistory.from_json(ids.pop(), history_json)


def committed_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


async def input_differences(history: WorkflowHistory) -> list[str]:
    """Replay ``history`` with the current code; every activity whose input differs from the
    recorded one, described (an empty list: the code decides exactly as the recorded run)."""
    capture = CaptureActivityInputs()
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(), interceptors=[capture]
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    if result.replay_failure is not None:
        return [f"replay failed: {result.replay_failure}"]
    recorded = _recorded_inputs(history)
    if [name for name, _ in capture.scheduled] != [name for name, _ in recorded]:
        return ["the activities scheduled differ from the recorded ones"]
    return [
        f"activity #{number + 1} ({stored[0]}) would now be called with different input"
        for number, (replayed, stored) in enumerate(zip(capture.scheduled, recorded, strict=True))
        if replayed != stored
    ]


@pytest.mark.parametrize("path", committed_histories(), ids=lambda p: p.stem)
async def test_a_replay_schedules_exactly_the_recorded_activity_inputs(path: Path):
    history = load_history(path)
    assert _recorded_inputs(history), f"{path.name} schedules no activity: not a useful gate"
    differences = await input_differences(history)
    assert not differences, (
        f"{path.name}: the current code decides differently from the code that ran this case "
        f"— gate the change with workflow.patched or a new policy key: {differences}"
    )


async def test_the_input_gate_reports_a_decision_that_changed():
    """A recorded append whose content differs from what the code decides (as if ``decide``
    had changed since) is reported, so the gate above cannot pass vacuously."""
    path = HISTORIES / "case-rectified-on-time.json"
    history_json = json.loads(path.read_text())
    altered_at = None
    for number, event in enumerate(
        e for e in history_json["events"] if "activityTaskScheduledEventAttributes" in e
    ):
        attributes = event["activityTaskScheduledEventAttributes"]
        if attributes["activityType"]["name"] == "append_events":
            payload = attributes["input"]["payloads"][0]
            data = json.loads(base64.b64decode(payload["data"]))
            data["events"][0]["data"]["description"] += "（改）"
            payload["data"] = base64.b64encode(json.dumps(data).encode()).decode()
            altered_at = number + 1
            break
    assert altered_at is not None
    differences = await input_differences(load_history(path, history_json))
    assert differences == [
        f"activity #{altered_at} (append_events) would now be called with different input"
    ]
