"""Who reads a notice, and on which channels (pure): 通知对象与渠道.

A queued notification names its recipient the way the workflow knows it: the enterprise by its
credit code, a grid unit's responsible person by name (as the case's grid path records them), a
grid unit by its code, the administrators. ``resolve_recipients`` turns that into people: the
accounts in the console (the responsible inspector and supervisor of each unit the name stands
for on the case's path; the enterprise's own accounts; the administrators) and, for an
enterprise, its registered contacts (主要负责人, 安全管理人员) with their phone and e-mail. Each
recipient comes with the channels it can be reached on: the console inbox (every account),
e-mail and SMS where an address is known and the deployment has the channel, the person's own
work-chat robot; the bureau's own group robots (settings) read every notice addressed to the
bureau's people.

The adapters (activities/deliveries) feed this module the accounts, contacts and the case's
grid path, and record its answer as delivery rows; nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.case.service import SERVED_NOTICE_KINDS
from domain.credit.dispatch import SERVED_CREDIT_KINDS
from domain.grid import GridUnit

INBOX = "inbox"
CHAT_CHANNELS = ("wecom", "dingtalk", "feishu")
GRID_ROLES = ("supervisor", "inspector")
CONTACT_ROLES = ("principal", "safety_manager")  # 主要负责人, 安全管理人员
# Recipients named by a person of the grid (the case's path records their names).
_PERSON_KINDS = ("grid_responsible", "listing_authority", "enforcement")
# Recipients that are not the bureau's people: the bureau's group robots stay out of these.
_OUTSIDE_KINDS = ("enterprise", "public_register")

# The notices an enterprise must be served (送达): the rectification notice, the listing, the
# supervision letter of an escalation, and the credit proceeding's 告知书 and 决定书. Reading
# one in the inbox is the enterprise's acknowledgement (签收), recorded by the case's or the
# credit record's own rule.
SERVED_KINDS = frozenset((*SERVED_NOTICE_KINDS, *SERVED_CREDIT_KINDS))


@dataclass(frozen=True)
class QuietHours:
    """Wall-clock times in the policy's time zone during which only the inbox is used; a
    window may cross midnight (22:00-07:00)."""

    start: time
    end: time

    def covers(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class Person:
    """An account as a recipient: who, in which language, and how to reach them."""

    login: str
    display_name: str
    role: str
    scope: str | None
    language: str = "zh"
    email: str | None = None
    phone: str | None = None
    chat_kind: str | None = None  # one of CHAT_CHANNELS, with a robot URL of their own
    quiet: QuietHours | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Contact:
    """An enterprise's registered contact (主要负责人 / 安全管理人员)."""

    credit_code: str
    role: str  # one of CONTACT_ROLES
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Route:
    """One channel of a recipient and the address on it (the login for the inbox, the e-mail
    address, the phone number; a chat robot's address is the account's own, read when sent)."""

    channel: str
    address: str


@dataclass(frozen=True)
class Recipient:
    key: str  # account:<login> | contact:<credit code>:<role> | group:<channel>
    name: str
    language: str
    routes: tuple[Route, ...]
    login: str | None = None
    quiet: QuietHours | None = None


