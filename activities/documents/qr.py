"""The verification QR code (核验二维码) as vector rectangles: exact at any print size, no
raster image in the PDF, and the same rectangles for the same payload in every process."""

from __future__ import annotations

from dataclasses import dataclass

import segno

QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004)


@dataclass(frozen=True)
class QrRun:
    """A horizontal run of dark modules: row, first column, length (in modules)."""

    row: int
    column: int
    length: int


def qr_runs(payload: str) -> tuple[int, list[QrRun]]:
    """The symbol's size in modules (without the quiet zone) and its dark runs, error
    correction level M (15 % of the symbol may be soiled and still read)."""
    matrix = segno.make(payload, error="m", micro=False).matrix
    runs: list[QrRun] = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append(QrRun(r, start, c - start))
            else:
                c += 1
    return len(matrix), runs
