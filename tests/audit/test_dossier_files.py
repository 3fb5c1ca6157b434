"""The case's evidence files in its dossier: every file the events name is in the archive under
its hash and verifies offline against the event's hash and size; a file altered or removed in
the dossier is named by the offline verifier, each of them; a file the store lost before the
export is said so, and the dossier does not pass."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path

from activities.blobs import DirectoryBlobStore, EvidenceLimits, accept_evidence, open_blob_store
from domain.case.commands import ReportRectification
from domain.case.events import Evidence, stored_file_uri
from tests.audit.conftest import AuditScene
from tests.audit.test_dossier import export, offline_check, public_key_file
from tests.blobs import samples
from tests.blobs.conftest import tamper
from tests.workflows.case_helpers import ENTERPRISE, as_input, start_case, verify
from workflows.case import SupervisedCaseWorkflow


def stored(store: DirectoryBlobStore, data: bytes, name: str) -> Evidence:
    f = accept_evidence(store, data, name=name, limits=EvidenceLimits())
    return Evidence(stored_file_uri(f.sha256), f.sha256, f.size, f.media_type, f.name)


async def case_with_files(scene: AuditScene) -> tuple[str, list[Evidence]]:
    blobs = open_blob_store(scene.settings)
    assert isinstance(blobs, DirectoryBlobStore)
    photo = stored(blobs, samples.jpeg(80, 60), "现场照片.jpg")
    plan = stored(blobs, samples.pdf(), "整改报告.pdf")
    sheet = stored(blobs, samples.xlsx(), "台账.xlsx")
    hazard_id = f"H-dosf-{uuid.uuid4().hex[:8]}"
    handle, _ = await start_case(scene.worker, hazard_id, evidence=(photo,))
    report = ReportRectification(actor=ENTERPRISE, summary="已整改", evidence=(plan, sheet))
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, as_input(report))
    await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    with scene.worker.env.auto_time_skipping_disabled():
        await handle.result()
    await scene.run_audit_job()
    return hazard_id, [photo, plan, sheet]


def rewrite(archive: Path, out: Path, change: dict[str, bytes | None]) -> Path:
    """The archive with members replaced (bytes) or removed (None), as a forger would."""
    with zipfile.ZipFile(archive) as zipped:
        members = {name: zipped.read(name) for name in zipped.namelist()}
    with zipfile.ZipFile(out, "w") as zipped:
        for name, data in members.items():
            if name in change:
                replaced = change[name]
                if replaced is None:
                    continue
                data = replaced
            zipped.writestr(name, data)
    return out


async def test_the_dossier_carries_the_cases_files_and_they_verify_offline(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id, files = await case_with_files(audit_scene)
    archive = tmp_path / "dossier.zip"
    result = export(audit_scene, hazard_id, archive, blobs=open_blob_store(audit_scene.settings))
    assert [(f["sha256"], f["name"], f["included"]) for f in result["evidence_files"]] == [
        (f.sha256, f.name, True) for f in files
    ]
    with zipfile.ZipFile(archive) as zipped:
        manifest = json.loads(zipped.read("MANIFEST.json"))
        for f in files:
            assert zipped.read(f"files/{f.sha256}") == open_blob_store(audit_scene.settings).get(
                f.sha256
            )
    assert {f"files/{f.sha256}" for f in files} <= set(manifest["files"])
    pinned = str(public_key_file(audit_scene, tmp_path))
    checked = offline_check(archive, "--public-key", pinned)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "3 evidence files match the SHA-256 and size their events record" in checked.stdout

    # A forger swaps one photo and drops the report (and re-lists nothing): each is named.
    photo, report, _ = files
    forged = rewrite(
        archive,
        tmp_path / "forged.zip",
        {f"files/{photo.sha256}": samples.png(), f"files/{report.sha256}": None},
    )
    checked = offline_check(forged, "--public-key", pinned)
    assert checked.returncode == 1, checked.stdout
    assert f"files/{photo.sha256} (现场照片.jpg): altered" in checked.stdout
    assert f"files/{report.sha256}" in checked.stdout and "missing" in checked.stdout


async def test_a_file_the_store_lost_before_export_is_said_so_and_fails_offline(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id, files = await case_with_files(audit_scene)
    blobs = open_blob_store(audit_scene.settings)
    tamper(blobs, files[2].sha256, None)  # deleted behind duban's back
    tamper(blobs, files[0].sha256, b"not the photo")  # altered behind duban's back
    archive = tmp_path / "dossier.zip"
    result = export(audit_scene, hazard_id, archive, blobs=blobs)
    status = {f["sha256"]: (f["included"], f.get("problem", "")) for f in result["evidence_files"]}
    assert status[files[1].sha256] == (True, "")
    assert status[files[2].sha256][0] is False and "missing" in status[files[2].sha256][1]
    assert status[files[0].sha256][0] is False and "altered" in status[files[0].sha256][1]
    checked = offline_check(archive, "--public-key", str(public_key_file(audit_scene, tmp_path)))
    assert checked.returncode == 1, checked.stdout
    assert f"files/{files[2].sha256} (台账.xlsx): missing" in checked.stdout
    assert f"files/{files[0].sha256} (现场照片.jpg): missing" in checked.stdout
