"""What ``duban up`` says once its API answers: the banner (addresses, the policy in force —
the drill policy loudly —, the data directory, the admin token, the calendar's warnings)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from activities.rules import RulesActivities
from activities.settings import Settings
from api.console.demo import DEMO_ACCOUNTS_FILE, DemoAccount
from api.up_parts import ADMIN_TOKEN_FILE
from domain.policy import Policy

# The shipped drill policy's name: every duration in seconds, never for real cases.
DRILL_POLICY_NAME = "drill"
# Banner lines starting with this are printed loud (bold red).
LOUD = "!!!"


@dataclass(frozen=True)
class PolicyInForce:
    """The policy new cases are registered under, as the banner names it."""

    source: str
    name: str
    version: str
    edition: int
    time_zone: str

    @staticmethod
    def of(settings: Settings) -> PolicyInForce:
        """Read (and check) the configured policy: a file duban cannot use stops `duban up`
        before anything starts (``DomainError``, naming the file and the key)."""
        snapshot = RulesActivities(settings).snapshot()
        policy = Policy.from_data(snapshot.policy)
        source = snapshot.policy_source
        if settings.policy_file is not None:
            source = str(settings.policy_file.resolve())
        return PolicyInForce(source, policy.name, policy.version, policy.edition, policy.time_zone)

    @property
    def is_drill(self) -> bool:
        return self.name == DRILL_POLICY_NAME

    def describe(self) -> str:
        return (
            f"{self.source} ({self.name}, version {self.version}, edition {self.edition}, "
            f"time zone {self.time_zone})"
        )


@dataclass(frozen=True)
class BannerFacts:
    """Everything the banner says, gathered while starting."""

    database: str
    api_base: str
    temporal_ui_url: str | None
    temporal_address: str
    webhook: bool
    tracing: bool
    policy: PolicyInForce
    data_dir: Path
    token: str
    token_reused: bool
    calendar_warnings: list[str] = field(default_factory=list)
    # The demo county's people: how to sign in to the console.
    console_accounts: list[DemoAccount] = field(default_factory=list)


def banner_lines(facts: BannerFacts) -> list[str]:
    """What `duban up` prints once its API answers, one string a line (a line that starts
    with ``LOUD`` is printed in bold red)."""
    lines = [
        f"PostgreSQL:  {facts.database}",
        f"API:         {facts.api_base}/api/v1",
        f"API docs:    {facts.api_base}/docs",
    ]
    if facts.temporal_ui_url is not None:
        lines.append(f"Temporal UI: {facts.temporal_ui_url}")
    else:
        lines.append(f"Temporal:    {facts.temporal_address} (DUBAN_TEMPORAL_ADDRESS)")
    if facts.tracing:
        lines.append("tracing:     spans exported by OTLP/HTTP (DUBAN_OTEL_ENDPOINT)")
    if facts.webhook:
        # Not the URL itself: it may carry a key.
        lines.append("webhook:     notifications are POSTed to DUBAN_WEBHOOK_URL")
    lines.append(f"policy:      {facts.policy.describe()}")
    if facts.policy.is_drill:
        lines.append(
            f"{LOUD} DRILL POLICY (演练): every deadline is seconds long; never use it for real "
            f"cases. Unset DUBAN_POLICY_FILE for the real rules. {LOUD}"
        )
    duban = Path(sys.executable).parent / "duban"  # the venv's, beside this Python
    lines += [
        f"data:        {facts.data_dir} (every duban command finds this stack through "
        "running.json there)",
        f"commands:    {duban} --help (in another terminal)",
        f"admin token: {facts.token}",
        f"             ({'the same as last time, ' if facts.token_reused else ''}kept in "
        f"{facts.data_dir / ADMIN_TOKEN_FILE}, mode 0600, and printed again by the next "
        "`duban up`)",
    ]
    lines += console_lines(facts)
    lines.append(
        "Ctrl-C stops everything started here; the next `duban up` resumes every open case."
    )
    return lines + facts.calendar_warnings


def console_lines(facts: BannerFacts) -> list[str]:
    """The console's address and the demo accounts' sign-in lines (login, password, role,
    scope); an account whose password was changed since is named without it."""
    lines = [
        f"console:     {facts.api_base}/console/",
        f"inbox:       {facts.api_base}/console/inbox (each person's reminders and escalations; "
        "`duban notifications list` for every delivery)",
    ]
    width = max((len(a.login) for a in facts.console_accounts), default=0)
    for number, account in enumerate(facts.console_accounts):
        label = "sign in:    " if number == 0 else "            "
        if account.disabled:
            secret = "(disabled: duban user enable " + account.login + ")"
        elif account.password is None:
            secret = "(password changed since: duban user reset-password " + account.login + ")"
        else:
            secret = account.password
        where = f"{account.role}, {account.scope}" if account.scope else account.role
        lines.append(f"{label} {account.login:<{width}}  {secret}  ({where})")
    if facts.console_accounts:
        lines.append(
            f"             (kept in {facts.data_dir / DEMO_ACCOUNTS_FILE}, mode 0600, and printed "
            "again by the next `duban up`; `duban user --help` for more accounts)"
        )
    return lines
