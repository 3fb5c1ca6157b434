"""The auditor's pages: find any case by its id, read its stored history with the hash links
(the API's ``GET /hazards/{id}/history``), move a slider over its events or pick an instant to
see the case as duban knew it then (the as-of replay of ``GET /hazards/{id}/as-of`` and
``duban audit replay``: the domain's ``evolve`` over the stored events only), the case's chain
checked now against the kept checkpoints, and the dossier (一案一档) to download — the archive
``duban audit export`` writes, streamed.

Reading changes nothing: every route here is a GET, for the auditor only.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Query, Request
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, RedirectResponse, Response
from temporalio.client import Client

from activities.audit.checkpoints import (
    load_checkpoint_directory,
    verify_stream_against_checkpoints,
)
from activities.audit.replay import replay_case, replay_events
from activities.eventstore import CheckpointInvalid
from api.console.actions import local_input, local_instant
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render
from api.routes.audit import history
from api.schemas import HAZARD_ID_PATTERN
from api.services import Services
from api.services.refusals import Refused
from workflows.ids import case_stream_id

router = ConsoleRouter("audit")
AUDITOR = ("auditor",)
HOME = "/console/audit"
DOSSIER = "/console/audit/dossier"
router.start_page("auditor", HOME, priority=10)
router.nav(HOME, "nav.audit", roles=AUDITOR, order=5)
CaseQuery = Annotated[str, Query(max_length=80)]

add_messages(
    {
        "nav.audit": ("案件审计", "Audit a case"),
        "audit.title": ("案件审计", "Audit a case"),
        "audit.intro": (
            "输入隐患编号，查看案件存储的全部事件及其哈希链，并回放任一时刻的案件状态。",
            "Enter a hazard id to read the case's stored events with their hash links and "
            "replay its state at any moment.",
        ),
        "audit.case": ("隐患编号", "Hazard id"),
        "audit.find": ("查找", "Find"),
        "audit.case_title": ("案件 {hazard_id}", "Case {hazard_id}"),
        "audit.full_case": ("案件页面", "The case page"),
        "audit.as_of": ("回放到某一时刻", "Replay to a moment"),
        "audit.slider": (
            "按事件移动（第 {version} / {total} 个事件）",
            "By event ({version} of {total})",
        ),
        "audit.at": ("或选择时刻", "Or pick an instant"),
        "audit.show": ("回放", "Replay"),
        "audit.state_at": (
            "截至 {at}，已记录 {applied} / {total} 个事件时的案件状态",
            "The case as of {at}: {applied} of {total} events recorded",
        ),
        "audit.not_yet": (
            "该时刻案件尚未登记。",
            "The case was not registered yet at that moment.",
        ),
        "audit.state.status": ("状态", "State"),
        "audit.state.deadline": ("整改期限", "Deadline"),
        "audit.state.escalation": ("升级次数", "Escalations"),
        "audit.state.supervising": ("督办单位", "Supervising unit"),
        "audit.state.listing": ("挂牌", "Listing"),
        "audit.state.plan": ("治理方案", "Plan"),
        "audit.state.reports": ("整改报告", "Reports"),
        "audit.state.failed": ("验收未通过", "Failed verifications"),
        "audit.state.extensions": ("批准延期", "Extensions granted"),
        "audit.state.refused": ("拒不整改/移送", "Refused / referred"),
        "audit.yes": ("是", "yes"),
        "audit.no": ("否", "no"),
        "audit.open": ("办理中", "open"),
        "audit.closed": ("已销号", "closed"),
        "audit.withdrawn": ("已撤销", "withdrawn"),
        "audit.history": ("存储的事件与哈希链", "Stored events and their hash links"),
        "audit.position": ("位置", "Position"),
        "audit.version": ("序号", "No."),
        "audit.event": ("事件", "Event"),
        "audit.actor": ("操作人", "By"),
        "audit.recorded_at": ("记录时间", "Recorded"),
        "audit.hashes": ("前一哈希 → 本哈希", "Previous hash → hash"),
        "audit.after_instant": ("（回放时刻之后）", "(after the replayed moment)"),
        "audit.chain": ("哈希链核验与检查点", "Chain check and checkpoint"),
        "audit.chain_ok": (
            "本案 {events} 个事件的哈希链完整；已核对到位置 {checked} 的签名检查点。",
            "The case's {events} events chain intact; checked against the signed checkpoint(s) "
            "at {checked}.",
        ),
        "audit.chain_ok_no_checkpoint": (
            "本案 {events} 个事件的哈希链完整；尚无签名检查点覆盖它。",
            "The case's {events} events chain intact; no signed checkpoint covers it yet.",
        ),
        "audit.chain_broken": (
            "哈希链在位置 {position} 断开：{reason}",
            "The chain breaks at position {position}: {reason}",
        ),
        "audit.checkpoint": ("最新检查点", "Newest checkpoint"),
        "audit.checkpoint_at": (
            "位置 {position}，签名于 {signed_at}",
            "position {position}, signed {signed_at}",
        ),
        "audit.no_checkpoint": ("尚无签名检查点。", "No signed checkpoint yet."),
        "audit.checkpoint_problem": (
            "检查点无法使用：{problem}",
            "Checkpoints unusable: {problem}",
        ),
        "audit.verified_at": ("核验时间 {at}", "Checked at {at}"),
        "audit.dossier": ("下载一案一档（dossier）", "Download the dossier"),
        "audit.dossier_hint": (
            "包含事件、哈希链、签名检查点、流程历史和时间线，"
            "可用 duban audit verify-dossier 离线核验。",
            "Events, hash links, the signed checkpoint, the workflow history and the timeline; "
            "checked offline with duban audit verify-dossier.",
        ),
        "rule.dossier.unavailable": (
            "暂时无法导出一案一档。",
            "The dossier cannot be exported now.",
        ),
    }
)


def _hazard(value: str) -> str:
    if not re.match(HAZARD_ID_PATTERN, value):
        raise Refused(422, "request.invalid", "not a hazard id", "case")
    return value


def _checkpoints(request: Request) -> tuple[list[Any], str | None]:
    """The kept checkpoints (signatures checked, signer pinned to the configured key), or a
    problem to show."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        return [], None
    from activities.audit.keys import trusted_public_key

    try:
        kept = load_checkpoint_directory(
            settings.resolved_checkpoint_dir, trusted_public_key(settings)
        )
    except CheckpointInvalid as exc:
        return [], str(exc)
    return [checkpoint for _, checkpoint in kept], None


