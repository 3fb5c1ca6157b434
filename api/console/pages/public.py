"""The public registers, without sign-in: 挂牌督办公示 and 严重失信主体名单 — the same reads and
the same fields as ``GET /public/listings`` and ``GET /blacklist`` (their response models
choose what is public)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Request
from starlette.responses import Response

from activities.projections.read_models.blacklist import (
    list_blacklist,
)
from activities.projections.read_models.listings import (
    list_listings,
)
from api.console.components import Pager
from api.console.deps import ServicesDep
from api.console.i18n import add_messages
from api.console.registry import PUBLIC, ConsoleRouter
from api.console.render import render
from api.presenters import page_of
from api.schemas import ListingEntryOut, RegisterEntryOut

router = ConsoleRouter("public")
LISTINGS = "/console/public/listings"
BLACKLIST = "/console/public/blacklist"
router.nav(LISTINGS, "nav.listings", roles=PUBLIC, order=90)
router.nav(BLACKLIST, "nav.blacklist", roles=PUBLIC, order=91)
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]

add_messages(
    {
        "public.listings.title": ("挂牌督办公示", "Listed hazards (挂牌督办公示)"),
        "public.listings.intro": (
            "经挂牌督办的重大事故隐患及其摘牌情况，依法向社会公布。",
            "Major hazards under listed supervision and their de-listing, published by law.",
        ),
        "public.listings.no": ("挂牌编号", "Listing no."),
        "public.listings.level": ("挂牌层级", "Level"),
        "public.listings.authority": ("挂牌机关", "Listed by"),
        "public.listings.enterprise": ("企业", "Enterprise"),
        "public.listings.hazard": ("隐患", "Hazard"),
        "public.listings.listed_at": ("挂牌时间", "Listed"),
        "public.listings.deadline": ("整改期限", "Deadline"),
        "public.listings.status": ("状态", "State"),
        "public.listings.delisted_at": ("摘牌时间", "De-listed"),
        "public.listings.status.listed": ("挂牌督办中", "Listed"),
        "public.listings.status.delisted": ("已摘牌", "De-listed"),
        "public.listings.status.superseded": ("已提级挂牌", "Superseded"),
        "public.listings.empty": ("目前没有挂牌督办的隐患。", "No hazard is listed."),
        "public.blacklist.title": ("严重失信主体名单", "Serious-dishonesty list"),
        "public.blacklist.intro": (
            "依据《安全生产严重失信主体名单管理办法》（应急管理部令第11号）列入名单的生产经营单位。",
            "Enterprises on the list under the Order No. 11 of the Ministry of Emergency "
            "Management.",
        ),
        "public.blacklist.no": ("决定编号", "Decision no."),
        "public.blacklist.enterprise": ("企业", "Enterprise"),
        "public.blacklist.credit_code": ("统一社会信用代码", "Credit code"),
        "public.blacklist.basis": ("列入依据", "Basis"),
        "public.blacklist.listed_at": ("列入时间", "Listed"),
        "public.blacklist.expires_at": ("移出时间", "Until"),
        "public.blacklist.status": ("状态", "State"),
        "public.blacklist.status.listed": ("名单内", "On the list"),
        "public.blacklist.status.expired": ("期满移出", "Expired"),
        "public.blacklist.status.removed_early": ("提前移出", "Removed early"),
        "public.blacklist.empty": ("名单中目前没有企业。", "No enterprise is on the list."),
        "public.all": ("全部", "All"),
    }
)


@router.page(LISTINGS, roles=PUBLIC)
def listings(
    request: Request,
    services: ServicesDep,
    status: Annotated[Literal["listed", "delisted", "superseded"] | None, Query()] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Response:
    page = list_listings(services.engine, status=status, limit=limit, offset=offset)
    # The API's presenter and response model choose what is public.
    public = page_of(
        page.items, page.total, page.limit, page.offset, ListingEntryOut.model_validate
    )
    return render(
        request,
        "public/listings.html",
        {"pager": Pager.of(request, public.model_dump()), "status": status},
    )


@router.page(BLACKLIST, roles=PUBLIC)
def blacklist(
    request: Request,
    services: ServicesDep,
    status: Annotated[Literal["listed", "expired", "removed_early"] | None, Query()] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Response:
    page = list_blacklist(services.engine, status=status, limit=limit, offset=offset)
    public = page_of(
        page.items, page.total, page.limit, page.offset, RegisterEntryOut.model_validate
    )
    return render(
        request,
        "public/blacklist.html",
        {"pager": Pager.of(request, public.model_dump()), "status": status},
    )
