"""Verification of the files events name: each missing or altered one named; and
``duban audit verify-files`` around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.blobs import BlobStore, DirectoryBlobStore, ExpectedFile, verify_files
from activities.settings import Settings
from api.cli import app
from tests.blobs import samples
from tests.blobs.conftest import tamper

runner = CliRunner()


def test_each_missing_or_altered_file_is_named_with_what_was_recorded(store: BlobStore) -> None:
    photo = store.put(samples.jpeg())
    plan = store.put(samples.docx())
    report_pdf = store.put(samples.pdf())
    tamper(store, plan.sha256, b"rewritten plan")
    tamper(store, report_pdf.sha256, None)

    report = verify_files(
        store,
        [
            ExpectedFile(photo.sha256, photo.size, "现场照片.jpg"),
            ExpectedFile(photo.sha256, photo.size, "复查照片.jpg"),  # the same file, twice
            ExpectedFile(plan.sha256, plan.size, "治理方案.docx"),
            (report_pdf.sha256, report_pdf.size),
            ExpectedFile(photo.sha256, photo.size + 1, "记错大小.jpg"),
            ExpectedFile("not-a-hash", 3, "坏记录"),
        ],
    )
    assert not report.ok
    assert (report.checked, report.intact) == (5, 1)
    problems = {(c.sha256, c.status, c.expected_size): names for c, names in report.problems}
    assert problems == {
        (plan.sha256, "altered", plan.size): ("治理方案.docx",),
        (report_pdf.sha256, "missing", report_pdf.size): (),
        (photo.sha256, "altered", photo.size + 1): ("记错大小.jpg",),
        ("not-a-hash", "missing", 3): ("坏记录",),
    }
    assert report.as_json()["ok"] is False


def test_all_files_intact_is_ok(directory_store: DirectoryBlobStore) -> None:
    files = [directory_store.put(make()) for make in (samples.png, samples.webp, samples.xlsx)]
    report = verify_files(directory_store, [(f.sha256, f.size) for f in files])
    assert report.ok and report.intact == 3


def _env(tmp_path: Path) -> dict[str, str]:
    return {"DUBAN_DATA_DIR": str(tmp_path / "data"), "DUBAN_BLOB_STORE": "directory"}


def _store(tmp_path: Path) -> DirectoryBlobStore:
    store = DirectoryBlobStore(Settings(data_dir=tmp_path / "data").resolved_blob_dir)
    return store


def test_the_command_names_each_bad_file_and_exits_1(tmp_path: Path) -> None:
    store = _store(tmp_path)
    good = store.put(samples.jpeg())
    bad = store.put(samples.png())
    tamper(store, bad.sha256, b"other bytes")
    manifest = tmp_path / "files.jsonl"
    manifest.write_text(
        "\n".join(
            json.dumps({"sha256": f.sha256, "size": f.size, "name": n})
            for f, n in ((good, "a.jpg"), (bad, "配电箱.png"))
        )
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["audit", "verify-files", "--manifest", str(manifest)], env=_env(tmp_path)
    )
    assert result.exit_code == 1, result.output
    assert f"altered {bad.sha256} (配电箱.png)" in result.output
    assert good.sha256 not in result.output

    as_json = runner.invoke(
        app,
        ["audit", "verify-files", "--manifest", str(manifest), "--all", "--json"],
        env=_env(tmp_path),
    )
    out = json.loads(as_json.output)
    assert as_json.exit_code == 1
    assert [p["sha256"] for p in out["manifest"]["problems"]] == [bad.sha256]
    assert [p["sha256"] for p in out["store"]["problems"]] == [bad.sha256]


def test_the_command_exits_0_when_every_file_is_intact(tmp_path: Path) -> None:
    store = _store(tmp_path)
    files = [store.put(samples.pdf()), store.put(samples.heic())]
    manifest = tmp_path / "files.json"
    manifest.write_text(json.dumps([{"sha256": f.sha256, "size": f.size} for f in files]))
    result = runner.invoke(
        app, ["audit", "verify-files", "--manifest", str(manifest), "--all"], env=_env(tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert "manifest" in result.output and "2 checked, 2 intact" in result.output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"sha256": "ab", "size": -1}\n', "line 1: size"),
        ('\n{"size": 3}\n', "line 2: sha256"),
        ("not json\n", "line 1: json"),
        ('[{"sha256": 5}]', "entry 0: sha256"),
    ],
)
def test_a_bad_manifest_is_refused_naming_the_line_and_field(
    tmp_path: Path, content: str, says: str
) -> None:
    manifest = tmp_path / "m.json"
    manifest.write_text(content)
    result = runner.invoke(
        app, ["audit", "verify-files", "--manifest", str(manifest)], env=_env(tmp_path)
    )
    assert result.exit_code == 2
    assert says in result.output


def test_the_command_refuses_a_case_with_a_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    manifest.write_text("[]")
    result = runner.invoke(
        app,
        ["audit", "verify-files", "--manifest", str(manifest), "--case", "H-1"],
        env=_env(tmp_path),
    )
    assert result.exit_code == 2
    assert "--case" in result.output
