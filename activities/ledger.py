"""The hazard ledger (隐患排查治理台账) as the files a bureau keeps: Excel (.xlsx) and CSV.

The lines come from the read model (``read_models/ledger.py``); the words from
``domain.case.words``; dates in the policy's time zone. The CSV is UTF-8 with a byte-order
mark, which Excel needs to open Chinese text correctly. The workbook is written by openpyxl
with fixed document properties, so the same lines give the same sheet.

Every text cell is written as text, never as a formula (``inert``): a description, measure or
name a person typed that starts like a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) would otherwise run when the file is opened (CSV/formula injection). In the CSV such a
value is prefixed with ``'``; in the workbook it is stored as a string cell, unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from activities.projections.read_models.ledger import LedgerLine
from domain.case.words import GRID_LEVELS, HAZARD_CATEGORIES, HAZARD_CLASSES, STATUSES

HEADINGS: tuple[str, ...] = (
    "序号",
    "隐患编号",
    "发现日期",
    "企业",
    "隐患级别",
    "类别",
    "隐患描述",
    "整改措施",
    "责任人",
    "整改期限",
    "状态",
    "整改完成日期",
    "复查人",
    "挂牌级别",
    "升级次数",
)
_WIDTHS = (6, 16, 12, 28, 14, 14, 36, 36, 10, 12, 18, 14, 10, 10, 8)
_FIXED = datetime(2000, 1, 1)
# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """``value`` as a CSV cell that no spreadsheet runs: text that starts like a formula gets a
    leading ``'`` (which spreadsheets read as "this is text"); anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _day(moment: datetime | None, zone: ZoneInfo) -> date | None:
    return moment.astimezone(zone).date() if moment is not None else None


def ledger_rows(lines: Sequence[LedgerLine], time_zone: str) -> list[list[object]]:
    """The ledger's cells, line by line: dates as dates, counts as numbers, words in Chinese."""
    zone = ZoneInfo(time_zone)
    rows: list[list[object]] = []
    for n, line in enumerate(lines, start=1):
        rows.append(
            [
                n,
                line.hazard_id,
                _day(line.found_at, zone),
                line.enterprise_name,
                HAZARD_CLASSES.get(line.hazard_class, line.hazard_class),
                HAZARD_CATEGORIES.get(line.category, line.category),
                line.description,
                line.measures or "",
                line.responsible_person or "",
                _day(line.deadline, zone),
                STATUSES.get(line.status, line.status),
                _day(line.rectified_at, zone),
                line.verified_by or "",
                GRID_LEVELS.get(line.listed_level, line.listed_level)
                if line.listed_level
                else "未挂牌",
                line.escalations,
            ]
        )
    return rows


def ledger_csv(lines: Sequence[LedgerLine], time_zone: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADINGS)
    for row in ledger_rows(lines, time_zone):
        writer.writerow(
            ["" if c is None else c.isoformat() if isinstance(c, date) else inert(c) for c in row]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def ledger_xlsx(lines: Sequence[LedgerLine], time_zone: str, title: str) -> bytes:
    """One sheet: a title line, the headings (frozen), the lines."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "隐患台账"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADINGS))
    sheet.append(list(HEADINGS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in ledger_rows(lines, time_zone):
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if inert(cell.value) != cell.value:
                # Kept as typed, but a string: openpyxl takes a leading "=" for a formula.
                cell.data_type = "s"
    for index, width in enumerate(_WIDTHS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        if HEADINGS[index - 1].endswith(("日期", "期限")):
            for (cell,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A3"
    sheet.print_title_rows = "2:2"
    book.properties.creator = "duban"
    book.properties.created = _FIXED
    book.properties.modified = _FIXED
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
