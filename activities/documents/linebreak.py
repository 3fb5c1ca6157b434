"""Chinese line breaking for official documents: 避头尾 (kinsoku) and full justification.

A paragraph is cut into atoms — each Chinese character or punctuation mark alone, a run of
Latin letters and digits kept whole (``2026``, ``H-0001``, ``91370782MA3C123451``), the
two-character 破折号 ``——`` and 省略号 ``……`` kept together. Lines are filled greedily; a line
may not begin with closing punctuation (避头) nor end with opening punctuation (避尾): the last
atom of the line is then pushed to the next one (推出). Every line but a paragraph's last is
justified to the full width by spreading the leftover space evenly between its atoms (never
inside a Latin run). Widths come in from the caller, so this module knows nothing of fonts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# 避头: may not start a line. 避尾: may not end a line. (GB/T 15834 标点符号用法; practice)
NO_LINE_START = frozenset("，。、；：？！）》〕】」』”’…—·%‰,.;:?!)]}")
NO_LINE_END = frozenset("（《〔【「『“‘([{")

_ATOM = re.compile(
    r"——|……"  # 破折号 and 省略号 are one mark each
    r"|[A-Za-z0-9][A-Za-z0-9._\-/:%+#&=?~@]*"  # a Latin run: words, numbers, codes, URLs
    r"|\s+"  # white space (a person's text may hold it)
    r"|.",  # any other character alone
    re.DOTALL,
)


def atoms(text: str) -> list[str]:
    """The unbreakable pieces of ``text``, in order."""
    return _ATOM.findall(text)


@dataclass(frozen=True)
class PlacedLine:
    """One line: its atoms and each atom's x offset from the line's start."""

    atoms: tuple[str, ...]
    offsets: tuple[float, ...]
    width: float  # the natural width, before justification


def _starts_badly(atom: str) -> bool:
    return atom[:1] in NO_LINE_START or atom.isspace()


def _ends_badly(atom: str) -> bool:
    return atom[-1:] in NO_LINE_END


def break_lines(
    text: str,
    width_of: Callable[[str], float],
    first_width: float,
    width: float,
) -> list[list[str]]:
    """Lines of atoms: the first at most ``first_width`` wide (an indented first line), the
    others at most ``width``. An atom wider than a line on its own is cut into characters."""
    pieces: list[str] = []
    for atom in atoms(text.replace("\n", " ")):
        if len(atom) > 1 and not atom.isspace() and width_of(atom) > width:
            pieces += list(atom)
        else:
            pieces.append(atom)
    lines: list[list[str]] = []
    start, available = 0, first_width
    while start < len(pieces):
        while start < len(pieces) and pieces[start].isspace():
            start += 1  # a line never begins with white space
        if start == len(pieces):
            break
        end, used = start, 0.0
        while end < len(pieces) and used + width_of(pieces[end]) <= available + 1e-6:
            used += width_of(pieces[end])
            end += 1
        if end == start:
            end = start + 1  # nothing fits (a line narrower than one atom): take one anyway
        elif end < len(pieces):
            cut = end
            # 推出: move atoms to the next line until neither rule is broken
            while cut > start + 1 and (_starts_badly(pieces[cut]) or _ends_badly(pieces[cut - 1])):
                if pieces[cut].isspace():
                    break  # breaking at white space is always allowed
                cut -= 1
            end = cut
        line = pieces[start:end]
        while line and line[-1].isspace():
            line.pop()
        lines.append(line)
        start, available = end, width
    return lines


def place(
    line: Sequence[str],
    width_of: Callable[[str], float],
    available: float,
    justify: bool,
) -> PlacedLine:
    """Offsets of each atom; justified lines spread the leftover space between atoms."""
    widths = [width_of(a) for a in line]
    natural = sum(widths)
    gap = (available - natural) / (len(line) - 1) if justify and len(line) > 1 else 0.0
    gap = max(gap, 0.0)
    offsets, x = [], 0.0
    for w in widths:
        offsets.append(x)
        x += w + gap
    return PlacedLine(tuple(line), tuple(offsets), natural)


def paragraph_lines(
    text: str,
    width_of: Callable[[str], float],
    width: float,
    indent: float,
) -> list[tuple[float, PlacedLine]]:
    """(x offset, placed line) for each line of a paragraph whose first line is indented by
    ``indent``; every line but the last is justified to the full width."""
    lines = break_lines(text, width_of, width - indent, width)
    placed = []
    for i, line in enumerate(lines):
        x = indent if i == 0 else 0.0
        last = i == len(lines) - 1
        placed.append((x, place(line, width_of, width - x, justify=not last)))
    return placed


# Where a title may break with its words whole (词意完整): after these …
_BREAK_AFTER = ("关于对", "关于", "公司", "厂", "办事处", "人民政府", "应急管理局", "应急管理厅")
# … and before these.
_BREAK_BEFORE = ("事故隐患", "重大事故隐患", "限期", "实施", "予以", "列入", "提前", "不予", "的")


def _good_break(before: str, after: str) -> bool:
    return before.endswith(_BREAK_AFTER) or after.startswith(_BREAK_BEFORE)


def balanced_lines(text: str, width_of: Callable[[str], float], limit: float) -> list[list[str]]:
    """A title's lines (GB/T 9704-2012 7.3.1: 词意完整, 排列对称): the fewest lines of at most
    ``limit``, as even as can be, breaking where a word ends rather than inside one (after
    关于 or an organisation's name, before 事故隐患, 限期, 的 …), never against 避头尾."""
    pieces = [a for a in atoms(text) if not a.isspace()] or [""]
    widths = [width_of(a) for a in pieces]
    n = len(pieces)
    prefix = [0.0]
    for w in widths:
        prefix.append(prefix[-1] + w)
    lines_needed = max(1, int(-(-prefix[-1] // limit)))
    for count in range(lines_needed, n + 1):
        target = prefix[-1] / count
        # best[k][i]: the least cost of setting pieces[:i] in k lines, and where line k starts
        inf = float("inf")
        best = [[(inf, 0)] * (n + 1) for _ in range(count + 1)]
        best[0][0] = (0.0, 0)
        for k in range(1, count + 1):
            for i in range(1, n + 1):
                for j in range(i):
                    width = prefix[i] - prefix[j]
                    if best[k - 1][j][0] == inf or width > limit + 1e-6:
                        continue
                    cost = best[k - 1][j][0] + ((width - target) / target) ** 2
                    if i < n:
                        if _starts_badly(pieces[i]) or _ends_badly(pieces[i - 1]):
                            continue
                        joined_before = "".join(pieces[j:i])
                        if not _good_break(joined_before, "".join(pieces[i:])):
                            cost += 1.0
                    if cost < best[k][i][0]:
                        best[k][i] = (cost, j)
        if best[count][n][0] < inf:
            lines, i = [], n
            for k in range(count, 0, -1):
                j = best[k][i][1]
                lines.append(pieces[j:i])
                i = j
            return lines[::-1]
    return [pieces]
