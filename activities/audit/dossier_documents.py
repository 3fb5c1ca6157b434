"""The case's issued documents (已印发文书) in its dossier (一案一档).

The documents are read from the event store itself, in the export's snapshot: the
``DocumentIssued`` events (in the authorities' ``documents-<year>-<unit>`` streams) whose
subject is the case and whose source is the case's stream. They go into the archive as
``documents-events.jsonl`` — whole rows, so the offline verifier recomputes each one's hash and
finds its link in ``chain.jsonl`` — and each PDF as ``documents/<short code>.pdf`` (the short
code is ASCII; the 文号 with its 〔〕 is not made a path). The PDF's SHA-256 must equal the one
its event records; the verifier names every one missing or altered.

Only documents issued up to the covering checkpoint are included (a later one is not yet under
a signed checkpoint); the manifest counts those left out, and the next export includes them.
A PDF that is neither in the blob store nor renders again to the recorded bytes is listed with
its problem and not copied.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from typing import Any

from activities.blobs import BlobStore
from activities.documents.issuing import pdf_of
from domain.documents.issued import IssuedDocument
from domain.errors import DomainError

DOCUMENTS_DIR = "documents/"
DOCUMENT_EVENTS = "documents-events.jsonl"


def member_of(short_code: str) -> str:
    return f"{DOCUMENTS_DIR}{short_code}.pdf"


def issued_events_query(stored_columns: str) -> str:
    return (
        f"SELECT {stored_columns} FROM events WHERE event_type = %s"
        " AND stream_id LIKE 'documents-%%' AND data->>'subject' = %s"
        " AND data->>'source_stream' = %s AND position <= %s ORDER BY position"
    )


def write_case_documents(
    archive: zipfile.ZipFile,
    files: dict[str, str],
    document_events: list[dict[str, Any]],
    blobs: BlobStore | None,
) -> list[dict[str, Any]]:
    """Copy the PDFs of ``document_events`` (stored rows, already checked against their
    hashes) into ``archive``, adding each to ``files``. Returns the manifest's
    ``issued_documents``: each with 文号, title, 成文日期, SHA-256, member and ``included``."""
    listed: list[dict[str, Any]] = []
    for event in document_events:
        document = IssuedDocument.from_data(json.loads(event["data_text"]))
        entry: dict[str, Any] = {
            "number": document.number,
            "title": document.title,
            "signed_on": document.signed_on.isoformat(),
            "kind": str(document.kind),
            "short_code": document.short_code,
            "sha256": document.sha256,
            "size": document.size,
            "member": member_of(document.short_code),
            "position": event["position"],
        }
        try:
            pdf = pdf_of(document, blobs)
        except DomainError as exc:
            entry.update(included=False, problem=str(exc))
        else:
            digest = hashlib.sha256(pdf).hexdigest()
            archive.writestr(entry["member"], pdf)
            files[entry["member"]] = digest
            entry["included"] = True
        listed.append(entry)
    return listed
