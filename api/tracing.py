"""The API's part of a trace: FastAPI's own OpenTelemetry support (FastAPI >= 0.165).

With a tracer provider installed (activities/tracing.py), FastAPI opens a SERVER span per
request, named by its route template (``POST /api/v1/hazards/{hazard_id}/verification``: one
name per endpoint, not per hazard), continues a caller's W3C ``traceparent`` and records the
status; the Temporal client calls made while answering are its children. Without a provider
it does nothing. Its metrics and logs stay off: duban installs no meter or logger provider
(the metrics are Prometheus's, on ``/metrics``; the logs are structlog's).

The probes are not traced: an orchestrator asks them every few seconds, and their traces
would bury the commands'.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig

UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def is_probe(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


API_TELEMETRY: TelemetryConfig = {"exclude": is_probe}
