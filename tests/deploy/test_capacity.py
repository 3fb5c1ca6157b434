"""deploy/CAPACITY.md sizes a province from benchmark output that is committed: every results
file it names exists and holds the figure quoted from it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CAPACITY = (ROOT / "deploy" / "CAPACITY.md").read_text(encoding="utf-8")


def test_every_benchmark_output_the_sizing_names_is_committed():
    named = set(re.findall(r"(?:bench/results/)?(20\d\d-\d\d-\d\d-[a-z0-9-]+\.txt)", CAPACITY))
    assert named, "the figures name the files they were printed in"
    for name in named:
        assert (ROOT / "bench" / "results" / name).is_file(), name
    assert "{STORE_" not in CAPACITY, "a figure was never filled in from its bench output"


def test_the_headline_figures_are_the_ones_the_benches_printed():
    """The quiet runs of 2026-12-02 are the figures the sizing uses; each is checked against
    the line the bench printed, and against the table that quotes it."""
    results = ROOT / "bench" / "results"
    cases = (results / "2026-12-02-cases.txt").read_text()
    assert re.search(r"full case lifecycle, 200 cases concurrently\s+5\.3 cases/s", cases)
    assert re.search(
        r"ceiling: trivial workflow, 7 activities \+ 2 updates\s+7\.2 workflows", cases
    )
    assert "# per case: 7 activities, 5 stored events, 68 history events" in cases
    assert re.search(r"\n  max\s+5,973\.2 ms", cases)
    projections = (results / "2026-12-02-projections.txt").read_text()
    assert re.search(r"catch-up: rate\s+15,617\.6 events/s", projections)
    assert re.search(r"lag: append-to-visible p99\s+8\.1 ms", projections)
    store = (results / "2026-12-02-store.txt").read_text()
    assert re.search(r"append, single event \(one tx each\)\s+1,495\.0 events/s", store)
    assert re.search(r"append, 100-event batches\s+11,716\.2 events/s", store)
    assert re.search(r"read_stream \+ fold, 1,000-event stream \(median\)\s+13\.5 ms", store)
    assert re.search(r"verify chain from genesis \(104,000 events\)\s+76,176\.0 events/s", store)
    xeon = (results / "2026-12-02-store-xeon.txt").read_text()
    reads = re.findall(r"read_stream \+ fold, 1,000-event stream \(median\)\s+([\d.]+) ms", xeon)
    ratios = re.findall(r"half raw; ratio ([\d.]+)\)", xeon)
    assert len(reads) == len(ratios) == 5
    assert (min(reads), max(reads)) == ("6.0", "6.2")
    assert (min(ratios), max(ratios)) == ("0.52", "0.59")
    for quoted in (
        "**5.3 cases/s**",
        "7.2 workflows/s",
        "**7 / 5 / 68**",
        "**6.0 s**",
        "**1,495 events/s**",
        "11,716 events/s",
        "13.5 ms",
        "**6.0–6.2 ms**",
        "ratio 0.52–0.59",
        "76,176 events/s",
        "**15,618 events/s**",
        "3.7 ms / 8.1 ms / 17.9 ms",
        "200 / 6.0 s",
    ):
        assert quoted in CAPACITY, quoted
