"""The administrator's grid (网格) and enterprises (生产经营单位): the lists, adding one through
the API's own ``POST /grid-units`` and ``POST /enterprises``, and the CSV load of
``duban grid load`` (``ReferenceData.load_csv``: row by row, each refused row shown with its
file, line, field and rule)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from activities.reference_data import ENTERPRISE_COLUMNS, GRID_COLUMNS, LoadReport
from api.console.actions import judged
from api.console.components import FormErrors, Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render, set_flash
from api.routes.enterprises import create_enterprise
from api.routes.grid import create_grid_unit
from api.schemas import EnterpriseIn, GridUnitIn
from api.services import Services
from api.services.refusals import Refused

router = ConsoleRouter("reference")
ADMIN = ("admin",)
GRID = "/console/admin/grid"
ENTERPRISES = "/console/admin/enterprises"
CSV = "/console/admin/reference-csv"
router.nav(GRID, "nav.grid_units", roles=ADMIN, order=81)
router.nav(ENTERPRISES, "nav.enterprises", roles=ADMIN, order=82)
Text = Annotated[str, Form(max_length=1000)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
LEVELS = ("province", "city", "county", "township", "village")

add_messages(
    {
        "nav.grid_units": ("网格单元", "Grid units"),
        "nav.enterprises": ("企业", "Enterprises"),
        "grid.title": ("网格单元", "Grid units"),
        "grid.intro": (
            "定格、定责、定人：每个网格单元有代码、上级单元和责任人。",
            "Every unit of the grid has a code, the unit above it and a responsible person.",
        ),
        "grid.new": ("新增网格单元", "Add a grid unit"),
        "grid.code": ("代码", "Code"),
        "grid.name": ("名称", "Name"),
        "grid.level": ("层级", "Level"),
        "grid.parent_code": ("上级单元代码", "Unit above (code)"),
        "grid.parent_hint": ("省级单元留空", "Empty for a province only"),
        "grid.responsible_person": ("责任人", "Responsible person"),
        "grid.add": ("新增", "Add"),
        "grid.added": ("已新增网格单元 {code}。", "Grid unit {code} added."),
        "grid.list": ("全部网格单元", "Every grid unit"),
        "grid.empty": ("还没有网格单元。", "No grid unit yet."),
        "ent.title": ("企业", "Enterprises"),
        "ent.intro": (
            "每家企业属于唯一一个最低层级的网格单元。",
            "Every enterprise belongs to exactly one lowest grid unit.",
        ),
        "ent.new": ("新增企业", "Add an enterprise"),
        "ent.credit_code": ("统一社会信用代码", "Credit code"),
        "ent.name": ("企业名称", "Name"),
        "ent.industry": ("行业", "Industry"),
        "ent.grid_code": ("所属网格单元代码", "Grid unit (code)"),
        "ent.add": ("新增", "Add"),
        "ent.added": ("已新增企业 {code}。", "Enterprise {code} added."),
        "ent.list": ("全部企业", "Every enterprise"),
        "ent.empty": ("还没有企业。", "No enterprise yet."),
        "csv.title": ("从 CSV 文件批量导入", "Load from CSV files"),
        "csv.intro": (
            "网格文件的列：{grid}；企业文件的列：{enterprises}。逐行导入：被拒的行不影响其他行。",
            "Grid file columns: {grid}; enterprise file columns: {enterprises}. Row by row: a "
            "refused row holds back no other.",
        ),
        "csv.grid_file": ("网格单元 CSV", "Grid units CSV"),
        "csv.enterprises_file": ("企业 CSV", "Enterprises CSV"),
        "csv.load": ("导入", "Load"),
        "csv.result": (
            "已导入网格单元 {units} 个、企业 {enterprises} 家；被拒 {rejected} 行。",
            "{units} grid unit(s) and {enterprises} enterprise(s) loaded; {rejected} row(s) "
            "refused.",
        ),
        "csv.rejected": ("被拒的行", "Refused rows"),
        "csv.file": ("文件", "File"),
        "csv.line": ("行号", "Line"),
        "csv.field": ("字段", "Field"),
        "csv.rule": ("规则", "Rule"),
        "csv.message": ("原因", "Why"),
        "csv.not_text": ("文件不是 UTF-8 文本。", "The file is not UTF-8 text."),
    }
)


# ---------------------------------------------------------------------- grid units


def _grid_page(
    request: Request,
    services: Services,
    *,
    limit: int = 100,
    offset: int = 0,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    units = services.reference.grid_units()
    page = {
        "items": units[offset : offset + limit],
        "total": len(units),
        "limit": limit,
        "offset": offset,
    }
    return render(
        request,
        "reference/grid.html",
        {
            "pager": Pager.of(request, page),
            "form": form
            or {
                "code": "",
                "name": "",
                "level": "village",
                "parent_code": "",
                "responsible_person": "",
            },
            "errors": errors or FormErrors(),
            "levels": LEVELS,
        },
        status=status,
    )


@router.page(GRID, roles=ADMIN)
def grid(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    return _grid_page(request, services, limit=limit, offset=offset)


@router.page(GRID, roles=ADMIN, methods=("POST",))
def add_grid_unit(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    code: Text = "",
    name: Text = "",
    level: Text = "",
    parent_code: Text = "",
    responsible_person: Text = "",
) -> Response:
    form = {
        "code": code,
        "name": name,
        "level": level,
        "parent_code": parent_code,
        "responsible_person": responsible_person,
    }
    errors = FormErrors()
    body = judged(GridUnitIn, {**form, "parent_code": parent_code.strip() or None}, errors)
    if body is not None:
        try:
            unit = create_grid_unit(body, services, viewer.principal)
        except Exception as exc:  # the API's refusal, by its field
            errors.add(exc)
        else:
            response = RedirectResponse(GRID, status_code=303)
            set_flash(response, "grid.added", code=unit.code)
            return response
    status = max(r.status for r in errors.refusals)
    return _grid_page(request, services, form=form, errors=errors, status=status)


# ---------------------------------------------------------------------- enterprises


def _enterprise_page(
    request: Request,
    services: Services,
    *,
    limit: int = 100,
    offset: int = 0,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    report: LoadReport | None = None,
    status: int = 200,
) -> Response:
    page = {
        "items": services.reference.enterprises(limit=limit, offset=offset),
        "total": services.reference.enterprise_count(),
        "limit": limit,
        "offset": offset,
    }
    return render(
        request,
        "reference/enterprises.html",
        {
            "pager": Pager.of(request, page),
            "form": form or {"credit_code": "", "name": "", "industry": "", "grid_code": ""},
            "errors": errors or FormErrors(),
            "report": report,
            "grid_columns": ", ".join(GRID_COLUMNS),
            "enterprise_columns": ", ".join(ENTERPRISE_COLUMNS),
            "villages": [u for u in services.reference.grid_units() if u.level.value == "village"],
        },
        status=status,
    )


@router.page(ENTERPRISES, roles=ADMIN)
def enterprises(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    return _enterprise_page(request, services, limit=limit, offset=offset)


@router.page(ENTERPRISES, roles=ADMIN, methods=("POST",))
def add_enterprise(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    credit_code: Text = "",
    name: Text = "",
    industry: Text = "",
    grid_code: Text = "",
) -> Response:
    form = {"credit_code": credit_code, "name": name, "industry": industry, "grid_code": grid_code}
    errors = FormErrors()
    body = judged(EnterpriseIn, form, errors)
    if body is not None:
        try:
            enterprise = create_enterprise(body, services, viewer.principal)
        except Exception as exc:  # the API's refusal, by its field
            errors.add(exc)
        else:
            response = RedirectResponse(ENTERPRISES, status_code=303)
            set_flash(response, "ent.added", code=enterprise.credit_code)
            return response
    status = max(r.status for r in errors.refusals)
    return _enterprise_page(request, services, form=form, errors=errors, status=status)


async def _text_of(upload: UploadFile | None, field: str) -> str:
    if upload is None:
        return ""
    data = await upload.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(422, "csv.encoding", "the file is not UTF-8 text", field) from None


@router.page(CSV, roles=ADMIN, methods=("POST",))
async def load_csv(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    grid_file: Annotated[UploadFile | None, File()] = None,
    enterprises_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Both files (either may be left empty), loaded row by row as ``duban grid load``."""
    errors = FormErrors()
    texts: dict[str, str] = {}
    for name, upload in (("grid_file", grid_file), ("enterprises_file", enterprises_file)):
        try:
            texts[name] = await _text_of(upload, name)
        except Refused as refusal:
            errors.refusals.append(refusal)
    report: Any = None
    if not errors:
        report = await run_in_threadpool(
            services.reference.load_csv,
            texts["grid_file"] or ",".join(GRID_COLUMNS) + "\n",
            texts["enterprises_file"] or ",".join(ENTERPRISE_COLUMNS) + "\n",
            viewer.principal.actor_id,
        )
    return await run_in_threadpool(
        lambda: _enterprise_page(
            request, services, errors=errors, report=report, status=422 if errors else 200
        )
    )
