"""Search attributes duban upserts so operators can find cases in the Temporal UI / CLI
(e.g. ``DubanStatus = 'escalated' AND DubanLevel = 'city'``). They must be registered on the
namespace before workers run (``activities/temporal_setup.py`` for ``duban up``, the deploy job
with the Temporal CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

if TYPE_CHECKING:
    from domain.case import CaseState

CASE_STATUS = SearchAttributeKey.for_keyword("DubanStatus")
CASE_LEVEL = SearchAttributeKey.for_keyword("DubanLevel")
CASE_DEADLINE = SearchAttributeKey.for_datetime("DubanDeadline")
CASE_GRID = SearchAttributeKey.for_keyword("DubanGrid")
CASE_ENTERPRISE = SearchAttributeKey.for_keyword("DubanEnterprise")
CASE_LISTED = SearchAttributeKey.for_keyword("DubanListed")

ALL: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    CASE_STATUS,
    CASE_LEVEL,
    CASE_DEADLINE,
    CASE_GRID,
    CASE_ENTERPRISE,
    CASE_LISTED,
)


def case_search_attributes(state: CaseState) -> list[SearchAttributeUpdate[Any]]:
    """What the case workflow upserts after each recorded step (its deadline unset once none
    is running)."""
    updates: list[SearchAttributeUpdate[Any]] = [
        CASE_STATUS.value_set(state.status.value),
        CASE_LEVEL.value_set(state.supervising_level.value),
        CASE_GRID.value_set(state.supervising_unit_code),
        CASE_ENTERPRISE.value_set(state.credit_code),
        CASE_LISTED.value_set(state.listing.level.value if state.listing else "none"),
    ]
    updates.append(
        CASE_DEADLINE.value_set(state.deadline)
        if state.deadline is not None
        else CASE_DEADLINE.value_unset()
    )
    return updates
