"""A watchdog for the API's event loop: no database connection may be checked out on the
loop's own thread while a request is being served.

A sync database call in an ``async def`` route (or in what it awaits) blocks every other
request for as long as the database takes; run in the thread pool (a plain ``def`` route,
``run_in_threadpool``, ``asyncio.to_thread``) it does not. The guard tells the two apart
exactly: a pool checkout made while a request is served (a context variable set around the
app, which the thread pool's threads inherit) on a thread that is running an event loop.
Every API test's harness serves through it (``tests/api/conftest.py``) and fails at teardown
naming each request and the code that blocked; the work outside requests (the worker's
activities, a test's own reads, the projector) is not its concern.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class LoopGuard:
    engine: Engine
    # One entry per checkout on the loop: the request, and the stack that made it.
    violations: list[str] = field(default_factory=list)
    # The request being served through this guard's ``wrap`` (a guard sees its own only).
    serving: ContextVar[str | None] = field(
        default_factory=lambda: ContextVar("serving_request", default=None)
    )

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app``, with each HTTP request marked as being served."""

        async def serving(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            marked = self.serving.set(f"{scope['method']} {scope['path']}")
            try:
                await app(scope, receive, send)
            finally:
                self.serving.reset(marked)

        return serving

    def checked_out(self, *_: Any) -> None:
        request = self.serving.get()
        if request is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a thread of the pool: off the loop, as it should be
        stack = "".join(traceback.format_stack(limit=16)[:-1])
        self.violations.append(f"{request} read the database on the event loop:\n{stack}")

    def report(self) -> str:
        return "\n".join(self.violations)


@contextmanager
def loop_guard(engine: Engine, *, check: bool = True) -> Iterator[LoopGuard]:
    """Watch ``engine``'s checkouts while the block runs; ``check``: fail at its end if a
    request read the database on the event loop (otherwise the caller looks itself)."""
    guard = LoopGuard(engine)
    event.listen(engine, "checkout", guard.checked_out)
    try:
        yield guard
    finally:
        event.remove(engine, "checkout", guard.checked_out)
    if check:
        assert not guard.violations, guard.report()
