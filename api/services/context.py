"""What every service stands on: the database, the event store, the reference data, the
Temporal client, the policy and calendar, and the clock requests are judged at.

``Services`` (``api/services/__init__.py``) is this, with the access rules and the case and
credit commands on top; tests build it with their own parts and replace any of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.blobs import BlobStore, EvidenceLimits
from activities.calendar_watch import CalendarSource
from activities.eventstore import EventStore
from activities.reference_data import ReferenceData
from domain.calendar import WorkingCalendar
from domain.policy import Policy


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    engine: Engine
    store: EventStore
    reference: ReferenceData
    temporal: Client
    task_queue: str
    policy: Policy
    calendar: WorkingCalendar
    # The instant requests are judged at; tests move it (a retry "after midnight").
    clock: Callable[[], datetime] = field(default=_utc_now)
    # The calendar file as it is now (``duban calendar load`` needs no restart); without it
    # ``calendar`` as built.
    calendar_source: CalendarSource | None = None
    # Evidence files (``api/services/files.py``) and issued documents' PDFs, content-addressed
    # (without it a PDF is rendered again from its issue event: the same bytes, checked against
    # the recorded hash); the settings' limits for evidence.
    blobs: BlobStore | None = None
    evidence_limits: EvidenceLimits = field(default_factory=EvidenceLimits)
    thumbnail_size: int = 256
    thumbnail_max_pixels: int = 50_000_000

    def current_calendar(self) -> WorkingCalendar:
        return self.calendar_source.calendar() if self.calendar_source else self.calendar

    async def recorded_version(self, stream_id: str, correlation_id: str) -> int | None:
        """The last stream version of the events of request ``correlation_id``, if any (read
        off the event loop)."""

        def read() -> int | None:
            with self.engine.connect() as conn:
                version = conn.execute(
                    text(
                        "SELECT max(stream_version) FROM events WHERE stream_id = :s"
                        " AND metadata ->> 'correlation_id' = :c"
                    ),
                    {"s": stream_id, "c": correlation_id},
                ).scalar_one()
            return None if version is None else int(version)

        return await asyncio.to_thread(read)