def _picked_instant(services: Services, at: str) -> datetime | None:
    """The instant picked (a ``datetime-local`` in the policy's zone, or RFC 3339)."""
    if not at:
        return None
    text = local_instant(at, services.policy.tz)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(422, "instant.rfc3339", f"no such instant: {at}", "at") from None
    if moment.tzinfo is None:
        raise Refused(422, "request.invalid", "an instant needs a time zone offset", "at")
    return moment


def _replay(
    services: Services, hazard_id: str, events: list[Any], at: str, version: int | None
) -> tuple[Any, datetime | None]:
    """The case as of the instant picked (the API's as-of replay), else as of the slider's
    event: the first ``version`` stored events folded (events appended together share their
    recording instant, so the slider moves by event, not by instant)."""
    instant = _picked_instant(services, at)
    if instant is not None:
        try:
            return replay_case(services.store, hazard_id, as_of=instant), instant
        except ValueError as exc:
            raise Refused(422, "time.out_of_range", str(exc), "at") from None
    if version is None or not events:
        return replay_case(services.store, hazard_id), None
    chosen = min(max(version, 1), len(events))
    stored = services.store.read_stream(case_stream_id(hazard_id), 1, chosen)
    return replay_events(stored, hazard_id), datetime.fromisoformat(
        str(events[chosen - 1].recorded_at)
    )


@router.page(HOME, roles=AUDITOR)
def audit(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    case: CaseQuery = "",
    at: Annotated[str, Query(max_length=40)] = "",
    version: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> Response:
    case = case.strip()
    if not case:
        return render(request, "audit/find.html", {"case": "", "found": None})
    hazard_id = _hazard(case)
    page = history(hazard_id, services, viewer.principal, limit=500, offset=0)
    events = page.items
    replay, instant = _replay(services, hazard_id, events, at, version)
    applied = len(replay.timeline)
    checkpoints, problem = _checkpoints(request)
    report = verify_stream_against_checkpoints(
        services.engine, case_stream_id(hazard_id), checkpoints
    )
    newest = max(checkpoints, key=lambda cp: cp.position) if checkpoints else None
    return render(
        request,
        "audit/find.html",
        {
            "case": hazard_id,
            "found": True,
            "events": events,
            "total": page.total,
            "applied": applied,
            "state": replay.state,
            "timeline": replay.timeline,
            "instant": instant or (events[-1].recorded_at if events else None),
            # Only an instant picked stays in its field: the slider's own moves by event.
            "at_value": local_input(instant, services.policy.tz) if at and instant else "",
            "report": report,
            "newest": newest,
            "checkpoint_problem": problem,
            "checked_now": services.clock(),
        },
    )


@router.page(DOSSIER, roles=AUDITOR)
async def dossier(
    request: Request, services: ServicesDep, viewer: SignedIn, case: CaseQuery = ""
) -> Response:
    """The case's dossier, exported now by the same function as ``duban audit export``
    (``export_dossier_as_asked``: the history exported if need be, the evidence files, the
    policy's zone) and streamed.

    Signed by the API process's configured key (``DUBAN_CHECKPOINT_KEY_PATH``, or the one
    under the data directory on a single machine), read as the hourly audit job reads it; the
    web process never creates a key: with none there, the download is refused (503) naming
    the setting."""
    if not case.strip():
        return RedirectResponse(HOME, status_code=303)
    hazard_id = _hazard(case.strip())
    await asyncio.to_thread(services.require_read, viewer.principal, hazard_id)
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        raise Refused(503, "dossier.unavailable", "no settings to find the signing key", None)
    from activities.audit.dossier import DossierError
    from activities.audit.dossier_request import export_dossier_as_asked
    from activities.audit.keys import SigningKeyUnavailable

    async def temporal() -> Client:
        return services.temporal

    handle, name = tempfile.mkstemp(prefix="duban-dossier-", suffix=".zip")
    os.close(handle)
    target = Path(name)
    try:
        await export_dossier_as_asked(
            services.store,
            settings,
            hazard_id,
            target,
            temporal=temporal,
            blobs=services.blobs,
            create_key=False,
        )
    except SigningKeyUnavailable as exc:
        target.unlink(missing_ok=True)
        raise Refused(503, "dossier.no_signing_key", str(exc), None) from None
    except (DossierError, CheckpointInvalid, ValueError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise Refused(409, "dossier.unavailable", str(exc), "case") from None
    return FileResponse(
        target,
        media_type="application/zip",
        filename=f"case-{hazard_id}.zip",
        background=BackgroundTask(target.unlink, missing_ok=True),
    )
