"""Writing a recorded workflow history to tests/histories/, never over one already there.

A committed history gates every later change to the workflow code (the replay tests), so
recording one again is a deliberate act: delete the file first, and record it with the code
the history is meant to capture.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def refuse_to_overwrite(path: Path) -> None:
    if path.exists():
        pytest.fail(
            f"{path} is committed and gates workflow changes: it is not recorded over. Delete "
            "it deliberately (git rm) to record it again, with the code it is meant to capture"
        )


def write_history(history: WorkflowHistory, path: Path) -> None:
    """Write ``history`` as the indented JSON the replay tests read; refuse an existing file."""
    refuse_to_overwrite(path)
    path.parent.mkdir(exist_ok=True)
    text = json.dumps(json.loads(history.to_json()), indent=1, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
