"""Following the event store: wait until an event after a position is stored, woken at once
by the notification every append sends at commit (``LISTEN``), with the head re-read at least
every poll interval as the fallback (notifications lost, or a connection pooler that cannot
carry ``LISTEN``).

Any number of threads may wait at once: they share one listening connection, one of them reads
it at a time, and every notification wakes them all.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg2
import psycopg2.extensions
import structlog
from sqlalchemy.engine import Engine

from activities.eventstore.append import NOTIFY_CHANNEL

log = structlog.get_logger(__name__)

LISTENER_APPLICATION_NAME = "duban-listener"
POLL_FALLBACK_SECONDS = 1.0


class NewEventsWaiter:
    """Waits for new events on behalf of an ``EventStore``: ``head_position`` reads the store's
    head, ``poll_interval`` bounds the time between two reads of it, and ``listen=False``
    only polls."""

    def __init__(
        self,
        engine: Engine,
        head_position: Callable[[], int],
        *,
        poll_interval: float,
        listen: bool,
    ) -> None:
        self._engine = engine
        self._head_position = head_position
        self._poll_interval = poll_interval
        self._listen = listen
        self._listen_connection: psycopg2.extensions.connection | None = None
        self._listen_lock = threading.Lock()  # creating and closing the listening connection
        self._listen_failure_logged = False
        self._wake = threading.Condition()
        self._wakeups = 0  # bumped each time the listener saw a notification (or failed)
        self._pumping = False  # one waiter at a time reads the listening connection

    def wait(self, after: int, timeout: float) -> bool:
        """Block until an event with position > ``after`` exists or ``timeout`` seconds pass.

        Listens on the channel the insert trigger notifies at commit, so a commit wakes the
        waiter at once; the head is re-read at least every ``poll_interval`` seconds too, and
        only that polling remains when the listening connection is unavailable. Any number of
        threads may wait at once: they share one listening connection, one of them reads it
        at a time, and every notification wakes them all.
        """
        deadline = time.monotonic() + timeout
        while True:
            listening = self._ensure_listener()
            with self._wake:
                wakeups_seen = self._wakeups
            # Check *after* LISTEN is in place and the wake-up count is noted, so a commit
            # between the check and the wait still wakes us.
            if self._head_position() > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait = min(remaining, self._poll_interval)
            if listening:
                self._await_wakeup(wakeups_seen, wait)
            else:
                time.sleep(wait)

    def _await_wakeup(self, wakeups_seen: int, wait: float) -> None:
        """Return on a notification seen after ``wakeups_seen``, or after ``wait`` seconds.

        Whoever finds nobody reading the listening connection reads it; the others sleep on
        the condition. The reader bumps the count and wakes everyone on a notification, and
        wakes them as well when it stops, so that another takes over the reading.
        """
        until = time.monotonic() + wait
        with self._wake:
            while True:
                if self._wakeups != wakeups_seen:
                    return
                left = until - time.monotonic()
                if left <= 0:
                    return
                if not self._pumping:
                    self._pumping = True
                    break
                self._wake.wait(left)
        notified = False
        try:
            notified = self._read_notifications(left)
        finally:
            with self._wake:
                self._pumping = False
                if notified:
                    self._wakeups += 1
                self._wake.notify_all()

    def _read_notifications(self, wait: float) -> bool:
        """True on a notification, or when the listener failed (so that waiters re-check)."""
        connection = self._listen_connection
        if connection is None or connection.closed:
            return True
        try:
            ready, _, _ = select.select([connection], [], [], wait)
            if not ready:
                return False
            connection.poll()
            notified = bool(connection.notifies)
            connection.notifies.clear()
            return notified
        except (psycopg2.Error, OSError, ValueError) as exc:
            log.warning("events.listen_failed", error=str(exc))
            self._close_listener()
            return True

    def _ensure_listener(self) -> bool:
        """Whether a listening connection is in place, opening one if needed."""
        if not self._listen:
            return False
        with self._listen_lock:
            current = self._listen_connection
            if current is not None and not current.closed:
                return True
            self._listen_connection = None
            try:
                params: dict[str, Any] = self._engine.url.translate_connect_args(
                    username="user", database="dbname"
                )
                params.update(self._engine.url.query)
                params.setdefault("application_name", LISTENER_APPLICATION_NAME)
                connection = psycopg2.connect(**params)
            except psycopg2.Error as exc:
                if not self._listen_failure_logged:
                    log.warning("events.listen_unavailable", error=str(exc))
                    self._listen_failure_logged = True
                return False
            try:
                connection.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            except psycopg2.Error as exc:
                connection.close()
                log.warning("events.listen_unavailable", error=str(exc))
                return False
            self._listen_connection = connection
            self._listen_failure_logged = False
            return True

    def _close_listener(self) -> None:
        with self._listen_lock:
            if self._listen_connection is not None:
                with contextlib.suppress(psycopg2.Error):
                    self._listen_connection.close()
            self._listen_connection = None

    def close(self) -> None:
        self._close_listener()
