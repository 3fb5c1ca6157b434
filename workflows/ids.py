"""Business ids → workflow ids and stream ids, in one place (the API, the worker, the auditor's
tools all derive them here, so a case is found by its hazard id alone)."""

from __future__ import annotations

import re

from domain.case import HAZARD_ID_PATTERN, HAZARD_ID_RULE
from domain.periods import check_period


def check_hazard_id(hazard_id: str) -> str:
    """The domain's rule (``RegisterHazard`` refuses the same ids), as a ValueError."""
    if not HAZARD_ID_PATTERN.match(hazard_id):
        raise ValueError(f"hazard_id: {HAZARD_ID_RULE}")
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


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def report_key(kind: str, unit_code: str, period: str) -> str:
    """``report-<kind>-<unit>-<period>``: the report's workflow id and its stream id."""
    check_period(kind, period)
    return f"report-{kind}-{_UNSAFE.sub('_', unit_code)}-{period}"


DOCUMENT_STREAM_PREFIX = "documents-"


def document_stream_id(year: int, authority_unit_code: str) -> str:
    """``documents-<year>-<unit>``: the issuing authority's 发文字号 sequence for a year. Its
    stream versions are the serials (gap-free, never repeated: the event store's versions)."""
    if not 1 <= year <= 9999:
        raise ValueError(f"year: {year} is not a calendar year")
    return f"{DOCUMENT_STREAM_PREFIX}{year:04d}-{authority_unit_code}"


def public_report_workflow_id(report_id: str) -> str:
    """举报 workflow id (and its stream id): one per report, for its whole life."""
    if not re.fullmatch(r"R-[0-9a-f]{24}", report_id):
        raise ValueError("report_id: R- and 24 hexadecimal digits")
    return f"public-report-{report_id}"


def public_report_stream_id(report_id: str) -> str:
    return public_report_workflow_id(report_id)
