"""Rendering official documents (公文) to PDF: the time per kind (median of 5, after one warm-up
render that loads the fonts' tables) and the memory it takes.

    python -m bench.documents

The documents are those of the real cases in ``tests/documents/scenarios.py``. Peak memory is
measured twice: the Python heap during one render of the longest document (tracemalloc), and
the process's peak resident set at the end (fonts, fontTools and fpdf2 included).
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
import tracemalloc

from activities.documents import mark_copy, render_document
from bench.common import report
from tests.documents.scenarios import one_of_each

RUNS = 5


def main() -> None:
    models = one_of_each()
    print(f"# python {sys.version.split()[0]}, {RUNS} renders per kind, median")
    render_document(next(iter(models.values())))  # warm-up: fonts parsed, caches filled
    sizes = {}
    for kind, model in models.items():
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            pdf = render_document(model)
            times.append(time.perf_counter() - start)
        sizes[kind] = len(pdf)
        report(
            f"render {kind.value} ({len(pdf) // 1024} KiB)", statistics.median(times) * 1000, "ms"
        )
    longest = max(models, key=lambda k: sizes[k])
    tracemalloc.start()
    pdf = render_document(models[longest])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    report(f"python heap peak, one render ({longest.value})", peak / 2**20, "MiB")
    start = time.perf_counter()
    for _ in range(RUNS):
        mark_copy(pdf, "副本")
    report("marked copy (副本)", (time.perf_counter() - start) / RUNS * 1000, "ms")
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report("process peak resident set", rss_kib / 1024, "MiB")


if __name__ == "__main__":
    main()
