"""Builds the long-lived objects (settings → database → store) for the CLI, worker and API.

Nothing here runs at import time: the Temporal workflow sandbox re-imports modules, and tests
build their own objects from their own settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.engine import Engine

from activities.database import create_app_engine, migrate, resolve_database_url
from activities.eventstore import EventStore
from activities.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    # Only `duban up` starts the embedded PostgreSQL; every other process is given a URL
    # (the environment's, or the one `duban up` recorded) or refuses.
    start_embedded_database: bool = False

    @cached_property
    def database_url(self) -> str:
        return resolve_database_url(self.settings, start_embedded=self.start_embedded_database)

    @cached_property
    def engine(self) -> Engine:
        return create_app_engine(
            self.database_url,
            self.settings.database_app_role or None,
            app_url=self.settings.database_app_url,
        )

    @cached_property
    def store(self) -> EventStore:
        return EventStore(self.engine, max_event_bytes=self.settings.max_event_bytes)

    def migrate(self) -> None:
        migrate(self.database_url, self.settings.database_app_role or "duban_app")

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
