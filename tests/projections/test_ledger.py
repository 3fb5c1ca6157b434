"""The hazard ledger (台账) from the read models: one line per hazard found in the period in the
unit's subtree, with the columns a bureau files, written as .xlsx and .csv and read back."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from activities.ledger import HEADINGS, ledger_csv, ledger_xlsx
from activities.projections import Projector
from activities.projections.read_models.ledger import ledger_lines
from tests.domain.domain_builders import COUNTY, TOWNSHIP
from tests.projections.conftest import ReadSide
from tests.projections.scenario import build_history

ZONE = "Asia/Shanghai"
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
BUREAU_COLUMNS = (
    "发现日期",
    "企业",
    "隐患级别",
    "类别",
    "整改措施",
    "责任人",
    "整改期限",
    "状态",
    "整改完成日期",
    "复查人",
    "挂牌级别",
    "升级次数",
)


@pytest.fixture()
def projected(read_side: ReadSide) -> ReadSide:
    build_history(read_side.store)
    Projector(read_side.store).catch_up()
    return read_side


def by_id(rows: list[list[object]]) -> dict[str, dict[str, object]]:
    return {str(row[1]): dict(zip(HEADINGS, row, strict=True)) for row in rows}


def test_the_ledger_holds_the_hazards_found_in_the_period_in_the_units_subtree(
    projected: ReadSide,
) -> None:
    county = ledger_lines(projected.engine, COUNTY.code, *MARCH, ZONE)
    assert [line.hazard_id for line in county] == ["H-A", "H-B", "H-C", "H-D", "H-E", "H-F"]
    township = ledger_lines(projected.engine, TOWNSHIP.code, *MARCH, ZONE)
    assert {line.hazard_id for line in township} == {"H-A", "H-B", "H-F"}
    april = ledger_lines(projected.engine, COUNTY.code, date(2025, 4, 1), date(2025, 4, 30), ZONE)
    assert [line.hazard_id for line in april] == ["H-G"]


def test_the_workbook_reads_back_with_the_bureaus_columns_in_chinese(projected: ReadSide) -> None:
    lines = ledger_lines(projected.engine, COUNTY.code, *MARCH, ZONE)
    book = load_workbook(io.BytesIO(ledger_xlsx(lines, ZONE, "诸城市隐患排查治理台账")))
    sheet = book["隐患台账"]
    assert sheet["A1"].value == "诸城市隐患排查治理台账"
    headings = [cell.value for cell in sheet[2]]
    assert tuple(headings) == HEADINGS and set(BUREAU_COLUMNS) <= set(headings)
    rows = by_id([[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)])
    a = rows["H-A"]  # verified before its deadline
    assert a["发现日期"].date() == date(2025, 3, 3)  # type: ignore[union-attr]
    assert a["企业"] == "诸城某机械有限公司" and a["隐患级别"] == "一般事故隐患"
    assert a["类别"] == "物的不安全状态" and a["整改措施"] and a["责任人"]
    assert a["状态"] == "已销号" and a["复查人"] == "sup-1"
    assert a["整改完成日期"].date() == date(2025, 3, 6)  # type: ignore[union-attr]
    assert a["整改期限"] is not None and a["挂牌级别"] == "未挂牌" and a["升级次数"] == 0
    b = rows["H-B"]  # missed its deadline: escalated to the township
    assert b["状态"] == "逾期升级督办中" and b["升级次数"] == 1 and b["整改完成日期"] is None
    c = rows["H-C"]  # major, listed at the county at registration, refused: referred
    assert c["隐患级别"] == "重大事故隐患" and c["挂牌级别"] == "县级" and c["状态"] == "已移送执法"
    d = rows["H-D"]  # 立改立销: rectified on the spot
    assert d["状态"] == "已销号" and d["整改完成日期"].date() == date(2025, 3, 3)  # type: ignore[union-attr]
    assert rows["H-E"]["状态"] == "已撤销督办" and rows["H-E"]["整改完成日期"] is None
    assert sheet.freeze_panes == "A3"


def test_the_csv_reads_back_in_excel_with_the_same_lines(projected: ReadSide) -> None:
    lines = ledger_lines(projected.engine, COUNTY.code, *MARCH, ZONE)
    content = ledger_csv(lines, ZONE)
    assert content.startswith("\ufeff".encode())  # Excel opens UTF-8 Chinese with the BOM
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == HEADINGS
    table = by_id(rows[1:])
    assert table["H-A"]["发现日期"] == "2025-03-03" and table["H-A"]["状态"] == "已销号"
    assert table["H-C"]["挂牌级别"] == "县级" and table["H-B"]["升级次数"] == "1"
    assert len(rows) == 1 + 6