def resolve_recipients(
    recipient_kind: str,
    recipient_id: str,
    *,
    grid_path: Sequence[GridUnit],
    accounts: Iterable[Person],
    contacts: Iterable[Contact],
    channels: Iterable[str],
    groups: Iterable[str] = (),
    default_language: str = "zh",
) -> list[Recipient]:
    """The people a notification addressed to (``recipient_kind``, ``recipient_id``) reaches.

    ``grid_path``: the case's path as registered (empty for a credit record); ``accounts``: the
    enabled accounts; ``contacts``: the enterprise's contacts; ``channels``: the channels the
    deployment has besides the inbox; ``groups``: the bureau's group robots configured;
    ``default_language``: the words for those who have no account (contacts, groups).
    A name matched by no unit of the path falls back to the grid's accounts (inspectors,
    supervisors) of that display name on the case's path (``_named_grid_people``), so a notice
    is never silently dropped because a grid unit changed its person.
    """
    available = frozenset(channels)
    people = [a for a in accounts if a.enabled]
    chosen: list[Person] = []
    found: list[Recipient] = []
    if recipient_kind == "enterprise":
        chosen = [a for a in people if a.role == "enterprise" and a.scope == recipient_id]
        for contact in sorted(contacts, key=lambda c: CONTACT_ROLES.index(c.role)):
            if contact.credit_code != recipient_id:
                continue
            routes = _routes(None, contact.email, contact.phone, None, available)
            if routes:
                found.append(
                    Recipient(
                        f"contact:{contact.credit_code}:{contact.role}",
                        contact.name,
                        default_language,
                        routes,
                    )
                )
    elif recipient_kind in _PERSON_KINDS:
        units = {u.code for u in grid_path if u.responsible_person == recipient_id}
        chosen = [a for a in people if a.role in GRID_ROLES and a.scope in units]
        if not chosen:
            chosen = _named_grid_people(people, recipient_id, grid_path)
    elif recipient_kind == "grid_unit":
        chosen = [a for a in people if a.role in GRID_ROLES and a.scope == recipient_id]
    elif recipient_kind == "admin":
        chosen = [a for a in people if a.role == "admin"]
    accounts_found = [
        Recipient(
            f"account:{a.login}",
            a.display_name,
            a.language,
            _routes(a.login, a.email, a.phone, a.chat_kind, available),
            login=a.login,
            quiet=a.quiet,
        )
        for a in sorted(chosen, key=lambda a: a.login)
    ]
    if recipient_kind not in _OUTSIDE_KINDS:
        found += [
            Recipient(f"group:{g}", g, default_language, (Route(g, "group"),))
            for g in sorted(set(groups))
            if g in CHAT_CHANNELS
        ]
    return accounts_found + found


def _named_grid_people(
    people: Sequence[Person], name: str, grid_path: Sequence[GridUnit]
) -> list[Person]:
    """The fallback for a person no unit of the path names: the grid's accounts of that display
    name, scoped to a unit of the case's path when there is one. Never an enterprise's or any
    other account: a display name is typed by whoever holds the account, so anyone could take a
    grid person's name and read what is addressed to them."""
    on_path = {u.code for u in grid_path}
    return [
        a
        for a in people
        if a.display_name == name and a.role in GRID_ROLES and (not on_path or a.scope in on_path)
    ]


def _routes(
    login: str | None,
    email: str | None,
    phone: str | None,
    chat_kind: str | None,
    available: frozenset[str],
) -> tuple[Route, ...]:
    routes = [Route(INBOX, login)] if login else []
    if email and "email" in available:
        routes.append(Route("email", email))
    if phone and "sms" in available:
        routes.append(Route("sms", phone))
    if chat_kind in CHAT_CHANNELS:
        routes.append(Route(chat_kind, "own"))
    return tuple(routes)


def must_acknowledge(kind: str, recipient_kind: str) -> bool:
    """Whether reading this notice is the enterprise's acknowledgement of service (签收)."""
    return recipient_kind == "enterprise" and kind in SERVED_KINDS


def not_before(now: datetime, quiet: QuietHours | None, time_zone: str) -> datetime:
    """When a message to a person with ``quiet`` hours may go out: ``now``, or the end of the
    quiet window ``now`` falls in (on the policy's wall clock)."""
    if quiet is None:
        return now
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    if not quiet.covers(local.time()):
        return now
    end = datetime.combine(local.date(), quiet.end, zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, zone)
    return end


def retry_delay(
    attempts: int, *, base_seconds: float, max_seconds: float, advised: float | None = None
) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: exponential from
    ``base_seconds``, capped, never sooner than the provider advised (Retry-After)."""
    delay: float = min(base_seconds * 2.0 ** max(min(attempts - 1, 30), 0), max_seconds)
    return max(delay, advised or 0.0)


def parse_quiet_hours(text: str) -> QuietHours:
    """``22:00-07:00`` as quiet hours; raises ValueError naming the rule."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
    except ValueError:
        raise ValueError("quiet hours are HH:MM-HH:MM, e.g. 22:00-07:00") from None
    return QuietHours(start, end)
