"""What the API (and the CLI) answer, built from the view models: the domain's grid units and
enterprises, the read models' rows and pages, the workflows' views, the store's events.

One function per view; the response models (``api/schemas/``) read the objects' own
attributes (``from_attributes``), so a field is named once, where the model declares it. Kept
apart from the routes so that the CLI shows what the API answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, TypeVar

from activities.eventstore import RecordedEvent
from activities.projections.read_models.cases import (
    CaseItem,
    CasePage,
)
from activities.projections.read_models.enterprises import (
    EnterpriseItem,
    EnterpriseSummary,
)
from api.schemas import (
    CreditEntryOut,
    CreditOut,
    CreditRecordOut,
    EnterpriseOut,
    EnterpriseRowOut,
    GridUnitDetailOut,
    GridUnitOut,
    HazardRowOut,
    Page,
    StoredEventOut,
)
from domain.case import state_from_data
from domain.grid import Enterprise, GridUnit
from workflows.case_view import (
    overdue_at,
)
from workflows.contracts import (
    CaseView,
    CreditView,
)

Row = TypeVar("Row")
Item = TypeVar("Item")


def jsonable(value: Any) -> Any:
    """Plain JSON values (datetimes as ISO 8601, bytes as hex) for an HTTP or CLI answer."""
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _attributes(view: Any) -> dict[str, Any]:
    """A dataclass's fields by name, one level deep (nested views stay objects)."""
    return {f.name: getattr(view, f.name) for f in fields(view)}


def page_of(
    rows: Sequence[Row], total: int, limit: int, offset: int, item: Callable[[Row], Item]
) -> Page[Item]:
    """A page of ``item(row)`` for each row: the one shape of every list."""
    return Page(items=[item(row) for row in rows], total=total, limit=limit, offset=offset)


# ---------------------------------------------------------------------- cases


def case_answer(view: CaseView, now: datetime) -> dict[str, Any]:
    """The workflow's answer, overdue (逾期) judged at ``now``, the server's clock
    (``workflows.case.overdue_at``)."""
    answer = asdict(view)
    state = state_from_data(view.state)
    if state is not None:
        answer |= overdue_at(state, now)
    return answer


def hazard_page(page: CasePage) -> Page[HazardRowOut]:
    """The case list: each line's read-model columns as JSON values (instants as the record
    spells them), with overdue judged at the list's ``now``."""

    def line(item: CaseItem) -> HazardRowOut:
        return HazardRowOut.model_validate(
            jsonable(
                {
                    "hazard_id": item.hazard_id,
                    "overdue": item.overdue,
                    "overdue_since": item.overdue_since,
                    "days_overdue": item.days_overdue,
                    **item.fields,
                }
            )
        )

    return page_of(page.items, page.total, page.limit, page.offset, line)


def stored_event(event: RecordedEvent) -> StoredEventOut:
    """A stored event as the history shows it (hashes in hex, instants in ISO 8601)."""
    return StoredEventOut.model_validate(
        {
            **event._asdict(),
            "event_id": str(event.event_id),
            "occurred_at": event.occurred_at.isoformat(),
            "recorded_at": event.recorded_at.isoformat(),
            "prev_hash": event.prev_hash.hex(),
            "hash": event.hash.hex(),
        }
    )


# ---------------------------------------------------------------------- grid, enterprises


def grid_unit(unit: GridUnit) -> GridUnitOut:
    return GridUnitOut.model_validate(unit)


def grid_unit_detail(unit: GridUnit, path: Sequence[GridUnit]) -> GridUnitDetailOut:
    return GridUnitDetailOut.model_validate(
        {**_attributes(unit), "path": [grid_unit(u) for u in path]}
    )


def enterprise(found: Enterprise) -> EnterpriseOut:
    return EnterpriseOut.model_validate(found)


def credit_state(item: EnterpriseSummary) -> str:
    """Where the enterprise's credit record stands, for the enterprise list."""
    if item.blacklisted:
        return "blacklisted"
    if item.open_proceeding_no is not None:
        return "proceeding_open"
    if item.credit_opened_at is not None:
        return "in_good_standing"
    return "no_record"


def enterprise_row(item: EnterpriseSummary) -> EnterpriseRowOut:
    return EnterpriseRowOut.model_validate(
        {**_attributes(item), "name": item.enterprise_name, "credit_state": credit_state(item)}
    )


# ---------------------------------------------------------------------- credit


def credit(
    found: Enterprise, item: EnterpriseItem | None, unrecorded: tuple[str, int]
) -> CreditOut:
    """The enterprise's credit as the read model holds it; before any case or credit event
    has reached the read model, nothing recorded: the policy's grade for that (every
    enterprise has a grade)."""
    if item is None:
        grade, points = unrecorded
        return CreditOut(
            credit_code=found.credit_code,
            enterprise_name=found.name,
            industry=found.industry,
            grid_code=found.grid_code,
            record_opened=False,
            rating=grade,
            rating_points=points,
            rating_now=grade,
            whitelist_eligible=None,
            blacklisted=False,
            blacklisted_until=None,
            early_removal_from=None,
            open_proceeding_no=None,
            objection_until=None,
            cases_registered=0,
            open_cases=0,
            overdue_cases=0,
            entries=[],
        )
    return CreditOut.model_validate(
        {
            **_attributes(item),
            "record_opened": item.credit_state is not None,
            "entries": [CreditEntryOut.model_validate(e) for e in item.credit_entries],
        }
    )


def credit_record(view: CreditView) -> CreditRecordOut:
    """The credit workflow's record after a command (its recorded entries as ``entries``)."""
    return CreditRecordOut.model_validate({**_attributes(view), "entries": view.recorded})
