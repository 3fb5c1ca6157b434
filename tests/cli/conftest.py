"""CLI tests: ``duban …`` through typer's CliRunner against a database of the test's own, and
(for the commands that act on cases) the API test harness's worker on the time-skipping server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import isolated_api, own_store, test_settings, time_skipping_env
from tests.workflows.conftest import TEST_CALENDAR

__all__ = ["isolated_api", "own_store", "test_settings", "time_skipping_env"]


@pytest.fixture()
def cli_env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment an operator would set: the database, the data directory, the calendar."""
    return {
        "DUBAN_DATABASE_URL": fresh_database_url,
        "DUBAN_DATA_DIR": str(tmp_path / "data"),
        "DUBAN_CALENDAR_FILE": str(TEST_CALENDAR),
        "DUBAN_LOG_LEVEL": "WARNING",
        "DUBAN_LOG_FORMAT": "console",
    }


@pytest.fixture(autouse=True)
def _logs_back_to_stderr() -> Iterator[None]:
    """A CLI run points structlog at the runner's captured stream, which it then closes."""
    yield
    from activities.logging import configure_logging

    configure_logging("WARNING", "console")
