"""The hazard ledger (台账) as a file download: ``GET /ledger/{unit_code}?from=&to=&format=``.

A file, not a list: no Page shape. The access rules are the lists' (``api/services/ledger.py``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import GridCodePath, PrincipalDep, ServicesDep
from api.services.ledger import MEDIA_TYPES, LedgerFormat

router = APIRouter(tags=["reports"])


@router.get(
    "/ledger/{unit_code}",
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}},
)
def ledger(
    unit_code: GridCodePath,
    services: ServicesDep,
    principal: PrincipalDep,
    first: Annotated[date, Query(alias="from", description="first day found (发现日期), included")],
    last: Annotated[date, Query(alias="to", description="last day found, included")],
    file_format: Annotated[LedgerFormat, Query(alias="format")] = "xlsx",
) -> Response:
    """隐患排查治理台账: every hazard found from ``from`` to ``to`` (days in the policy's time
    zone) in the unit's subtree, one line each (发现日期, 企业, 隐患级别, 类别, 整改措施, 责任人,
    整改期限, 状态, 整改完成日期, 复查人, 挂牌级别, 升级次数), as Excel or CSV."""
    result = services.ledger_file(principal, unit_code, first, last, file_format)
    return Response(
        content=result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "X-Ledger-Lines": str(result.lines),
        },
    )
