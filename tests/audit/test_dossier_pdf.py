"""The dossier's PDF (dossier.pdf): cover, summary, timeline, documents, files, chain and
checkpoint, read back with poppler (pdftotext), every page rendered (pdftoppm), every printed
character drawn by an embedded subset (no 豆腐块), the same bytes every time."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from activities.audit.dossier_pdf import render_dossier_pdf
from activities.audit.dossier_view import DossierView, build_view
from tests.audit.test_dossier_view import CODES, recorded
from tests.documents.pdf_checks import missing_glyphs, pdf_text, render_pages, require_poppler
from tests.documents.scenarios import escalated_case, listed_major_case

# Set DUBAN_DOCUMENTS_OUT to keep the first page for people to look at (docs/documents/).
LOOK_AT = os.environ.get("DUBAN_DOCUMENTS_OUT")
EXPORTED = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)


def view(run, hazard_id: str) -> DossierView:  # type: ignore[no-untyped-def]
    return build_view(hazard_id, recorded(run), "Asia/Shanghai", exported_at=EXPORTED)


@pytest.fixture(scope="module")
def escalated() -> tuple[DossierView, bytes]:
    v = view(escalated_case(), "H-ESC-1")
    return v, render_dossier_pdf(v)


def test_the_pdf_reads_back_the_cover_summary_timeline_documents_and_record(escalated):
    require_poppler()
    v, pdf = escalated
    text = pdf_text(pdf)
    assert text.startswith("隐患督办案卷（一案一档）隐患编号：H-ESC-1")
    for heading in ("案件摘要", "办理过程", "文书目录", "附件（证据文件）", "防篡改记录"):
        assert heading in text, heading
    facts = dict(v.summary)
    # pdftotext drops a hyphen that ends a line (it takes it for a word's hyphenation).
    for label in ("当前状态", "挂牌督办", "移送执法"):
        assert re.sub(r"[\s-]+", "", facts[label]) in text.replace("-", ""), label
    assert "Asia/Shanghai（UTC+08:00）" in text and "2026-12-0809:30:00（Asia/Shanghai）" in text
    # Table cells wrap, and pdftotext reads a row's lines column by column: short kinds only.
    for kind in ("登记隐患", "逾期未整改", "逐级升级督办", "时限届满自动办理"):
        assert kind in text, kind
    assert "隐患整改通知书" in text and "督办函" in text
    found = CODES.findall(text.replace("SHA-256", ""))
    assert not found, found


def test_every_page_renders_and_every_character_has_its_glyph(escalated, tmp_path: Path):
    require_poppler()
    v, pdf = escalated
    pages = render_pages(pdf, tmp_path, "dossier")
    assert len(pages) >= 3
    for page in pages:
        with Image.open(page) as image:
            assert image.size[0] > image.size[1] * 0.6
            assert image.convert("L").getextrema()[0] < 100, f"{page.name} is blank"
    assert missing_glyphs(pdf, v.all_text()) == []
    if LOOK_AT:
        out = Path(LOOK_AT)
        out.mkdir(parents=True, exist_ok=True)
        (out / "dossier-page-1.png").write_bytes(pages[0].read_bytes())


def test_the_same_dossier_gives_the_same_bytes():
    v = view(listed_major_case(), "H-MAJ-1")
    first = render_dossier_pdf(v)
    assert render_dossier_pdf(view(listed_major_case(), "H-MAJ-1")) == first
    assert b"/CreationDate (D:20261208013000Z" in first or b"D:20261208" in first
