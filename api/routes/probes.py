"""The probes outside /api/v1 and the OpenAPI document: liveness, readiness (the database
and Temporal answer; the calendar's warning reported, never failing it) and the Prometheus
metrics of this process."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from activities.health import (
    database_reachable,
    temporal_reachable,
)
from activities.metrics import (
    render_metrics,
)
from api.deps import ServicesDep

log = structlog.get_logger(__name__)

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready to serve: the database and Temporal both answer. Unauthenticated probes get
    a yes or no per dependency; why it failed (addresses, driver messages) goes to the
    log, not to whoever asks."""
    database = await run_in_threadpool(database_reachable, services.engine)
    temporal = await temporal_reachable(services.temporal)
    if not (database[0] and temporal[0]):
        log.warning(
            "readiness.not_ready",
            database_ok=database[0],
            database_detail=database[1],
            temporal_ok=temporal[0],
            temporal_detail=temporal[1],
        )
    checks: dict[str, dict[str, Any]] = {
        name: {"ok": ok, "reason": "ok" if ok else "unreachable"}
        for name, (ok, _) in (("database", database), ("temporal", temporal))
    }
    ready = database[0] and temporal[0]
    if services.calendar_source is not None:
        # Reported, never failing readiness: taking the API out of service would not load
        # a year. A broken file or a missing year is for the administrator to mend.
        status = await run_in_threadpool(services.calendar_source.status, services.policy)
        checks["calendar"] = status.readiness()
    return JSONResponse(
        status_code=200 if ready else 503, content={"ready": ready, "checks": checks}
    )


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus text: this process's duban metrics."""
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)
