"""The durable timers of the long-lived workflows: the updatable timer (wait for the earliest
due moment or for a change, whichever comes first, then re-read the timers, so an approved
extension or a new deadline moves them) and the catch-up of timers already due, fired one at
a time, earliest first, because each may change the next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow

State = TypeVar("State")


class DueTimer(Protocol):
    @property
    def key(self) -> str: ...


async def wait_for_change(changed: Callable[[], bool], timeout: timedelta | None = None) -> bool:
    """Wait until ``changed()`` holds (a person's update, a signal) or ``timeout`` passes;
    True when a change woke the workflow. No timeout: no timer is created at all (a timeout
    that comes and goes would be a different history)."""
    try:
        await workflow.wait_condition(changed, timeout=timeout)
    except TimeoutError:
        return False
    return True


async def fire_due_timers(
    due_now: Callable[[], Sequence[DueTimer]], fire: Callable[[str], Awaitable[Any]]
) -> None:
    """Fire every timer due now, earliest first, re-reading them after each firing."""
    while due := due_now():
        await fire(due[0].key)


def caught_up(
    state: State,
    due_now: Callable[[State], Sequence[DueTimer]],
    fire: Callable[[State, str], Iterable[Any]],
    evolve: Callable[[State, Any], State],
) -> State:
    """The state once the timers due now have fired: computed, not recorded (a validator
    judges a command against the state its handler will meet)."""
    while due := due_now(state):
        for event in fire(state, due[0].key):
            state = evolve(state, event)
    return state
