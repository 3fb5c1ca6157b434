"""Chinese line breaking: 避头尾, Latin runs kept whole, justification to the full width."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from activities.documents.linebreak import (
    NO_LINE_END,
    NO_LINE_START,
    atoms,
    balanced_lines,
    break_lines,
    paragraph_lines,
)


def width(atom: str) -> float:
    """A grid of full-width cells of 1.0; a Latin character is half a cell."""
    if atom.isspace():
        return 0.25
    return sum(0.5 if ord(c) < 0x2000 else 1.0 for c in atom)


def test_latin_runs_and_two_character_marks_are_single_atoms() -> None:
    assert atoms("于2026年12月31日（H-0001）——完毕……") == [
        "于", "2026", "年", "12", "月", "31", "日", "（", "H-0001", "）", "——", "完", "毕", "……",
    ]  # fmt: skip


def test_a_line_never_starts_with_closing_nor_ends_with_opening_punctuation() -> None:
    # Five cells a line: the comma would open line 2; its character moves down with it (推出).
    lines = break_lines("甲乙丙丁戊，己庚（辛）壬癸子丑", width, 5, 5)
    assert ["".join(line) for line in lines] == ["甲乙丙丁", "戊，己庚", "（辛）壬癸", "子丑"]
    for line in lines:
        assert line[0][0] not in NO_LINE_START
        assert line[-1][-1] not in NO_LINE_END


def test_a_number_is_never_split_across_lines() -> None:
    lines = break_lines("截止日期为20261231号", width, 6, 6)
    assert any("20261231" in line for line in lines)


def test_justified_lines_fill_the_width_and_the_last_line_does_not() -> None:
    placed = paragraph_lines("一二三四五六七八九十甲乙丙丁戊己", width, 6, indent=2)
    x0, first = placed[0]
    assert x0 == 2 and len(first.atoms) == 4
    for x, line in placed[:-1]:
        end = x + line.offsets[-1] + width(line.atoms[-1])
        assert abs(end - 6) < 1e-9
    _, last = placed[-1]
    assert last.offsets == tuple(float(i) for i in range(len(last.atoms)))


@given(st.text(alphabet="天地玄黄宇宙洪荒，。、；：（）《》“”0123456789AB", max_size=80))
def test_breaking_keeps_every_character_and_obeys_the_rules(text: str) -> None:
    lines = break_lines(text, width, 4, 7)
    assert "".join("".join(line) for line in lines) == text
    for i, line in enumerate(lines):
        assert sum(width(a) for a in line) <= (4 if i == 0 else 7) or len(line) == 1
        # A rule is kept unless keeping it would leave a line of one atom.
        if i > 0 and len(lines[i - 1]) > 1:
            assert line[0][0] not in NO_LINE_START or all(
                a[0] in NO_LINE_START | NO_LINE_END for a in lines[i - 1]
            )


def test_a_title_breaks_where_its_words_end_and_its_lines_are_balanced() -> None:
    def title_width(atom: str) -> float:
        return width(atom) * 2  # a 2号 title on a line of 18 characters

    lines = balanced_lines("关于对诸城某机械有限公司事故隐患实施挂牌督办的公告", title_width, 36)
    assert ["".join(line) for line in lines] == [
        "关于对诸城某机械有限公司",
        "事故隐患实施挂牌督办的公告",
    ]
    assert balanced_lines("事故隐患整改通知书", title_width, 36) == [list("事故隐患整改通知书")]
