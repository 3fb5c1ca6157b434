"""The replay gates with tracing on: every committed history replays, and schedules exactly
the recorded activity inputs, with duban's tracing interceptor installed and a tracer provider
recording, as a worker with DUBAN_OTEL_ENDPOINT runs them. Replaying creates no workflow spans
(the interceptor makes them only outside replay), so a worker that picks up a case after a
restart traces nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.worker import Replayer

from activities.tracing import temporal_interceptors
from tests.tracing_helpers import InstallTracing, install_tracing
from tests.workflows.conftest import test_settings
from tests.workflows.test_replay_inputs import (
    CaptureActivityInputs,
    _recorded_inputs,
    committed_histories,
    load_history,
)
from worker import WORKFLOWS, workflow_runner

__all__ = ["install_tracing", "test_settings"]  # fixtures


@pytest.mark.parametrize("path", committed_histories(), ids=lambda p: p.stem)
async def test_a_committed_history_replays_unchanged_with_tracing_on(
    path: Path, install_tracing: InstallTracing, test_settings
):
    exporter = InMemorySpanExporter()
    tracing = install_tracing(test_settings, exporter=exporter)
    assert tracing is not None
    history = load_history(path)
    capture = CaptureActivityInputs()
    replayer = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        interceptors=[*temporal_interceptors(), capture],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
    assert capture.scheduled == _recorded_inputs(history), path.name
    assert tracing.flush()
    assert exporter.get_finished_spans() == ()
