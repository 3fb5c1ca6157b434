"""Fan-out: each outbox notification becomes its deliveries, once.

The outbox stays the single source (the workflow queues there, nothing else does). A fan-out
claims notifications not yet fanned out (``FOR UPDATE SKIP LOCKED``: several workers never
take the same one), resolves their recipients (``domain.recipients``) from the case's grid path
as registered, the accounts and the enterprise's contacts, renders the words in each
recipient's language (``domain.notices``) and writes, in the same transaction that marks the
notification fanned out:

- a row in ``inbox_messages`` per account (the inbox is delivered at once), and
- a row in ``notification_deliveries`` per (step, recipient, channel), the unique key that keeps
  a step from reaching one recipient twice on one channel, pending until the dispatcher sends
  it (not before the end of the person's quiet hours).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.engine import Connection, Engine

from domain.case.codec import event_from_data
from domain.case.events import HazardRegistered
from domain.grid import GridUnit
from domain.notices import CaseFacts, CreditFacts, Facts, QueuedNotice, render_notice
from domain.recipients import (
    INBOX,
    Contact,
    Person,
    QuietHours,
    must_acknowledge,
    not_before,
    resolve_recipients,
)

log = structlog.get_logger(__name__)

ACCOUNT_COLUMNS = (
    "login, display_name, role, scope, language, email, phone, chat_kind,"
    " quiet_from, quiet_until, disabled_at"
)


def person_of(row: Any) -> Person:
    quiet = QuietHours(row[8], row[9]) if row[8] is not None and row[9] is not None else None
    return Person(
        login=row[0],
        display_name=row[1],
        role=row[2],
        scope=row[3],
        language=row[4],
        email=row[5],
        phone=row[6],
        chat_kind=row[7],
        quiet=quiet,
        enabled=row[10] is None,
    )


@dataclass(frozen=True)
class _Subject:
    facts: Facts
    grid_path: tuple[GridUnit, ...]


class FanOut:
    """Turns outbox notifications into inbox messages and pending deliveries."""

    def __init__(
        self,
        engine: Engine,
        *,
        channels: Iterable[str],
        groups: Iterable[str] = (),
        public_url: str | None = None,
        time_zone: str = "Asia/Shanghai",
        default_language: str = "zh",
        batch_size: int = 50,
    ) -> None:
        self._language = default_language
        self._engine = engine
        self._channels = frozenset(channels)
        self._groups = tuple(groups)
        self._public_url = public_url
        self._time_zone = time_zone
        self._batch_size = batch_size

    def fan_out_once(self) -> int:
        """Fan out one batch; returns the notifications fanned out (0: nothing to do)."""
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, step_key, case_id, recipient_kind, recipient_id, payload"
                " FROM notification_outbox WHERE fanned_out_at IS NULL"
                " ORDER BY id LIMIT %(n)s FOR UPDATE SKIP LOCKED",
                {"n": self._batch_size},
            ).all()
            if not rows:
                return 0
            people = [
                person_of(r)
                for r in conn.exec_driver_sql(f"SELECT {ACCOUNT_COLUMNS} FROM accounts").all()
            ]
            subjects: dict[str, _Subject] = {}
            for outbox_id, step_key, case_id, kind, rid, payload in rows:
                if case_id not in subjects:
                    subjects[case_id] = self._subject(conn, case_id, payload)
                subject = subjects[case_id]
                contacts = _contacts(conn, rid) if kind == "enterprise" else []
                written = self._write(
                    conn, now, outbox_id, case_id, payload, subject, people, contacts
                )
                log.info(
                    "notifications.fanned_out",
                    step_key=step_key,
                    recipient_kind=kind,
                    deliveries=written,
                )
            conn.exec_driver_sql(
                "UPDATE notification_outbox SET fanned_out_at = clock_timestamp()"
                " WHERE id = ANY(%(ids)s)",
                {"ids": [r[0] for r in rows]},
            )
        return len(rows)

    def _write(
        self,
        conn: Connection,
        now: datetime,
        outbox_id: int,
        case_id: str,
        payload: Mapping[str, Any],
        subject: _Subject,
        people: list[Person],
        contacts: list[Contact],
    ) -> int:
        notice = QueuedNotice.from_payload(payload)
        recipients = resolve_recipients(
            notice.recipient_kind,
            notice.recipient_id,
            grid_path=subject.grid_path,
            accounts=people,
            contacts=contacts,
            channels=self._channels,
            groups=self._groups,
            default_language=self._language,
        )
        written = 0
        for recipient in recipients:
            text = render_notice(
                notice, subject.facts, language=recipient.language, public_url=self._public_url
            )
            for route in recipient.routes:
                sent = route.channel == INBOX
                due = not_before(now, recipient.quiet, subject.facts.time_zone)
                written += conn.exec_driver_sql(
                    "INSERT INTO notification_deliveries (outbox_id, step_key, case_id, kind,"
                    " recipient, recipient_name, channel, address, language, subject, body,"
                    " markdown, link, status, attempts, next_attempt_at, sent_at)"
                    " VALUES (%(o)s, %(k)s, %(c)s, %(kind)s, %(r)s, %(rn)s, %(ch)s, %(a)s,"
                    " %(lang)s, %(s)s, %(b)s, %(m)s, %(l)s, %(st)s, %(att)s, %(due)s,"
                    " CASE WHEN %(sent)s THEN clock_timestamp() END)"
                    " ON CONFLICT ON CONSTRAINT notification_deliveries_once DO NOTHING",
                    {
                        "o": outbox_id,
                        "k": notice.step_key,
                        "c": case_id,
                        "kind": notice.kind,
                        "r": recipient.key,
                        "rn": recipient.name,
                        "ch": route.channel,
                        "a": route.address,
                        "lang": recipient.language,
                        "s": text.subject,
                        "b": text.text,
                        "m": text.markdown,
                        "l": text.link,
                        "st": "sent" if sent else "pending",
                        "att": 1 if sent else 0,
                        "due": due,
                        "sent": sent,
                    },
                ).rowcount
                if sent and recipient.login is not None:
                    conn.exec_driver_sql(
                        "INSERT INTO inbox_messages (login, step_key, case_id, kind, subject,"
                        " body, link, must_acknowledge)"
                        " VALUES (%(l)s, %(k)s, %(c)s, %(kind)s, %(s)s, %(b)s, %(link)s, %(m)s)"
                        " ON CONFLICT ON CONSTRAINT inbox_messages_once DO NOTHING",
                        {
                            "l": recipient.login,
                            "k": notice.step_key,
                            "c": case_id,
                            "kind": notice.kind,
                            "s": text.subject,
                            "b": text.text,
                            "link": text.link,
                            "m": must_acknowledge(notice.kind, notice.recipient_kind),
                        },
                    )
        return written

    def _subject(self, conn: Connection, case_id: str, payload: Mapping[str, Any]) -> _Subject:
        """The facts every notice of ``case_id`` states, and the case's grid path as
        registered (the credit record has none: its notices name a grid unit by code)."""
        if case_id.startswith("credit-"):
            code = str(payload.get("credit_code") or case_id.removeprefix("credit-"))
            name = str(payload.get("enterprise_name") or code)
            return _Subject(CreditFacts(code, name, self._time_zone), ())
        row = conn.exec_driver_sql(
            "SELECT event_type, schema_version, data FROM events"
            " WHERE stream_id = %(s)s AND event_type = 'HazardRegistered'"
            " ORDER BY stream_version LIMIT 1",
            {"s": f"case-{case_id}"},
        ).first()
        if row is not None:
            data = row[2] if isinstance(row[2], dict) else json.loads(row[2])
            event = event_from_data(row[0], row[1], data)
            if isinstance(event, HazardRegistered):
                return _Subject(CaseFacts.of_registration(event), event.grid_path)
        # A notice of no case (the administrators' calendar notice): general facts.
        facts = CaseFacts(case_id, "—", "—", "—", "general", "deadline", self._time_zone)
        return _Subject(facts, ())


def _contacts(conn: Connection, credit_code: str) -> list[Contact]:
    return [
        Contact(r[0], r[1], r[2], r[3], r[4])
        for r in conn.exec_driver_sql(
            "SELECT credit_code, role, name, phone, email FROM enterprise_contacts"
            " WHERE credit_code = %(c)s",
            {"c": credit_code},
        ).all()
    ]
