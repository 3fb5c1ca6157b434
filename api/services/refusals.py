"""Refusals: an answer other than success (status, rule, message, field), and how a domain
rule's refusal, a workflow's refusal of an update, or Temporal or PostgreSQL not answering
becomes one.

Services raise ``Refused``; ``api/errors.py`` turns it into the JSON error shape and the CLI
into one line. Kept apart from the services so that both, and the idempotency ledger, can
refuse without importing the services themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import DomainError

log = structlog.get_logger(__name__)


class Refused(Exception):
    """An answer other than success: HTTP status, rule, message and the field at fault."""

    def __init__(self, status: int, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.rule = rule
        self.message = message
        self.field = field


def forbidden(message: str) -> Refused:
    return Refused(403, "access.forbidden", message)


def not_found(what: str) -> Refused:
    return Refused(404, "not_found", f"{what} not found")


def credit_code_refusal(field: str) -> Refused:
    return Refused(
        422, "credit_code.gb32100_check", "统一社会信用代码 fails its GB 32100-2015 check", field
    )


# Fields a domain rule may name that are not in the request: who acts (the token's role and
# grid unit) and when (the server's clock, the calendar the case waits for).
_WHO_ACTS = frozenset({"actor.role", "actor.unit_code", "actor.unit_level"})
# Rules about who may act, whatever field they name: the grid unit's authority on a case or a
# credit record, and a listing level above the acting unit's.
_WHO_ACTS_RULES = ("case.authority.", "credit.authority.", "case.list.level_above_actor")
_NOT_THE_REQUEST = frozenset({"now", "calendar"})


def refusal_status(rule: str, field: str | None) -> int:
    """The HTTP status of a domain rule's refusal: 403 when it is about who acts (the actor's
    role, grid unit or its level: ``case.authority.*``, ``credit.authority.*``, a listing
    above the acting unit's level, a listing authority's own act), 409 when it is
    about the case's state or time (``case.timer.due_first``, ``case.listing.period_ended``),
    422 when it names a field of the request (``listing_measures``, ``level``…)."""
    if rule.startswith(_WHO_ACTS_RULES) or field in _WHO_ACTS:
        return 403
    if field is None or field in _NOT_THE_REQUEST:
        return 409
    return 422


def domain_refusal(exc: DomainError) -> Refused:
    return Refused(refusal_status(exc.rule, exc.field), exc.rule, exc.message, exc.field)


def update_refusal(exc: WorkflowUpdateFailedError) -> Refused:
    """A workflow's refusal of an Update (its validator's or handler's ``ApplicationError``,
    typed with the domain's rule): the same answer as the domain's own refusal."""
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        field = details.get("field") if isinstance(details, dict) else None
        rule = cause.type or "refused"
        if rule == "forbidden":
            return Refused(403, "access.forbidden", cause.message)
        return Refused(refusal_status(rule, field), rule, cause.message, field)
    return Refused(409, "refused", str(cause or exc))


def temporal_unavailable(exc: Exception) -> Refused:
    """Temporal did not give an answer (down, overloaded, timed out): 503, ask again later.
    The RPC's own text goes to the log; the caller learns what to do, not our topology."""
    status = getattr(exc, "status", None)
    log.warning("temporal.unavailable", error=str(exc), status=getattr(status, "name", None))
    code = f" ({status.name})" if isinstance(status, RPCStatusCode) else ""
    return Refused(
        503,
        "temporal.unavailable",
        f"the workflow service did not answer{code}; try again shortly (a command may have "
        "reached its case before the answer was lost: send it again with the same "
        "Idempotency-Key, or read the case before sending it without one)",
    )


def database_unavailable(exc: Exception) -> Refused:
    """PostgreSQL did not answer (down, restarting, out of connections, a statement timed
    out): 503, ask again later. Nothing was recorded by this request: every write of the API
    is one transaction (reference data) or goes through a workflow (cases, credit)."""
    log.warning("database.unavailable", error=str(exc).splitlines()[0] if str(exc) else "")
    return Refused(503, "database.unavailable", "the database did not answer; try again shortly")


@contextmanager
def temporal_answers(not_found: Refused | None = None) -> Iterator[None]:
    """Turn what Temporal says into an answer: an update's refusal is the domain's 409/422, an
    unknown workflow ``not_found``, any other RPC failure 503 — never a 500."""
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        raise update_refusal(exc) from exc
    except WorkflowQueryFailedError as exc:
        raise Refused(409, "workflow.query_failed", str(exc)) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise temporal_unavailable(exc) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND and not_found is not None:
            raise not_found from exc
        raise temporal_unavailable(exc) from exc
