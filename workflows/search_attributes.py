"""Search attributes duban upserts so operators can find cases in the Temporal UI / CLI
(e.g. ``DubanStatus = 'escalated' AND DubanLevel = 'city'``). They must be registered on the
namespace before workers run (``activities/temporal_setup.py`` for ``duban up``, the deploy job
with the Temporal CLI)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

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
