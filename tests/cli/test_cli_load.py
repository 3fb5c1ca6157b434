"""``duban load``: row by row — every good row loaded, every bad row reported with its file,
line, field and rule — and ``duban migrate`` / ``duban projections rebuild`` for scripts."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from typer.testing import CliRunner

from activities.database import create_app_engine, head_revision
from activities.eventstore import EventStore
from activities.reference_data import ReferenceData, count_rows
from api.cli import app
from domain.credit_code import make_credit_code
from tests.conftest import APP_ROLE

runner = CliRunner()


def new_code() -> str:
    return make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())


def files(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    s = f"L{uuid.uuid4().hex[:5].upper()}"
    good1, good6, bad, township_code = new_code(), new_code(), new_code(), new_code()
    wrong_check = bad[:17] + ("0" if bad[17] != "0" else "1")
    grid = tmp_path / "grid.csv"
    grid.write_text(
        "code,name,level,parent_code,responsible_person\n"
        f"{s}-V1,东关社区,village,{s}-T1,周网格员\n"  # 2: before its parent, loaded after it
        f"{s},山东省,province,,王厅长\n"
        f"{s}-C,潍坊市,city,{s},李局长\n"
        f"{s}-X,诸城市,county,{s}-C,赵局长\n"
        f"{s}-T1,密州街道,township,{s}-X,孙站长\n"
        f",无编码,village,{s}-T1,某人\n"  # 7
        f"{s}-V2,西关社区,village,{s}-T1,\n"  # 8: 定人 missing
        f"{s}-V3,南关社区,hamlet,{s}-T1,吴\n"  # 9
        f"{s}-V4,北关社区,village,{s}-NOPE,郑\n"  # 10
        f"{s} V5,坏编码,village,{s}-T1,钱\n",  # 11
        encoding="utf-8-sig",  # as Excel saves it, with a BOM
    )
    enterprises = tmp_path / "enterprises.csv"
    enterprises.write_text(
        "credit_code,name,industry,grid_code\n"
        f"{good1},企业一,机械,{s}-V1\n"
        f"{wrong_check},企业二,化工,{s}-V1\n"  # 3
        f"{new_code()},,化工,{s}-V1\n"  # 4: no name
        f"{new_code()},企业四,食品,\n"  # 5: no grid unit
        f"{township_code},企业五,食品,{s}-T1\n"  # 6: not a village
        f"{good1},企业一重复,机械,{s}-V1\n"  # 7: loaded above
        f'{new_code()},企业七,"食品",{s}-V1,多余\n'  # 8: one cell too many
        f",企业八,食品,{s}-V1\n"  # 9: no credit code
        f"{good6.lower()},企业九,纺织,{s}-V1\n",  # 10: lower case is the same code
        encoding="utf-8",
    )
    return grid, enterprises, {"s": s, "good1": good1, "good6": good6, "wrong": wrong_check}


EXPECTED_REFUSALS = {
    ("grid", 7, "code", "reference.required"),
    ("grid", 8, "responsible_person", "reference.required"),
    ("grid", 9, "level", "grid.level.unknown"),
    ("grid", 10, "parent_code", "grid.parent.unknown"),
    ("grid", 11, "code", "reference.code.alphabet"),
    ("enterprises", 3, "credit_code", "credit_code.gb32100_check"),
    ("enterprises", 4, "name", "reference.required"),
    ("enterprises", 5, "grid_code", "reference.required"),
    ("enterprises", 6, "grid_code", "enterprise.grid.lowest_unit"),
    ("enterprises", 7, "credit_code", "enterprise.exists"),
    ("enterprises", 8, "row", "csv.row.too_many_cells"),
    ("enterprises", 9, "credit_code", "reference.required"),
}


def test_load_reports_every_bad_row_and_loads_every_good_one(cli_env, tmp_path):
    grid, enterprises, ids = files(tmp_path)
    result = runner.invoke(app, ["load", str(grid), str(enterprises), "--json"], env=cli_env)
    assert result.exit_code == 1, result.output  # some rows were refused
    report = json.loads(result.stdout)
    assert (report["grid_units"], report["enterprises"]) == (5, 2), report
    refused = {(r["file"], r["line"], r["field"], r["rule"]) for r in report["rejected"]}
    assert refused == EXPECTED_REFUSALS, report["rejected"]
    assert all(r["message"] for r in report["rejected"])

    engine = create_app_engine(cli_env["DUBAN_DATABASE_URL"], APP_ROLE)
    store = EventStore(engine)
    reference = ReferenceData(engine, store)
    s = ids["s"]
    for code in (s, f"{s}-C", f"{s}-X", f"{s}-T1", f"{s}-V1"):
        assert reference.grid_unit(code) is not None, code
    assert reference.grid_unit(f"{s}-V2") is None
    assert [e.credit_code for e in reference.enterprises(s)] == sorted([ids["good1"], ids["good6"]])
    assert reference.enterprise(ids["wrong"]) is None
    assert len(store.read_stream(f"grid-{s}-V1")) == 1  # each loaded row recorded once
    store.close()
    engine.dispose()

    # Loading the same files again loads nothing twice: the rows there are refused as such.
    again = runner.invoke(app, ["load", str(grid), str(enterprises), "--json"], env=cli_env)
    second = json.loads(again.stdout)
    assert (second["grid_units"], second["enterprises"]) == (0, 0), second
    exists = {(r["line"], r["rule"]) for r in second["rejected"] if r["file"] == "grid"}
    assert {(line, "grid.code.exists") for line in range(2, 7)} <= exists

    wide = {**cli_env, "COLUMNS": "200"}
    human = runner.invoke(app, ["load", str(grid), str(enterprises)], env=wide)
    assert human.exit_code == 1
    assert "loaded 0 grid units and 0 enterprises" in human.stdout
    assert "credit_code.gb32100_check" in human.stdout


def test_a_file_without_a_column_is_refused_at_its_header(cli_env, tmp_path):
    grid, _, _ = files(tmp_path)
    enterprises = tmp_path / "no-grid-column.csv"
    enterprises.write_text(f"credit_code,name,industry\n{new_code()},企业,机械\n", encoding="utf-8")
    result = runner.invoke(app, ["load", str(grid), str(enterprises), "--json"], env=cli_env)
    report = json.loads(result.stdout)
    assert report["enterprises"] == 0
    assert {
        (r["line"], r["field"], r["rule"]) for r in report["rejected"] if r["file"] == "enterprises"
    } == {(1, "grid_code", "csv.column_missing")}
    missing = runner.invoke(app, ["load", str(tmp_path / "nope.csv"), str(grid)], env=cli_env)
    assert missing.exit_code == 2 and "nope.csv" in missing.output


def test_the_load_advances_its_progress_once_per_row(cli_env, tmp_path):
    grid, enterprises, _ = files(tmp_path)
    grid_text = grid.read_text(encoding="utf-8-sig")
    enterprise_text = enterprises.read_text(encoding="utf-8")
    engine = create_app_engine(cli_env["DUBAN_DATABASE_URL"], APP_ROLE)
    store = EventStore(engine)
    ticks: list[None] = []
    ReferenceData(engine, store).load_csv(
        grid_text, enterprise_text, "test", on_row=lambda: ticks.append(None)
    )
    store.close()
    engine.dispose()
    assert len(ticks) == count_rows(grid_text) + count_rows(enterprise_text) == 10 + 9


def test_migrate_and_rebuild_answer_scripts_in_json(cli_env, tmp_path):
    migrated = runner.invoke(app, ["migrate", "--json"], env=cli_env)
    assert migrated.exit_code == 0, migrated.output
    answer = json.loads(migrated.stdout)
    assert answer["revision"] == head_revision()
    assert answer["database"].endswith(cli_env["DUBAN_DATABASE_URL"].rsplit("/", 1)[1])
    grid, enterprises, _ = files(tmp_path)
    runner.invoke(app, ["load", str(grid), str(enterprises)], env=cli_env)
    engine = create_app_engine(cli_env["DUBAN_DATABASE_URL"], APP_ROLE)
    store = EventStore(engine)
    head = store.head().position
    store.close()
    engine.dispose()
    rebuilt = runner.invoke(app, ["projections", "rebuild", "--json"], env=cli_env)
    assert rebuilt.exit_code == 0, rebuilt.output
    figures = json.loads(rebuilt.stdout)
    assert figures["events"] == figures["position"] == head > 0, figures
    assert figures["applied"] + figures["skipped"] == head, figures
    assert set(figures) == {
        "events",
        "applied",
        "skipped",
        "position",
        "seconds",
        "events_per_second",
    }
