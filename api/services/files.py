"""Evidence files (证据材料) through the API: an upload stored content-addressed (the answer is
the reference a registration, plan, report or verification then cites), the references a
command cites turned into what its event records, and a case's files read back by the people
who may read the case.

Every method here is blocking I/O (the blob store, the event store): the routes call them in
the thread pool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

from sqlalchemy import text

from activities.blobs import (
    BlobNotFound,
    BlobStore,
    EvidenceRefused,
    accept_evidence,
    clean_file_name,
)
from activities.blobs.filetypes import OCTET_STREAM, detect_file, kind_of
from activities.blobs.references import FileReference, files_in_events
from activities.blobs.store import CHUNK_BYTES, InvalidHash, check_sha256
from activities.blobs.thumbnails import Thumbnail, ThumbnailUnavailable, thumbnail_for
from api.auth import Principal, with_article
from api.services.access import AccessRules
from api.services.refusals import Refused, forbidden
from domain.case.events import STORED_FILE_SCHEME, Evidence, stored_file_uri
from workflows.ids import case_stream_id

# Who may upload: the people whose commands cite files (an inspector or supervisor registers,
# an enterprise reports and plans, a supervisor verifies). An auditor changes nothing.
UPLOAD_ROLES = ("inspector", "supervisor", "enterprise")


def evidence_refusal(exc: EvidenceRefused) -> Refused:
    return Refused(exc.status, exc.rule, exc.message, exc.field)


class FileServices(AccessRules):
    """Uploading evidence files, citing them, and reading a case's files."""

    def blob_store(self) -> BlobStore:
        if self.blobs is None:
            raise Refused(503, "files.unavailable", "no file store is configured")
        return self.blobs

    # ---- uploading ----
    def upload_evidence(
        self, principal: Principal, source: BinaryIO, name: str | None, field: str = "file"
    ) -> dict[str, Any]:
        """Check and store one upload (the type from its bytes, the limits from settings); a
        refusal stores nothing. The answer is the reference to cite."""
        if principal.role not in UPLOAD_ROLES:
            raise forbidden(
                f"{with_article(principal.role)} may not upload files; allowed: "
                f"{', '.join(UPLOAD_ROLES)}"
            )
        try:
            accepted = accept_evidence(
                self.blob_store(), source, name=name, limits=self.evidence_limits, field=field
            )
        except EvidenceRefused as exc:
            raise evidence_refusal(exc) from None
        # Who uploaded it: only they may cite it by its hash (``_may_cite``).
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO evidence_uploads (sha256, actor) VALUES (:s, :a)"
                    " ON CONFLICT (sha256, actor) DO NOTHING"
                ),
                {"s": accepted.sha256, "a": principal.actor_id},
            )
        return {**accepted.as_event_data(), "uri": stored_file_uri(accepted.sha256)}

    # ---- citing ----
    def evidence_of(
        self,
        principal: Principal,
        items: Sequence[dict[str, Any]],
        field: str = "evidence",
        hazard_id: str | None = None,
    ) -> tuple[Evidence, ...]:
        """What the event records of each cited item: a typed reference as given (``uri`` and
        ``sha256``; never a ``duban-file:`` one, which only an upload makes), or an uploaded
        file (``sha256`` and an optional ``name``, no ``uri``) with its size and type read
        again from the stored bytes (never from the client).

        A stored file is cited only by an actor who uploaded it, or on a case (``hazard_id``)
        whose events already name it: the store also holds others' uploads and the issued
        documents' PDFs, whose hashes are public. Any other hash is answered as one never
        uploaded, so the answer tells nothing of what the store holds."""
        out = []
        case_files: set[str] | None = None
        for index, item in enumerate(items):
            where = f"{field}.{index}"
            uri = item.get("uri")
            if uri is not None:
                if uri.strip().lower().startswith(STORED_FILE_SCHEME):
                    raise Refused(
                        422,
                        "evidence.uri_reserved",
                        f"a {STORED_FILE_SCHEME} reference is made by an upload only: cite "
                        "an uploaded file by its sha256 without a uri",
                        f"{where}.uri",
                    )
                out.append(Evidence(uri, item["sha256"]))
                continue
            sha256 = item["sha256"].lower()
            if not self._uploaded_by(principal, sha256):
                if case_files is None:
                    case_files = self._files_named(hazard_id)
                if sha256 not in case_files:
                    raise self._file_unknown(sha256, where)
            out.append(self._stored_evidence(sha256, item.get("name"), where))
        return tuple(out)

    def _uploaded_by(self, principal: Principal, sha256: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT 1 FROM evidence_uploads WHERE sha256 = :s AND actor = :a"),
                {"s": sha256, "a": principal.actor_id},
            ).first()
        return row is not None

    def _files_named(self, hazard_id: str | None) -> set[str]:
        if hazard_id is None:
            return set()
        events = self.store.read_stream(case_stream_id(hazard_id))
        return {ref.sha256 for ref in files_in_events(e.data for e in events)}

    @staticmethod
    def _file_unknown(sha256: str, where: str) -> Refused:
        return Refused(
            422,
            "evidence.file_unknown",
            f"no uploaded file has SHA-256 {sha256}: upload it first (POST /api/v1/files), "
            "or give its uri",
            f"{where}.sha256",
        )

    def _stored_evidence(self, sha256: str, name: str | None, where: str) -> Evidence:
        store = self.blob_store()
        try:
            shown = clean_file_name(name, field=f"{where}.name")
        except EvidenceRefused as exc:
            raise evidence_refusal(exc) from None
        try:
            with store.open(sha256) as stream, store.receive(stream) as incoming:
                # Read to the end: the file cited is the file stored, intact.
                if incoming.sha256 != sha256:
                    raise Refused(
                        409,
                        "evidence.file_altered",
                        f"the stored file {sha256} no longer hashes to its name; upload it again",
                        f"{where}.sha256",
                    )
                media_type = detect_file(incoming.path) or OCTET_STREAM
                size = incoming.size
        except (BlobNotFound, InvalidHash):
            raise self._file_unknown(sha256, where) from None
        if media_type not in self.evidence_limits.allowed_types:
            raise Refused(
                422,
                "evidence.type_not_allowed",
                f"the file {sha256} is a {kind_of(media_type).label_en} ({media_type}), "
                "not accepted as evidence",
                f"{where}.sha256",
            )
        shown = shown or f"{sha256[:12]}.{kind_of(media_type).extension}"
        return Evidence(stored_file_uri(sha256), sha256, size, media_type, shown)

    # ---- reading a case's files ----
    def case_files(self, principal: Principal, hazard_id: str) -> list[FileReference]:
        """The stored files the case's events name, if ``principal`` may read the case."""
        self.require_read(principal, hazard_id)
        events = self.store.read_stream(case_stream_id(hazard_id))
        return files_in_events(e.data for e in events)

    def case_file(self, principal: Principal, hazard_id: str, sha256: str) -> FileReference:
        """One file of the case: 404 unless the case's events name it (a hash known from
        elsewhere opens nothing through a case the reader may see)."""
        try:
            check_sha256(sha256)
        except InvalidHash:
            raise Refused(
                422, "file.sha256_hex", "64 lowercase hexadecimal digits", "sha256"
            ) from None
        for ref in self.case_files(principal, hazard_id):
            if ref.sha256 == sha256:
                return ref
        raise Refused(404, "not_found", f"case {hazard_id} names no file {sha256}", "sha256")

    def open_case_file(self, ref: FileReference) -> BinaryIO:
        try:
            return self.blob_store().open(ref.sha256)
        except BlobNotFound:
            raise Refused(
                410,
                "file.missing",
                f"the file {ref.sha256} the case names is missing from the store; "
                "`duban audit verify-files` names every such file",
                "sha256",
            ) from None

    def case_file_thumbnail(self, ref: FileReference) -> Thumbnail:
        try:
            return thumbnail_for(
                self.blob_store(),
                ref.sha256,
                size=self.thumbnail_size,
                max_pixels=self.thumbnail_max_pixels,
            )
        except BlobNotFound:
            raise Refused(
                410, "file.missing", f"the file {ref.sha256} is missing", "sha256"
            ) from None
        except ThumbnailUnavailable as exc:
            raise Refused(404, exc.reason, exc.message, "sha256") from None


def chunks_of(stream: BinaryIO) -> Iterator[bytes]:
    """A stored file's bytes for a streaming answer (a sync iterator: Starlette reads it in
    its thread pool), closed at the end."""
    try:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk
    finally:
        stream.close()
