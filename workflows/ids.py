"""Business ids → workflow ids and stream ids, in one place (the API, the worker, the auditor's
tools all derive them here, so a case is found by its hazard id alone)."""

from __future__ import annotations

import re

_HAZARD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def check_hazard_id(hazard_id: str) -> str:
    if not _HAZARD_ID.match(hazard_id):
        raise ValueError(
            "hazard_id: 1-80 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return hazard_id


def case_workflow_id(hazard_id: str) -> str:
    """督办案件 workflow id: one workflow per hazard, for its whole life."""
    return f"case-{check_hazard_id(hazard_id)}"


def case_stream_id(hazard_id: str) -> str:
    return f"case-{check_hazard_id(hazard_id)}"


def hazard_id_from_stream(stream_id: str) -> str:
    if not stream_id.startswith("case-"):
        raise ValueError(f"stream_id: {stream_id!r} is not a case stream")
    return stream_id.removeprefix("case-")


def credit_workflow_id(credit_code: str) -> str:
    """企业信用 workflow id: one per enterprise, keyed by its unified social credit code."""
    return f"credit-{credit_code}"


def credit_stream_id(credit_code: str) -> str:
    return f"credit-{credit_code}"
