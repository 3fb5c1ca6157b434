"""The ``duban`` command line: one entry point for operators, supervisors and auditors
(``main``, the ``duban`` script of pyproject.toml). One module per command group:

- ``operations.py``: ``up``, ``api``, ``worker``, ``migrate``, ``load``.
- ``tokens.py``: ``token create|list|revoke``.
- ``hazards.py``: ``hazard register|show|list``.
- ``audit.py`` (a case's record) and ``audit_chain.py`` (the hash chain, checkpoints): ``audit …``.
- ``projections.py``: ``projections rebuild|run``.
- ``calendar.py``: ``calendar show|check|load``.
- ``users.py``: ``user create|list|disable|enable|reset-password`` (people's console accounts).
- ``notifications.py``: ``notifications list|retry|contact|enterprise-contact`` (deliveries).
- ``files.py``: ``audit verify-files`` (the evidence files in the blob store).
- ``common.py``: what every command shares (settings, one-line refusals, instants shown).
"""

from __future__ import annotations

from api.cli.audit import audit_app
from api.cli.calendar import calendar_app
from api.cli.common import duban_typer
from api.cli.files import verify_files_command
from api.cli.hazards import hazard_app
from api.cli.ledger import ledger_command
from api.cli.notifications import notifications_app
from api.cli.operations import operations_app
from api.cli.projections import projections_app
from api.cli.tokens import token_app
from api.cli.users import user_app

app = duban_typer(help="duban 督办 — durable supervision of workplace-safety hazards.")
app.add_typer(operations_app)  # its commands at the top level, listed first
app.add_typer(audit_app, name="audit")
audit_app.command("verify-files")(verify_files_command)
app.add_typer(token_app, name="token")
app.add_typer(hazard_app, name="hazard")
app.command("ledger")(ledger_command)
app.add_typer(projections_app, name="projections")
app.add_typer(calendar_app, name="calendar")
app.add_typer(user_app, name="user")
app.add_typer(notifications_app, name="notifications")


def main() -> None:
    app()


__all__ = ["app", "main"]
