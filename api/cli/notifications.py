"""``duban notifications …``: the deliveries of notices (the operator's queue) and the contact
channels they use.

- ``list``: deliveries per (step, recipient, channel), by status (``given_up``: the operator's
  queue; ``pending``: waiting for their next attempt) and channel; ``--figures`` the counts
  per channel (sent, failed attempts, pending, given up, the oldest wait).
- ``retry``: given-up deliveries back in the queue (all, or ``--id`` ones).
- ``contact``: an account's e-mail, phone, chat robot and quiet hours. The robot's signing
  secret is never an argument (arguments show in ``ps`` and the shell's history): it is read
  from ``DUBAN_CHAT_SECRET`` or asked for, hidden, with ``--ask-chat-secret``.
- ``enterprise-contact``: an enterprise's 主要负责人 (principal) / 安全管理人员 (safety_manager).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from activities.deliveries.operations import (
    STATUSES,
    channel_figures,
    list_deliveries,
    retry_deliveries,
    set_account_contacts,
    set_enterprise_contact,
)
from activities.reference_data import ReferenceDataError
from api.cli.common import command_runtime, display_zone, duban_typer, format_instant, refuse

notifications_app = duban_typer(
    help="Notices' deliveries: the operator's queue, retries, people's contact channels."
)
console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _refused(exc: ReferenceDataError) -> typer.Exit:
    return refuse(f"{exc.field}: {exc.message} ({exc.rule})")


@notifications_app.command("list")
def notifications_list(
    status: Annotated[
        str | None, typer.Option(help=f"only deliveries in this state: {', '.join(STATUSES)}")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="only this channel (email, wecom, …)")] = None,
    case: Annotated[str | None, typer.Option(help="only this case's (a hazard id)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    figures: Annotated[bool, typer.Option("--figures", help="Counts per channel.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Deliveries of notices: who, on which channel, their state, attempts and last failure."""
    runtime = command_runtime()
    try:
        if figures:
            per_channel = channel_figures(runtime.engine)
        else:
            rows, total = list_deliveries(
                runtime.engine, status=status, channel=channel, case_id=case, limit=limit
            )
    except ReferenceDataError as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()
    if figures:
        if as_json:
            sys.stdout.write(json.dumps([f.__dict__ for f in per_channel]) + "\n")
            return
        table = Table("channel", "sent", "failed attempts", "pending", "given up", "oldest wait s")
        for f in per_channel:
            table.add_row(
                f.channel,
                str(f.sent),
                str(f.failed_attempts),
                str(f.pending),
                str(f.given_up),
                f"{f.lag_seconds:.0f}",
            )
        console.print(table)
        return
    if as_json:
        payload = {"items": [r.to_json() for r in rows], "total": total}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    zone = display_zone(runtime.settings)
    table = Table(
        Column("id", no_wrap=True),
        "recipient",
        "channel",
        "kind",
        "case",
        "status",
        "attempts",
        "next / sent",
        "last failure",
    )
    for r in rows:
        when = r.sent_at if r.status == "sent" else (r.given_up_at or r.next_attempt_at)
        table.add_row(
            str(r.id),
            f"{r.recipient_name} ({r.recipient})",
            r.channel,
            r.kind,
            r.case_id,
            r.status,
            str(r.attempts),
            format_instant(when, zone),
            f"{r.last_code}: {r.last_error}" if r.last_code else "",
        )
    console.print(table)
    console.print(f"{len(rows)} of {total}", markup=False)


@notifications_app.command("retry")
def notifications_retry(
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="a given-up delivery's id (repeatable)")
    ] = None,
) -> None:
    """Put given-up deliveries back in the queue, due now (every one, or the --id ones)."""
    runtime = command_runtime()
    try:
        count = retry_deliveries(runtime.engine, ids or None)
    finally:
        runtime.close()
    console.print(f"{count} given-up deliveries queued again", markup=False)


CHAT_SECRET_VARIABLE = "DUBAN_CHAT_SECRET"


def _chat_secret(ask: bool) -> str | None:
    """The chat robot's signing secret: typed at a hidden prompt, or from the environment."""
    if ask:
        secret: str = typer.prompt("chat robot signing secret", hide_input=True)
        return secret.strip() or None
    return os.environ.get(CHAT_SECRET_VARIABLE, "").strip() or None


@notifications_app.command("contact")
def notifications_contact(
    login: Annotated[str, typer.Argument(help="the account's login name")],
    email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
    phone: Annotated[str | None, typer.Option(help="mobile phone (SMS)")] = None,
    chat_kind: Annotated[str | None, typer.Option(help="wecom, dingtalk or feishu")] = None,
    chat_url: Annotated[str | None, typer.Option(help="the person's chat robot URL")] = None,
    ask_chat_secret: Annotated[
        bool,
        typer.Option(
            "--ask-chat-secret",
            help=f"ask for the robot's signing secret (hidden); or set {CHAT_SECRET_VARIABLE}",
        ),
    ] = False,
    quiet_hours: Annotated[
        str | None, typer.Option(help="HH:MM-HH:MM in the policy's time zone, e.g. 22:00-07:00")
    ] = None,
) -> None:
    """Set an account's contact channels and quiet hours (an option left out: none). The chat
    robot's signing secret: from the environment variable DUBAN_CHAT_SECRET, or typed at the
    hidden prompt of --ask-chat-secret; never on the command line."""
    chat_secret = _chat_secret(ask_chat_secret)
    runtime = command_runtime()
    try:
        set_account_contacts(
            runtime.engine,
            login.strip().lower(),
            email=email,
            phone=phone,
            chat_kind=chat_kind,
            chat_url=chat_url,
            chat_secret=chat_secret,
            quiet_hours=quiet_hours,
        )
    except ReferenceDataError as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()
    console.print(f"contact channels of {login} set", markup=False)


@notifications_app.command("enterprise-contact")
def notifications_enterprise_contact(
    credit_code: Annotated[str, typer.Argument(help="统一社会信用代码")],
    role: Annotated[
        str, typer.Option(help="principal (主要负责人) or safety_manager (安全管理人员)")
    ],
    name: Annotated[str, typer.Option(help="the person's name")],
    phone: Annotated[str | None, typer.Option(help="mobile phone (SMS)")] = None,
    email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
) -> None:
    """Register (or replace) an enterprise's contact; notices to the enterprise reach them."""
    runtime = command_runtime()
    try:
        contact = set_enterprise_contact(
            runtime.engine, credit_code.strip().upper(), role, name, phone=phone, email=email
        )
    except ReferenceDataError as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()
    console.print(f"{contact.role} of {contact.credit_code}: {contact.name}", markup=False)
