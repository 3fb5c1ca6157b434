"""Issuing (发文): the documents of real cases' recorded events issued by the follower, each
once, numbered from its authority's yearly sequence without a gap or a repeat — under racing
issuers and after a restart — its PDF stored by its SHA-256, read back with poppler and the
same bytes when rendered again.

The cases are the scenarios' (``tests/documents/scenarios.py``: real commands through
``domain.case.decide``), their events appended to the event store as the workflow appends
them; the workflow's own run is the API test's (``tests/api/access_matrix/test_documents.py``).
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import uuid4

import pytest

from activities.blobs import DirectoryBlobStore
from activities.database import create_app_engine
from activities.documents import render_document
from activities.documents.issuing import DocumentIssuer, PolicyBook, issue_event_id, pdf_of
from activities.eventstore import EventMetadata, EventStore, NewEvent, RecordedEvent
from activities.projections import Projector
from activities.projections.read_models.documents import document_by_code, list_documents
from domain.case.codec import event_to_data
from domain.case.events import CaseEvent, HazardRegistered
from domain.credit.codec import credit_event_to_data
from domain.credit.events import CreditRecordOpened
from domain.documents import DocumentKind
from domain.documents.issued import (
    DOCUMENT_ISSUED,
    IssuedDocument,
    normal_short_code,
    short_code_for,
)
from tests.conftest import APP_ROLE
from tests.documents.pdf_checks import pdf_text, render_pages, require_poppler
from tests.documents.scenarios import (
    CaseRun,
    CreditRun,
    credit_record,
    escalated_case,
    extension_case,
    listed_major_case,
    refused_case,
    registered_case,
    rules,
    verified_case,
)
from tests.domain.domain_builders import CALENDAR, DEFAULT, LEGACY
from workflows.ids import DOCUMENT_STREAM_PREFIX, case_stream_id, credit_stream_id

CASE_KINDS = {
    DocumentKind.RECTIFICATION_NOTICE,
    DocumentKind.SUPERVISION_NOTICE,
    DocumentKind.SUPERVISION_LETTER,
    DocumentKind.LISTING_NOTICE,
    DocumentKind.LISTING_ANNOUNCEMENT,
    DocumentKind.EXTENSION_DECISION,
    DocumentKind.VERIFICATION_OPINION,
    DocumentKind.DELISTING_NOTICE,
    DocumentKind.DELISTING_ANNOUNCEMENT,
    DocumentKind.ENFORCEMENT_REFERRAL,
}
PUBLIC_URL = "https://duban.example.gov.cn"
# Set DUBAN_ISSUED_OUT to a directory to keep the pages of an issued 整改通知书 and 督办通知书.
LOOK_AT = os.environ.get("DUBAN_ISSUED_OUT")


@dataclass
class Bench:
    store: EventStore
    blobs: DirectoryBlobStore

    def issuer(
        self, book: PolicyBook | None = None, name: str = "document_issuer"
    ) -> DocumentIssuer:
        return DocumentIssuer(
            self.store,
            self.blobs,
            rules(),
            book or PolicyBook.of(DEFAULT, LEGACY, calendar=CALENDAR),
            public_url=PUBLIC_URL,
            name=name,
        )

    def record(self, run: CaseRun) -> str:
        """The case's events appended to its stream as the workflow appends them: one append
        per decision (the events of one instant)."""
        first = run.history[0]
        assert isinstance(first, HazardRegistered)
        stream = case_stream_id(first.hazard_id)
        batches: list[list[CaseEvent]] = []
        for event in run.history:
            if batches and batches[-1][-1].at == event.at:
                batches[-1].append(event)
            else:
                batches.append([event])
        version = 0
        for batch in batches:
            events = [
                NewEvent(
                    uuid4(),
                    e.EVENT_TYPE,
                    event_to_data(e),
                    EventMetadata("tester", "supervisor", correlation_id=f"c-{version}"),
                    e.at,
                    e.SCHEMA_VERSION,
                )
                for e in batch
            ]
            self.store.append(stream, version, events)
            version += len(events)
        return first.hazard_id

    def record_credit(self, run: CreditRun) -> None:
        first = run.history[0]
        assert isinstance(first, CreditRecordOpened)
        for version, e in enumerate(run.history):
            self.store.append(
                credit_stream_id(first.credit_code),
                version,
                [
                    NewEvent(
                        uuid4(),
                        e.EVENT_TYPE,
                        credit_event_to_data(e),
                        EventMetadata("tester", "supervisor"),
                        e.at,
                        e.SCHEMA_VERSION,
                    )
                ],
            )

    def issued(self) -> list[RecordedEvent]:
        return [e for e in self.store.iter_all() if e.event_type == DOCUMENT_ISSUED]

    def number_streams(self) -> dict[str, list[int]]:
        serials: dict[str, list[int]] = defaultdict(list)
        for e in self.issued():
            assert e.stream_id.startswith(DOCUMENT_STREAM_PREFIX)
            assert e.data["serial"] == e.stream_version
            serials[e.stream_id].append(e.data["serial"])
        return serials


@pytest.fixture()
def bench(fresh_database_url: str, tmp_path: Path) -> Iterator[Bench]:
    engine = create_app_engine(fresh_database_url, APP_ROLE, pool_size=12)
    store = EventStore(engine)
    yield Bench(store, DirectoryBlobStore(tmp_path / "blobs"))
    store.close()
    engine.dispose()


def _check_gapless(serials: dict[str, list[int]]) -> None:
    for stream, numbers in serials.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), (stream, numbers)


def test_every_kind_of_case_document_is_issued_once_from_the_recorded_events(bench: Bench):
    require_poppler()
    runs = [
        registered_case(),
        escalated_case(),
        extension_case(),
        verified_case(),
        listed_major_case(),
        refused_case(),
    ]
    expected = [d for run in runs for d in run.documents()]
    for run in runs:
        bench.record(run)
    issuer = bench.issuer()
    assert issuer.catch_up() == len(expected)
    assert issuer.not_issued == {}

    issued = [IssuedDocument.from_data(e.data) for e in bench.issued()]
    assert sorted(d.key for d in issued) == sorted(d.key for d in expected)
    assert {d.kind for d in issued} == CASE_KINDS
    _check_gapless(bench.number_streams())
    assert len({d.number for d in issued}) == len(issued)  # no number twice
    assert len({d.short_code for d in issued}) == len(issued)

    by_key = {d.key: d for d in expected}
    for document in issued:
        # The recorded PDF: in the store under its hash, the same bytes when rendered again.
        pdf = bench.blobs.get(document.sha256)
        assert len(pdf) == document.size
        assert render_document(document.model) == pdf
        assert document.model.draft == by_key[document.key]
        draft = document.model.draft
        year = draft.signed_on.year
        assert document.number == f"{draft.authority.abbreviation}〔{year}〕{document.serial}号"
        text = pdf_text(pdf)
        assert document.number in text
        assert text.count(document.authority_name) >= 2  # 版头 and 落款
        draft = document.model.draft
        if draft.deadline is not None:
            assert draft.deadline.words in text
        for citation in draft.basis:
            assert citation.text in text
        assert document.short_code in text
        assert document.verify_url == f"{PUBLIC_URL}/v/{document.short_code}"
    if LOOK_AT:  # the pages people look at (docs/documents/): as issued, with their numbers
        notice = next(d for d in issued if d.kind is DocumentKind.RECTIFICATION_NOTICE)
        supervision = next(
            d for d in issued if d.kind is DocumentKind.SUPERVISION_NOTICE and d.model.draft.copy_to
        )
        pages = (("rectification-notice", notice), ("supervision-notice", supervision))
        for stem, document in pages:
            render_pages(bench.blobs.get(document.sha256), Path(LOOK_AT), stem, dpi=100)


def test_a_credit_record_s_documents_are_issued_by_the_authority_of_its_case_s_county(
    bench: Bench,
):
    require_poppler()
    bench.record(refused_case())
    record = credit_record()
    bench.record_credit(record)
    issuer = bench.issuer()
    case_documents = len(refused_case().documents())
    assert issuer.catch_up() == case_documents + len(record.documents())
    assert issuer.not_issued == {}
    credit = [
        IssuedDocument.from_data(e.data)
        for e in bench.issued()
        if e.data["subject"] == record.history[0].credit_code
    ]
    assert [d.model.draft for d in credit] == record.documents()
    assert [d.kind for d in credit] == [
        DocumentKind.CREDIT_LISTING_NOTICE,
        DocumentKind.CREDIT_LISTING_DECISION,
        DocumentKind.CREDIT_REPAIR_DECISION,
        DocumentKind.CREDIT_REPAIR_DECISION,
        DocumentKind.CREDIT_REPAIR_DECISION,
    ]
    assert {d.authority_name for d in credit} == {"诸城市应急管理局"}
    _check_gapless(bench.number_streams())
    notice = credit[0]
    text = pdf_text(bench.blobs.get(notice.sha256))
    assert notice.number in text and "诸城市应急管理局" in text
    for citation in notice.model.draft.basis:
        assert citation.text in text


def test_a_restarted_issuer_draws_no_second_number_and_the_read_model_lists_each_once(
    bench: Bench,
):
    hazard_id = bench.record(verified_case())
    first = bench.issuer()
    issued = first.catch_up()
    # 整改通知书, 复查意见 (fail), 复查意见 (pass), 销号通知书
    assert issued == len(verified_case().documents()) == 4
    before = bench.issued()

    # A restart that lost its position (a new follower, a reset): it reads everything again.
    again = bench.issuer(name="document_issuer_after_restart")
    assert again.catch_up() == 0
    assert bench.issued() == before
    # Going on after more events: the next number of the same authority follows on.
    assert first.catch_up() == 0

    Projector(bench.store).catch_up()
    page = list_documents(bench.store.engine, hazard_id)
    assert page.total == 4
    kinds = [row["kind"] for row in page.items]
    assert kinds == [
        "rectification_notice",
        "verification_opinion",
        "verification_opinion",
        "delisting_notice",
    ]
    numbers = [row["serial"] for row in page.items]
    assert numbers == [1, 2, 3, 4]  # one authority (the township), its sequence in event order
    row = document_by_code(bench.store.engine, page.items[0]["short_code"])
    assert row is not None and row["title"] == "事故隐患整改通知书"
    assert row["deadline"] is not None
    assert row["sha256"] == IssuedDocument.from_data(before[0].data).sha256


def test_racing_issuers_take_every_number_once_without_a_gap(bench: Bench):
    """Eight documents of one authority issued by four threads at once, each document
    offered to two of them: eight numbers, 1 to 8, each document once."""
    run = registered_case()
    bench.record(run)
    source = bench.store.read_stream(case_stream_id(run.history[0].hazard_id))[0]
    draft = run.documents()[0]
    drafts = [replace(draft, key=f"{draft.key}:race-{i}") for i in range(8)]
    issuer_of = [bench.issuer() for _ in range(4)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait()
            mine = drafts[index::4] + drafts[(index + 1) % 4 :: 4]
            for d in mine:
                issuer_of[index].issue(d, source)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    issued = bench.issued()
    assert sorted(e.data["key"] for e in issued) == sorted(d.key for d in drafts)
    assert sorted(e.stream_version for e in issued) == list(range(1, 9))
    assert {e.event_id for e in issued} == {issue_event_id(d.key) for d in drafts}
    _check_gapless(bench.number_streams())


def test_a_lost_pdf_is_rendered_again_with_the_recorded_bytes(bench: Bench):
    bench.record(registered_case())
    bench.issuer().catch_up()
    document = IssuedDocument.from_data(bench.issued()[0].data)
    original = bench.blobs.get(document.sha256)
    bench.blobs.path_of(document.sha256).unlink()  # lost from the store (a test's doing)
    assert pdf_of(document, bench.blobs) == original
    assert bench.blobs.get(document.sha256) == original  # and stored again
    # A copy altered outside duban is never served as the document.
    path = bench.blobs.path_of(document.sha256)
    path.chmod(0o644)
    path.write_bytes(original[:-10] + b"tampered!\n")
    assert pdf_of(document, bench.blobs) == original


def test_a_case_under_a_policy_the_issuer_lacks_gets_no_document_and_is_counted(bench: Bench):
    bench.record(registered_case())
    issuer = bench.issuer(PolicyBook.of(LEGACY, calendar=CALENDAR))
    assert issuer.catch_up() == 0
    assert issuer.not_issued == {"document.policy_unknown": 2}  # each of its two events
    assert bench.issued() == []
    # With the case's policy in the book (run again from the start), it is issued.
    assert bench.issuer(name="with_the_policy").catch_up() == 1


def test_the_short_code_is_the_key_s_and_reads_as_printed():
    code = short_code_for("H-1:2:rectification_notice")
    assert code == short_code_for("H-1:2:rectification_notice")
    assert code != short_code_for("H-1:3:rectification_notice")
    assert len(code) == 14 and code[4] == code[9] == "-"
    assert not set(code) & set("ILOU")  # nothing to misread from paper
    assert normal_short_code(code.lower().replace("0", "o").replace("1", "l")) == code


def test_the_follower_issues_as_cases_are_recorded_and_stops_when_asked(bench: Bench):
    issuer = bench.issuer()
    stop = threading.Event()
    follower = threading.Thread(target=issuer.run, args=(stop,), kwargs={"idle_wait": 0.2})
    follower.start()
    try:
        bench.record(registered_case())
        waited = 0.0
        while not bench.issued() and waited < 120:
            time.sleep(0.2)
            waited += 0.2
        assert [e.data["title"] for e in bench.issued()] == ["事故隐患整改通知书"]
    finally:
        stop.set()
        follower.join(30)
    assert not follower.is_alive()
    # The case's events are done (the issue event after them may or may not be, by then).
    assert issuer.position() >= bench.issued()[0].position - 1


def test_cases_registered_under_an_earlier_shipped_edition_still_get_their_documents() -> None:
    """An upgrade that changes the shipped policy files must not leave the cases registered
    under the earlier ones without documents: every archived edition is in the book."""
    from activities.documents.policies import PolicyBook
    from activities.rules import archived_policies, shipped_policy
    from activities.settings import Settings

    book = PolicyBook.from_settings(Settings())
    archived = [shipped_policy(name) for name in archived_policies()]
    assert any(p.version == "2025.4" for p in archived)  # the edition main shipped last
    for policy in archived:
        assert policy.fingerprint in book.policies, policy.version
    assert shipped_policy("default.toml").fingerprint not in {p.fingerprint for p in archived}
