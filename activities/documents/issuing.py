"""Issuing the documents a case's or a credit record's events give rise to (发文): each once,
with its 发文字号 from its authority's gap-free sequence for the year, its PDF stored
content-addressed and its hash recorded in the ``DocumentIssued`` event.

Who issues: a follower of the event store, like the projector — not an activity the workflows
call. Why:

- The documents say what the recorded events decided (the workflow decided; ``domain.documents``
  words it): issuing decides nothing, so it belongs with the views of the record. A workflow
  that called it would change what every running case commands (``workflow.patched`` in the
  case and the credit workflows, new replay histories) for no decision of its own.
- A follower issues for every case the store holds, those recorded before issuing existed
  included, and for credit records the same way; restarted, it goes on from its committed
  position, and re-reading events it had already handled issues nothing twice (below).
- Rendering takes about a second of CPU: it runs on the follower's thread, never on a
  workflow task or an API request.

The number (``DocumentIssued`` in stream ``documents-<year>-<unit>``):

1. The event id is derived from the document's key (``<subject>:<event no>:<kind>``): a
   document already issued is found by its id, and no second number is drawn for it.
2. The serial is the stream's next version: the event is appended with ``expected_version``
   = serial - 1, so two issuers racing for one authority cannot take one number (the loser
   gets ``WrongExpectedVersion`` and draws again) and no number is skipped (the store's stream
   versions are gap-free). A loser whose document the winner issued meanwhile finds it by id.
3. The PDF is rendered with that number, its SHA-256 goes into the event, and the bytes go to
   the blob store after the append succeeds: a PDF in the store always belongs to an issued
   document, and one lost before it was stored is rendered again from the event's model with
   the same bytes (``pdf_of``), checked against the recorded hash.

What a document says is built from the case's history up to the event and the policy the case
was registered under (its ``policy_fingerprint``, looked up in the ``PolicyBook``): a case whose
policy is not in the book gets no document rather than one that states other numbers; it is
logged (``documents.not_issued``) and counted, and issued when the follower is run again with
that policy in the book. A credit record follows the case that opened it (its policy, and the
grid unit at ``[credit] decided_by_level`` on its grid path issues).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from activities.blobs import BlobNotFound, BlobStore, BlobStoreError
from activities.documents.policies import PolicyBook
from activities.documents.render import render_document
from activities.eventstore import (
    EventIdReused,
    EventMetadata,
    EventStore,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)
from activities.reference_data import ReferenceData
from domain.case.codec import event_from_data
from domain.case.events import CaseEvent, HazardRegistered
from domain.credit.codec import credit_event_from_data
from domain.credit.events import CreditEvent, CreditEventRecorded
from domain.documents import (
    CreditDocumentContext,
    DocumentDraft,
    DocumentModel,
    DocumentRules,
    documents_for_case_event,
    documents_for_credit_event,
    issue,
)
from domain.documents.builders import CREDIT_DOCUMENTS
from domain.documents.issued import (
    DOCUMENT_ISSUED,
    DOCUMENT_ISSUED_SCHEMA,
    IssuedDocument,
    verification_for,
)
from domain.errors import DomainError
from domain.grid import GridLevel, GridUnit
from workflows.ids import case_stream_id, document_stream_id

log = structlog.get_logger(__name__)

ISSUER = "document_issuer"  # its row in projection_positions
CASE_PREFIX = "case-"
CREDIT_PREFIX = "credit-"
# Event ids of issue events: uuid5 of the document's key in this namespace.
ISSUE_NAMESPACE = uuid.UUID("6f1d2c74-3a0b-5e8e-9d31-64756261646f")
MAX_DRAWS = 50  # attempts at a number before giving up for this batch (it is retried)
DEFAULT_PUBLIC_URL = "http://localhost:8000"


def issue_event_id(key: str) -> uuid.UUID:
    return uuid.uuid5(ISSUE_NAMESPACE, key)


@dataclass(frozen=True)
class IssueResult:
    """One document issued now (``already_issued`` False) or found issued before."""

    document: IssuedDocument
    stream_id: str
    already_issued: bool


@dataclass(frozen=True)
class IssueBatch:
    events: int
    issued: int
    position: int


class DocumentIssuer:
    """Issues the documents of the cases in the event store, following it in global order.

    Not thread-safe: one issuer per thread. Several issuers (threads, processes, replicas) may
    run at once: they serialise on their position row, and ``issue`` is safe under races.
    """

    def __init__(
        self,
        store: EventStore,
        blobs: BlobStore,
        rules: DocumentRules,
        book: PolicyBook,
        *,
        public_url: str | None = None,
        name: str = ISSUER,
        batch_size: int = 200,
    ) -> None:
        self._store = store
        self._engine = store.engine
        self._blobs = blobs
        self._rules = rules
        self._book = book
        self._public_url = public_url or DEFAULT_PUBLIC_URL
        self._name = name
        self._stopping = threading.Event()  # run()'s stop: a batch ends early when it is set
        self._batch_size = batch_size
        self.not_issued: Counter[str] = Counter()  # rule of the refusal -> count

    # ------------------------------------------------------------------ following

    def position(self) -> int:
        with self._engine.connect() as conn:
            value = conn.exec_driver_sql(
                "SELECT position FROM projection_positions WHERE name = %(n)s", {"n": self._name}
            ).scalar()
        return int(value or 0)

    def catch_up(self) -> int:
        """Issue until the store has nothing newer; how many documents were issued now."""
        issued = 0
        while True:
            batch = self.step()
            issued += batch.issued
            if batch.events == 0:
                return issued

    def step(self, limit: int | None = None) -> IssueBatch:
        """One batch: lock the position row, issue the documents of the next events, move the
        position, commit. A failure rolls the position back; the documents issued before it
        stay issued and are found by their ids when the batch runs again."""
        raw = self._engine.raw_connection()
        try:
            cursor: Any = raw.cursor()
            try:
                cursor.execute(
                    "INSERT INTO projection_positions (name) VALUES (%(n)s)"
                    " ON CONFLICT (name) DO NOTHING;"
                    " SELECT position FROM projection_positions WHERE name = %(n)s FOR UPDATE",
                    {"n": self._name},
                )
                position = int(cursor.fetchone()[0])
                events = self._store.read_all(position, limit or self._batch_size)
                if not events:
                    raw.rollback()
                    return IssueBatch(0, 0, position)
                issued, last = self._issue_for(events)
                cursor.execute(
                    "UPDATE projection_positions SET position = %s,"
                    " updated_at = clock_timestamp() WHERE name = %s",
                    (last, self._name),
                )
                raw.commit()
            finally:
                cursor.close()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
        return IssueBatch(len(events), issued, last)

    def run(self, stop_event: threading.Event, *, idle_wait: float = 1.0) -> None:
        """Follow the store until ``stop_event`` is set; a failed batch is logged and tried
        again after a growing pause (1 s doubling to a minute)."""
        log.info("documents.following", issuer=self._name)
        self._stopping = stop_event
        failures = 0
        while not stop_event.is_set():
            try:
                batch = self.step()
                failures = 0
                if batch.events:
                    continue
                self._store.wait_for_events(batch.position, idle_wait)
            except Exception as exc:  # every failure is logged and retried
                failures += 1
                pause = min(60.0, 2.0 ** min(failures - 1, 6))
                log.error("documents.batch_failed", error=str(exc)[:2000], retry_in=pause)
                stop_event.wait(pause)
        log.info("documents.stopped", issuer=self._name)

    def _issue_for(self, events: Iterable[RecordedEvent]) -> tuple[int, int]:
        """Issue for ``events`` in order: (documents issued now, the position up to which
        every event is done). A stop requested meanwhile ends the batch after the event at
        hand (rendering a backlog takes a second a document; a shutdown should not wait)."""
        histories: dict[str, list[RecordedEvent]] = {}
        issued = 0
        done = 0
        for event in events:
            if self._stopping.is_set() and done:
                break
            done = event.position
            if event.stream_id.startswith(CASE_PREFIX):
                issue_for = self.issue_case_event
            elif event.stream_id.startswith(CREDIT_PREFIX):
                issue_for = self.issue_credit_event
            else:
                continue
            if event.stream_id not in histories:
                # The stream as it is now: the events of the same decision, recorded by the
                # same append, are all there (a document may read them).
                histories[event.stream_id] = self._store.read_stream(event.stream_id)
            try:
                results = issue_for(histories[event.stream_id], event.stream_version)
            except DomainError as exc:
                self.not_issued[exc.rule] += 1
                log.warning(
                    "documents.not_issued",
                    stream_id=event.stream_id,
                    stream_version=event.stream_version,
                    rule=exc.rule,
                    error=exc.message,
                )
                continue
            issued += sum(not r.already_issued for r in results)
        return issued, done

    # ------------------------------------------------------------------ issuing

    def issue_case_event(
        self, stream: list[RecordedEvent], stream_version: int
    ) -> list[IssueResult]:
        """The documents of the case event at ``stream_version`` of ``stream`` (the case's
        stream from its registration), each issued once."""
        history: list[CaseEvent] = [
            event_from_data(e.event_type, e.schema_version, e.data) for e in stream
        ]
        first = history[0]
        if not isinstance(first, HazardRegistered):
            raise DomainError(
                "document.history_start", "a case's history starts with HazardRegistered", ""
            )
        context = self._book.context(first.policy_fingerprint, self._rules)
        if context is None:
            raise _policy_unknown(first)
        source = stream[stream_version - 1]
        drafts = documents_for_case_event(history, stream_version - 1, context)
        return [self.issue(draft, source) for draft in drafts]

    def issue_credit_event(
        self, stream: list[RecordedEvent], stream_version: int
    ) -> list[IssueResult]:
        """The documents of the credit event at ``stream_version`` of an enterprise's credit
        record. A record states no policy and no grid of its own: they are those of the case
        whose happening it recorded first (up to the event), or — for a record a supervisor
        opened with no case — the configured policy and the enterprise's grid unit in the
        reference data. Its documents are issued by the authority of the unit at ``[credit]
        decided_by_level`` on that grid path (the county without the key)."""
        history: list[CreditEvent] = [
            credit_event_from_data(e.event_type, e.schema_version, e.data) for e in stream
        ]
        index = stream_version - 1
        if not any(isinstance(history[index], kind) for kind, _ in CREDIT_DOCUMENTS):
            return []
        case_id = next(
            (e.case_id for e in history[: index + 1] if isinstance(e, CreditEventRecorded)), None
        )
        registered = self._registration(case_id) if case_id else None
        if registered is not None:
            context = self._book.context(registered.policy_fingerprint, self._rules)
            if context is None:
                raise _policy_unknown(registered)
            policy, path = context.policy, registered.grid_path
        else:
            policy, path = self._book.current, self._enterprise_path(stream[0].stream_id)
        level = policy.credit.decided_by_level or GridLevel.COUNTY
        unit = next((u for u in path if u.level is level), None)
        if unit is None:
            unit = self._rules.issuing_unit(path, path[0].code)
        credit_context = CreditDocumentContext(policy, self._book.calendar, self._rules, unit)
        drafts = documents_for_credit_event(history, index, credit_context)
        return [self.issue(draft, stream[index]) for draft in drafts]

    def _enterprise_path(self, stream_id: str) -> tuple[GridUnit, ...]:
        credit_code = stream_id.removeprefix(CREDIT_PREFIX)
        reference = ReferenceData(self._engine, self._store)
        enterprise = reference.enterprise(credit_code)
        path = tuple(reference.path_to_root(enterprise.grid_code)) if enterprise else ()
        if not path:
            raise DomainError(
                "document.credit_without_grid",
                f"enterprise {credit_code} has no grid unit in the reference data and its credit "
                "record names no case: no authority to issue its documents",
                "credit_code",
            )
        return path

    def _registration(self, hazard_id: str) -> HazardRegistered | None:
        first = self._store.read_stream(case_stream_id(hazard_id), 1, 1)
        if not first:
            return None
        event = event_from_data(first[0].event_type, first[0].schema_version, first[0].data)
        return event if isinstance(event, HazardRegistered) else None

    def issue(self, draft: DocumentDraft, source: RecordedEvent) -> IssueResult:
        """Issue ``draft`` (from the recorded ``source`` event) once: its number drawn from
        its authority's sequence, its PDF rendered, hashed and stored."""
        event_id = issue_event_id(draft.key)
        stream_id = document_stream_id(draft.signed_on.year, draft.authority.unit_code)
        for _ in range(MAX_DRAWS):
            found = self.find(event_id)
            if found is not None:
                self._keep_pdf(found)
                return IssueResult(found, stream_id, True)
            version = self._store.stream_version(stream_id)
            model = issue(draft, version + 1, verification_for(draft.key, self._public_url))
            pdf = self._render(model)
            document = IssuedDocument.of(
                model, source.stream_id, source.stream_version, _sha256(pdf), len(pdf)
            )
            metadata = EventMetadata(
                actor_id="document-issuer",
                actor_role="system",
                correlation_id=_text(source.metadata.get("correlation_id")),
                causation_id=str(source.event_id),
            )
            event = NewEvent(
                event_id, DOCUMENT_ISSUED, document.to_data(), metadata, source.occurred_at,
                DOCUMENT_ISSUED_SCHEMA,
            )  # fmt: skip
            try:
                result = self._store.append(stream_id, version, [event])
            except WrongExpectedVersion:
                continue  # another issuer took this number: draw again
            except EventIdReused:
                continue  # another issuer issued this very document: found above
            stored = self._blobs.put(pdf)
            assert stored.sha256 == document.sha256
            log.info(
                "documents.issued",
                number=document.number,
                key=document.key,
                stream_id=stream_id,
                already_stored=result.already_stored,
            )
            return IssueResult(document, stream_id, result.already_stored)
        raise RuntimeError(f"{draft.key}: no number drawn after {MAX_DRAWS} attempts")

    def find(self, event_id: uuid.UUID) -> IssuedDocument | None:
        with self._engine.connect() as conn:
            data = conn.exec_driver_sql(
                "SELECT data::text FROM events WHERE event_id = %(i)s", {"i": str(event_id)}
            ).scalar()
        if data is None:
            return None
        return IssuedDocument.from_data(orjson.loads(data))

    def _keep_pdf(self, document: IssuedDocument) -> None:
        """A document found issued has its PDF in the store (rendered again if it was lost
        between the append and the store)."""
        if not self._blobs.exists(document.sha256):
            pdf_of(document, self._blobs)

    def _render(self, model: DocumentModel) -> bytes:
        return render_document(model)


