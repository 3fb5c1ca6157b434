"""The engine's ceiling for bench.cases: the same number of activities and updates as a case's
lifecycle, and no business work. A module of its own so the workflow sandbox imports little."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="noop")
async def noop(value: int) -> int:
    return value


@workflow.defn(name="BenchTrivial")
class TrivialWorkflow:
    def __init__(self) -> None:
        self._updates = 0

    @workflow.run
    async def run(self, activities: int) -> int:
        for i in range(activities):
            await workflow.execute_activity("noop", i, start_to_close_timeout=timedelta(seconds=30))
        await workflow.wait_condition(lambda: self._updates >= 2)
        return activities

    @workflow.update
    async def poke(self) -> int:
        self._updates += 1
        return self._updates
