"""Assertions shared by the CLI tests."""

from __future__ import annotations

from typing import Any


def assert_one_line_refusal(result: Any, *fragments: str) -> str:
    """``result`` (a CliRunner result) is a refusal: exit code 2, one line, no traceback, and
    the line holds every fragment. Returns the line."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return str(lines[0])
