"""Who the credit record tells, and why: the events that reach a person (告知 is a legal step,
Order 11) as notices for the outbox, one per recipient, keyed by the event so that a retried
step queues each notice once."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.credit import (
        credit_event_to_data,
    )
    from domain.credit.events import (
        BlacklistExpired,
        BlacklistPublished,
        CreditEvent,
        EarlyRemovalApproved,
        EarlyRemovalRejected,
        EarlyRemovalRevoked,
        ListingDecided,
        ProceedingNoticeIssued,
    )
    from workflows.contracts import NotificationToQueue
    from workflows.ids import credit_stream_id

TOLD: dict[type[CreditEvent], tuple[str, ...]] = {
    ProceedingNoticeIssued: ("enterprise",),
    ListingDecided: ("enterprise",),
    BlacklistPublished: ("enterprise", "grid_unit"),
    EarlyRemovalApproved: ("enterprise", "grid_unit"),
    EarlyRemovalRejected: ("enterprise",),
    EarlyRemovalRevoked: ("enterprise", "grid_unit"),
    BlacklistExpired: ("enterprise", "grid_unit"),
}


def credit_notices(
    event: CreditEvent,
    event_id: str,
    credit_code: str,
    enterprise_name: str,
    grid_code: str,
) -> list[NotificationToQueue]:
    """The notices ``event`` (recorded as ``event_id``) sends: none to a recipient unknown yet
    (a record whose grid unit no case has named)."""
    kinds = TOLD.get(type(event), ())
    recipients = {"enterprise": credit_code, "grid_unit": grid_code}
    return [
        NotificationToQueue(
            step_key=f"{credit_stream_id(credit_code)}:{event_id}:{kind}",
            recipient_kind=kind,
            recipient_id=recipients[kind],
            reason=_reason(event),
            event_type=event.EVENT_TYPE,
            payload={
                "credit_code": credit_code,
                "enterprise_name": enterprise_name,
                "event": credit_event_to_data(event),
            },
        )
        for kind in kinds
        if recipients[kind]
    ]


def _reason(event: CreditEvent) -> str:
    number = getattr(event, "proceeding_no", "")
    return f"credit_{event.EVENT_TYPE}" + (f":{number}" if number else "")
