"""A ``DocumentModel`` laid out after GB/T 9704-2012 (党政机关公文格式) with fpdf2.

Geometry (GB/T 9704-2012 5.2, 7): A4; 天头 37 mm, 订口 28 mm, 版心 156 × 225 mm; body in 3号
(16 pt), 22 lines of 28 characters. 版头: the 发文机关标志 in red 小标宋 with its top edge 35 mm
below the 版心's (7.2.3); the 发文字号 centred two lines below it (7.2.4); a red 分隔线 the width
of the 版心 4 mm below the 发文字号 (7.2.6). 标题 in 2号小标宋 two lines below the line, broken
into balanced lines (7.3.1); 主送 one line below, flush left, ending with a full-width colon
(7.3.2); 正文 indented two characters, 一级标题 in 黑体 (7.3.3). 落款: the 成文日期 four
characters from the right, the 发文机关署名 centred above it, two empty lines above them for the
seal, which must sit within one line of the text (7.3.5); the last lines of text stay with
them on one page. 版记 at the foot of the last page, its last rule on the 版心's bottom edge
(7.4); page numbers "— 1 —" in 4号, 7 mm below the 版心, odd pages right and even pages left
with one character's space (7.5). duban adds the verification QR code and short code above
the 版记.

Fonts: the serif stands in for 仿宋 and (stroked) 小标宋, the sans for 黑体 (see ``fonts``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time

from fpdf import FPDF
from fpdf.enums import TextMode

from activities.documents.fonts import SANS, SERIF, FontFiles
from activities.documents.linebreak import PlacedLine, balanced_lines, paragraph_lines
from activities.documents.qr import QUIET_ZONE, qr_runs
from domain.documents.model import DocumentModel, ParagraphStyle, signed_on_words

PAGE_W, PAGE_H = 210.0, 297.0
TOP, LEFT = 37.0, 28.0  # 天头, 订口
BODY_W, BODY_H = 156.0, 225.0  # 版心
BOTTOM = TOP + BODY_H
LINES, CHARS = 22, 28
PITCH = BODY_H / LINES  # one line of the 版心's grid, ≈ 10.23 mm
CELL = BODY_W / CHARS  # one character of the grid, ≈ 5.57 mm
PT = 25.4 / 72  # mm per point
SIZE_TITLE, SIZE_BODY, SIZE_FOOT, SIZE_NOTE = 22.0, 16.0, 14.0, 10.5  # 2号, 3号, 4号, 五号
SIZE_URL = 8.0  # the verification URL when it does not fit in 五号
MARK_SIZE = 36.0  # 发文机关标志: the standard leaves its size to 醒目、美观、庄重
RED = (230, 0, 18)
BLACK = (0, 0, 0)
GREY = (90, 90, 90)
QR_SIZE = 20.0  # mm, quiet zone included
VERIFY_HINT = "扫码或输入核验码核验本文书"
FOOT_ROW = 8.0  # one row of the 版记
# The seal (42 mm) reaches about 6 mm below the date line: the 版记 starts below it.
SEAL_BELOW_DATE = 6.0
TIGHTEST = 0.85  # the closest the 落款 lines may be set, as a share of the grid's pitch


def em(size_pt: float) -> float:
    return size_pt * PT


def baseline_in(box_top: float, size_pt: float, box: float = PITCH) -> float:
    """The baseline that centres an em box of ``size_pt`` in a line box (ascent ≈ 0.88 em)."""
    return box_top + (box + 0.76 * em(size_pt)) / 2


class GongwenPdf(FPDF):
    """An A4 page with GB/T 9704 margins and page numbers; text placed by the composer."""

    def __init__(self, fonts: FontFiles, headings: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margins(LEFT, TOP, PAGE_W - LEFT - BODY_W)
        self.add_font(SERIF, fname=str(fonts.serif))
        if headings:  # parsing a font costs a third of a second: only when 黑体 is set
            self.add_font(SANS, fname=str(fonts.sans))

    def footer(self) -> None:
        self.set_font(SERIF, size=SIZE_FOOT)
        self.set_text_color(*BLACK)
        label = f"— {self.page_no()} —"
        width = self.get_string_width(label)
        one = em(SIZE_FOOT)
        x = LEFT + BODY_W - one - width if self.page_no() % 2 else LEFT + one
        self.text(x, BOTTOM + 7 + 0.35 * one, label)


@dataclass
class Row:
    """One line of the flow: how tall it is and how to draw it at a box top."""

    height: float
    draw: Callable[[float], None]


class Composer:
    def __init__(self, pdf: GongwenPdf, model: DocumentModel) -> None:
        self.pdf = pdf
        self.model = model
        self.y = TOP

    # --- text primitives -------------------------------------------------------------------

    def _font(self, family: str, size: float, color: tuple[int, int, int] = BLACK) -> None:
        self.pdf.set_font(family, size=size)
        self.pdf.set_text_color(*color)

    def _width_of(self, family: str, size: float) -> Callable[[str], float]:
        """Atom widths on the grid: a full-width character takes one cell of the 28-character
        line, anything else its own advance."""
        cell = CELL * size / SIZE_BODY
        full = em(size)
        cache: dict[str, float] = {}

        def width(atom: str) -> float:
            if atom not in cache:
                self.pdf.set_font(family, size=size)
                natural = self.pdf.get_string_width(atom)
                cache[atom] = cell if len(atom) == 1 and abs(natural - full) < 0.01 else natural
            return cache[atom]

        return width

    def _centred(
        self,
        text: str,
        baseline: float,
        size: float,
        color: tuple[int, int, int] = BLACK,
        stroke: float = 0.0,
        stretch: float = 100.0,
    ) -> None:
        pdf = self.pdf
        self._font(SERIF, size, color)
        pdf.set_stretching(stretch)
        x = LEFT + (BODY_W - pdf.get_string_width(text)) / 2
        if stroke:  # a stroked serif stands in for the heavier 小标宋
            with pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=stroke):
                pdf.set_draw_color(*color)
                pdf.text(x, baseline, text)
        else:
            pdf.text(x, baseline, text)
        pdf.set_stretching(100)

    # --- 版头 and 标题 ------------------------------------------------------------------------

    def head(self) -> None:
        pdf, d = self.pdf, self.model.draft
        pdf.add_page()
        self._font(SERIF, MARK_SIZE)
        natural = pdf.get_string_width(d.authority.name)
        limit = BODY_W * 0.95
        stretch = max(70.0, min(100.0, 100 * limit / natural))
        size = MARK_SIZE * min(1.0, limit / (natural * stretch / 100))
        top = TOP + 35
        self._centred(d.authority.name, top + 0.88 * em(size), size, RED, 0.4, stretch)
        mark_bottom = top + em(size)
        number_top = mark_bottom + 2 * PITCH - (PITCH - em(SIZE_BODY)) / 2
        number_base = baseline_in(number_top, SIZE_BODY)
        self._centred(self.model.number.text, number_base, SIZE_BODY)
        rule_y = number_base + 0.12 * em(SIZE_BODY) + 4
        pdf.set_draw_color(*RED)
        pdf.set_line_width(0.5)
        pdf.line(LEFT, rule_y, LEFT + BODY_W, rule_y)
        self.y = rule_y + 2 * PITCH - (PITCH - em(SIZE_TITLE)) / 2
        for line in self._title_lines(d.title):
            self._centred(line, baseline_in(self.y, SIZE_TITLE), SIZE_TITLE, BLACK, 0.3)
            self.y += PITCH
        self.y += PITCH  # 空一行 before the 主送 (or the text of a 公告)

    def _title_lines(self, title: str) -> list[str]:
        """Balanced lines with their words whole (梯形 or 菱形, 7.3.1)."""
        width_of = self._width_of(SERIF, SIZE_TITLE)
        limit = BODY_W - 2 * em(SIZE_TITLE)
        return ["".join(line) for line in balanced_lines(title, width_of, limit)]

    # --- the flow of the text -------------------------------------------------------------------

    def _text_rows(self, text: str, family: str, indent_chars: int) -> list[Row]:
        width_of = self._width_of(family, SIZE_BODY)
        rows = []
        for x, placed in paragraph_lines(text, width_of, BODY_W, indent_chars * CELL):

            def draw(top: float, x: float = x, placed: PlacedLine = placed) -> None:
                self._font(family, SIZE_BODY)
                base = baseline_in(top, SIZE_BODY)
                for atom, offset in zip(placed.atoms, placed.offsets, strict=True):
                    self.pdf.text(LEFT + x + offset, base, atom)

            rows.append(Row(PITCH, draw))
        return rows

    def body_rows(self) -> list[Row]:
        d = self.model.draft
        rows: list[Row] = []
        if d.addressees:
            rows += self._text_rows("、".join(d.addressees) + "：", SERIF, 0)
        for paragraph in d.body:
            if paragraph.style is ParagraphStyle.HEADING:
                rows += self._text_rows(paragraph.text, SANS, 2)
            elif paragraph.style is ParagraphStyle.FLUSH:
                rows += self._text_rows(paragraph.text, SERIF, 0)
            else:
                rows += self._text_rows(paragraph.text, SERIF, 2)
        return rows

    def signature_rows(self) -> list[Row]:
        """Two empty lines for the seal, the 发文机关署名 centred over the 成文日期, the date
        four characters from the right edge (GB/T 9704-2012 7.3.5.1); the verification QR code
        and short code on the left of the last two lines, clear of the seal."""
        d = self.model.draft
        date = signed_on_words(d.signed_on)
        self._font(SERIF, SIZE_BODY)
        date_w = self.pdf.get_string_width(date)
        name_w = self.pdf.get_string_width(d.authority.name)
        date_x = LEFT + BODY_W - 4 * CELL - date_w
        name_x = min(date_x + (date_w - name_w) / 2, LEFT + BODY_W - name_w)

        def line(text: str, x: float, verification: bool = False) -> Row:
            def draw(top: float) -> None:
                self._font(SERIF, SIZE_BODY)
                self.pdf.text(x, baseline_in(top, SIZE_BODY), text)
                if verification:
                    self.verification(top + PITCH - QR_SIZE, date_x - 4)

            return Row(PITCH, draw)

        blank = Row(PITCH, lambda top: None)
        seal_room = [blank, blank] if d.seal else [blank]
        return [*seal_room, line(d.authority.name, name_x), line(date, date_x, True)]

    def verification(self, top: float, right: float) -> None:
        """The QR code (its quiet zone included) at the left edge, the short code beside it."""
        pdf, v = self.pdf, self.model.verification
        size, runs = qr_runs(v.url)
        module = QR_SIZE / (size + 2 * QUIET_ZONE)
        pdf.set_fill_color(*BLACK)
        for run in runs:
            pdf.rect(
                LEFT + (run.column + QUIET_ZONE) * module,
                top + (run.row + QUIET_ZONE) * module,
                run.length * module,
                module,
                style="F",
            )
        x = LEFT + QR_SIZE + 1
        self._font(SERIF, SIZE_NOTE + 1.5)
        pdf.text(x, top + 7.5, f"核验码：{v.short_code}")
        self._font(SERIF, SIZE_NOTE, GREY)
        pdf.text(x, top + 12.5, VERIFY_HINT)
        # Where to type the code in: the URL, smaller if it must be (a reader without a QR
        # scanner needs the address), left out only when even that does not fit.
        for url_size in (SIZE_NOTE, SIZE_URL):
            self._font(SERIF, url_size, GREY)
            if x + pdf.get_string_width(v.url) <= right:
                pdf.text(x, top + 17, v.url)
                break

    def place(self, row: Row) -> None:
        if self.y + row.height > BOTTOM + 1e-6:
            self.pdf.add_page()
            self.y = TOP
        row.draw(self.y)
        self.y += row.height

    def flow(self) -> None:
        """The text, then the 落款 with the text's last lines on the same page. When they do
        not fit, their line spacing is tightened (down to ``TIGHTEST``) before they are moved
        to a new page, as GB/T 9704-2012 7.3.5.4 prefers (调整行距、字距)."""
        body = self.body_rows()
        keep = min(2, len(body))  # the last lines of text stay with the 落款 (no page of it alone)
        for row in body[: len(body) - keep]:
            self.place(row)
        group = body[len(body) - keep :] + self.signature_rows()
        needed = sum(r.height for r in group)
        room = BOTTOM - self.foot_height() - self.y
        if needed > room + 1e-6:
            if needed * TIGHTEST <= room:
                group = [Row(r.height * room / needed, r.draw) for r in group]
            else:
                self.pdf.add_page()
                self.y = TOP
        for row in group:
            self.place(row)
        self.foot()

    # --- the foot: 版记 -----------------------------------------------------------------------

    def _foot_rows(self) -> list[str]:
        d = self.model.draft
        rows = []
        if d.copy_to:
            rows.append("抄送：" + "，".join(d.copy_to) + "。")
        rows.append("")  # 印发机关 and 印发日期
        return rows

    def foot_height(self) -> float:
        return len(self._foot_rows()) * FOOT_ROW + SEAL_BELOW_DATE

    def foot(self) -> None:
        """The 版记 at the foot of the last page: thick rules first and last, thin between, its
        last rule on the 版心's bottom edge; 4号, one character in from each side (7.4)."""
        pdf, d = self.pdf, self.model.draft
        rows = self._foot_rows()
        record_top = BOTTOM - len(rows) * FOOT_ROW
        pdf.set_draw_color(*BLACK)
        for i in range(len(rows) + 1):
            pdf.set_line_width(0.35 if i in (0, len(rows)) else 0.25)
            y = record_top + i * FOOT_ROW
            pdf.line(LEFT, y, LEFT + BODY_W, y)
        self._font(SERIF, SIZE_FOOT)
        one = em(SIZE_FOOT)
        for i, text in enumerate(rows):
            base = baseline_in(record_top + i * FOOT_ROW, SIZE_FOOT, FOOT_ROW)
            if text:
                pdf.text(LEFT + one, base, text)
            else:
                issued = signed_on_words(d.signed_on) + "印发"
                pdf.text(LEFT + one, base, d.authority.name)
                pdf.text(LEFT + BODY_W - one - pdf.get_string_width(issued), base, issued)


def compose(pdf: GongwenPdf, model: DocumentModel) -> None:
    """Set the document's metadata (fixed, so the bytes are the same every time) and lay it
    out."""
    d = model.draft
    pdf.set_creation_date(datetime.combine(d.signed_on, time(0), tzinfo=UTC))
    pdf.set_producer("duban")
    pdf.set_creator("duban")
    pdf.set_title(d.title)
    pdf.set_author(d.authority.name)
    pdf.set_subject(model.number.text)
    pdf.set_lang("zh-CN")
    composer = Composer(pdf, model)
    composer.head()
    composer.flow()
