"""The auditor's dossier download over HTTP (the app over ASGI, real PostgreSQL, the Temporal
test server and a worker): it is exported by the same function as ``duban audit export``
(``export_dossier_as_asked``), so it carries the case's evidence files, says its workflow still
runs, shows times in the policy's zone, and verifies offline with ``deploy/verify_dossier.py``
pinned to the bureau's key. The web process never makes a signing key of its own."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

from activities.audit.dossier_files import member_of
from activities.audit.keys import signing_key
from activities.eventstore.checkpoint import (
    public_key_bytes,
    sign_checkpoint,
    write_checkpoint_file,
)
from deploy.verify_dossier import DossierInvalid, verify_dossier
from tests.api.loop_guard import loop_guard
from tests.blobs.samples import jpeg
from tests.console.conftest import ConsoleHarness
from tests.console.test_console_people_access import register

DOSSIER = "/console/audit/dossier"


async def test_the_downloaded_dossier_carries_the_evidence_files_and_verifies_offline(
    console: ConsoleHarness, tmp_path: Path
):
    photo = jpeg(90, 60)
    uploaded = await console.api.client.post(
        "/api/v1/files",
        files={"file": ("现场照片.jpg", photo, "image/jpeg")},
        headers=console.api.grid.headers("inspector_a"),
    )
    assert uploaded.status_code == 201, uploaded.text
    digest = uploaded.json()["sha256"]
    assert digest == hashlib.sha256(photo).hexdigest()
    hazard_id = await register(console, evidence=[{"sha256": digest, "name": "现场照片.jpg"}])
    auditor = await console.sign_in("auditor")

    # No key configured or created yet: the web process refuses, naming the setting, and
    # creates none (a key of its own would sign what nobody can check).
    settings = console.api.settings
    assert not settings.resolved_checkpoint_key_path.exists()
    refused = await auditor.get(DOSSIER, params={"case": hazard_id})
    assert refused.status_code == 503, refused.text[:500]
    assert "dossier.no_signing_key" in refused.text and "DUBAN_CHECKPOINT_KEY_PATH" in refused.text
    assert not settings.resolved_checkpoint_key_path.exists()

    # The hourly job's key and checkpoint (signed here as it signs one).
    key = signing_key(settings)
    head = console.api.store.head()
    write_checkpoint_file(
        sign_checkpoint(key, head.position, head.hash, datetime.now(UTC)),
        settings.resolved_checkpoint_dir,
    )
    # The route is async (it uses the app's Temporal client): its database work and the
    # export itself run in threads, never on the event loop.
    with loop_guard(console.engine, check=False) as guard:
        transport = httpx.ASGITransport(app=guard.wrap(console.app), client=("127.0.0.1", 1))
        watched = httpx.AsyncClient(transport=transport, base_url="http://duban.test")
        console.clients.append(watched)
        watched = await console.sign_in("auditor", client=watched)
        answer = await watched.get(DOSSIER, params={"case": hazard_id})
    assert guard.violations == [], guard.report()
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"] == "application/zip"
    assert f"case-{hazard_id}.zip" in answer.headers["content-disposition"]
    saved = tmp_path / "dossier.zip"
    saved.write_bytes(answer.content)
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read("MANIFEST.json"))
        assert archive.read(member_of(digest)) == photo  # the evidence file itself
    (evidence,) = manifest["evidence_files"]
    assert evidence["sha256"] == digest and evidence["included"] is True, evidence
    assert manifest["workflow_history"]["running"] is True, manifest["workflow_history"]
    assert manifest["time_zone"] == str(console.api.services.policy.tz)  # the policy's zone
    report = verify_dossier(str(saved), io.StringIO(), public_key=public_key_bytes(key))
    assert report  # every link, the signed checkpoint, every file's hash

    # Another key's dossier is refused by the pinned check: the verification can fail.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = public_key_bytes(Ed25519PrivateKey.generate())
    try:
        verify_dossier(str(saved), io.StringIO(), public_key=other)
    except DossierInvalid:
        pass
    else:
        raise AssertionError("a dossier pinned to another key verified")
