"""Search attributes duban upserts so operators can find cases in the Temporal UI / CLI
(e.g. ``DubanStatus = 'escalated' AND DubanLevel = 'city'``). They must be registered on the
namespace before workers run (``duban up`` and the deploy job do it)."""

from __future__ import annotations

from typing import Any

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


async def register_search_attributes(client: Any, namespace: str) -> None:
    """Register duban's search attributes on ``namespace`` (existing ones are kept)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as exc:  # the time-skipping test server only implements "add"
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in ALL
        if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