def pdf_of(document: IssuedDocument, blobs: BlobStore | None) -> bytes:
    """The issued PDF: from the blob store, or rendered again from the model the event
    recorded, which gives the same bytes — checked against the recorded hash before it is
    stored or served."""
    if blobs is not None:
        try:
            stored = blobs.get(document.sha256)
        except BlobNotFound:
            stored = b""
        if _sha256(stored) == document.sha256:
            return stored
        # Missing, or altered outside duban (never served: the bytes would not be the issued
        # document's); the store keeps an altered file as evidence and refuses to overwrite it.
    pdf = render_document(document.model)
    if _sha256(pdf) != document.sha256:
        raise DomainError(
            "document.render_differs",
            f"{document.number}: rendering the recorded document gives other bytes than were "
            "issued (another fpdf2, fontTools, font or segno version?), and the issued PDF is "
            "not in the blob store",
            "sha256",
        )
    if blobs is not None:
        try:
            blobs.put(pdf)
        except BlobStoreError as exc:
            log.warning("documents.pdf_not_restored", number=document.number, error=str(exc))
    return pdf


def _policy_unknown(registered: HazardRegistered) -> DomainError:
    return DomainError(
        "document.policy_unknown",
        f"case {registered.hazard_id} runs under policy {registered.policy_name} "
        f"{registered.policy_version} ({registered.policy_fingerprint[:12]}), which this issuer "
        "does not have: its documents would state other numbers",
        "policy_fingerprint",
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


__all__ = [
    "ISSUER",
    "DocumentIssuer",
    "IssueBatch",
    "IssueResult",
    "PolicyBook",
    "issue_event_id",
    "pdf_of",
]
