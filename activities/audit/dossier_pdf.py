"""The dossier as a PDF (``dossier.pdf``): cover, case summary, timeline, documents, files,
and the chain and checkpoint that prove the record — the ``DossierView`` the HTML shows.

Set in the fonts that install with duban (``activities.documents.fonts``: Noto Serif SC for
text, Noto Sans SC for headings), embedded as subsets; no system font is used. The same view
gives the same bytes: the creation date is the export's instant from the view, the producer
``duban``, and fpdf2 derives the file /ID from the content. A character the fonts lack is
refused before anything is drawn (``document.font.missing_glyph``), never printed as 豆腐块.

Rendering takes about a second of CPU (fontTools subsetting): call it from a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from activities.audit.dossier_html import FOOTNOTE
from activities.audit.dossier_view import DossierView, Pair
from activities.documents.fonts import SANS, SANS_FILE, SERIF, font_files, require_glyphs

MARGIN = 18.0
SIZE_COVER, SIZE_H1, SIZE_TEXT, SIZE_SMALL = 26.0, 15.0, 10.0, 8.0
GREY = (90, 90, 90)
HEAD_FILL = (235, 235, 235)
# The export's instant when the view has none (a view built for a test): fixed, so that the
# bytes stay the same.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
HEADINGS = (
    "案件摘要办理过程文书目录附件（证据文件）防篡改记录序号记录时间办理人事项依据与期限"
    "文书编号日期事件序号文件SHA-256所属事项项目内容隐患督办案卷（一案一档）"
    "本案卷所有时间均为时间。第页共—无0123456789"
    "已印发文书文号标题成文日期的案卷内文件PDF"
)


class DossierPdf(FPDF):
    def __init__(self, hazard_id: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.hazard_id = hazard_id
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 4)

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-MARGIN)
        self.set_font(SERIF, size=SIZE_SMALL)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"一案一档 {self.hazard_id}　第 {self.page_no()} 页", align="C")
        self.set_text_color(0, 0, 0)


def render_dossier_pdf(view: DossierView, created: datetime | None = None) -> bytes:
    """The dossier as an A4 PDF; ``created`` (the export's instant) is its creation date."""
    require_glyphs(view.all_text() + FOOTNOTE + HEADINGS, "dossier")
    require_glyphs(HEADINGS + view.title, "dossier", SANS_FILE)
    with font_files() as fonts:
        pdf = DossierPdf(view.hazard_id)
        pdf.add_font(SERIF, fname=str(fonts.serif))
        pdf.add_font(SANS, fname=str(fonts.sans))
        pdf.set_creation_date(created or view.exported_at or EPOCH)
        pdf.set_producer("duban")
        pdf.set_creator("duban")
        pdf.set_title(f"{view.title} {view.hazard_id}")
        pdf.set_lang("zh-CN")
        _cover(pdf, view)
        pdf.add_page()
        _heading(pdf, "案件摘要")
        pdf.set_font(SERIF, size=SIZE_TEXT)
        pdf.multi_cell(
            0, 6, f"本案卷所有时间均为 {view.zone} 时间。", new_x="LMARGIN", new_y="NEXT"
        )
        _pairs(pdf, view.summary)
        _heading(pdf, "办理过程")
        _table(
            pdf,
            ("序号", "记录时间", "办理人", "事项", "依据与期限"),
            [
                (
                    str(r.number),
                    r.when,
                    r.actor,
                    r.kind,
                    "；".join(f"{k}：{v}" for k, v in r.details) or "—",
                )
                for r in view.timeline
            ],
            (0.06, 0.23, 0.16, 0.16, 0.39),
        )
        _heading(pdf, "文书目录")
        _table(
            pdf,
            ("文书", "编号", "日期", "事件序号"),
            [(d.title, d.number, d.issued, str(d.event_number)) for d in view.documents],
            (0.32, 0.32, 0.22, 0.14),
        )
        _subheading(pdf, "已印发文书")
        _table(
            pdf,
            ("文号", "标题", "成文日期", "PDF 的 SHA-256", "案卷内文件"),
            [(i.number, i.title, i.signed_on, i.sha256, i.member) for i in view.issued],
            (0.2, 0.22, 0.13, 0.27, 0.18),
        )
        _heading(pdf, "附件（证据文件）")
        _table(
            pdf,
            ("文件", "SHA-256", "所属事项", "事件序号"),
            [(f.name, f.sha256, f.attached_to, str(f.event_number)) for f in view.files],
            (0.28, 0.42, 0.18, 0.12),
        )
        _heading(pdf, "防篡改记录")
        _pairs(pdf, view.record)
        pdf.ln(3)
        pdf.set_font(SERIF, size=SIZE_SMALL)
        pdf.multi_cell(0, 4.5, FOOTNOTE, wrapmode=WrapMode.CHAR, new_x="LMARGIN")
        return bytes(pdf.output())


def _cover(pdf: DossierPdf, view: DossierView) -> None:
    pdf.add_page()
    pdf.set_y(70)
    pdf.set_font(SANS, size=SIZE_COVER)
    pdf.multi_cell(0, 14, view.title, align="C", new_x="LMARGIN")
    pdf.ln(12)
    facts = dict(view.summary)
    lines = [
        ("隐患编号", view.hazard_id),
        ("生产经营单位", facts.get("生产经营单位", "—")),
        ("隐患级别", facts.get("隐患级别", "—")),
        ("督办单位", facts.get("督办单位", "—")),
        ("当前状态", facts.get("当前状态", "—")),
        ("办结情况", facts.get("办结情况", "—")),
    ]
    pdf.set_font(SERIF, size=13)
    for label, value in lines:
        pdf.set_x(MARGIN + 20)
        pdf.multi_cell(
            pdf.epw - 40, 9, f"{label}：{value}", wrapmode=WrapMode.CHAR, new_x="LMARGIN"
        )
    pdf.set_y(-70)
    pdf.set_font(SERIF, size=SIZE_TEXT)
    pdf.set_text_color(*GREY)
    for label, value in [*view.record[-1:], ("时区", view.zone)]:
        pdf.multi_cell(
            0, 6, f"{label}：{value}", align="C", wrapmode=WrapMode.CHAR, new_x="LMARGIN"
        )
    pdf.set_text_color(0, 0, 0)


def _heading(pdf: DossierPdf, text: str) -> None:
    if pdf.get_y() > pdf.h - 60:  # a heading never ends a page alone
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font(SANS, size=SIZE_H1)
    pdf.cell(0, 10, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(SERIF, size=SIZE_TEXT)


def _subheading(pdf: DossierPdf, text: str) -> None:
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.ln(1)
    pdf.set_font(SANS, size=SIZE_TEXT + 1)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(SERIF, size=SIZE_TEXT)


def _pairs(pdf: DossierPdf, pairs: Sequence[Pair]) -> None:
    _table(pdf, ("项目", "内容"), list(pairs), (0.2, 0.8))


def _table(
    pdf: DossierPdf,
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
) -> None:
    pdf.set_font(SERIF, size=SIZE_TEXT)
    body = list(rows) or [("无", *[""] * (len(head) - 1))]
    with pdf.table(
        col_widths=tuple(widths),
        wrapmode=WrapMode.CHAR,
        text_align="LEFT",
        line_height=5.2,
        headings_style=FontFace(family=SANS, emphasis="", fill_color=HEAD_FILL),
        repeat_headings=1,
    ) as table:
        for cells in (head, *body):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(2)
