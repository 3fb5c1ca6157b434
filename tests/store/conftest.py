"""Store tests' own set-up on top of tests/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _logs_to_this_tests_stderr() -> None:
    """The CLI tests leave structlog writing to the runner's stream, closed after them; the
    listener logs its failures, so point the logs at the stream of this test."""
    from activities.logging import configure_logging

    configure_logging("WARNING", "console")
