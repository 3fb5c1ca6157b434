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
    cases = (ROOT / "bench" / "results" / "2026-12-01-cases-run2.txt").read_text()
    assert re.search(r"full case lifecycle, 200 cases concurrently\s+3\.4 cases/s", cases)
    assert "# per case: 7 activities, 5 stored events, 66 history events" in cases
    assert re.search(r"\n  max\s+9,584\.8 ms", cases)
    projections = (ROOT / "bench" / "results" / "2026-12-01-projections.txt").read_text()
    assert re.search(r"catch-up: rate\s+14,062\.9 events/s", projections)
    assert re.search(r"lag: append-to-visible p99\s+12\.1 ms", projections)
    store = (ROOT / "bench" / "results" / "2026-12-01-store.txt").read_text()
    assert re.search(r"append, single event \(one tx each\)\s+1,378\.5 events/s", store)
    assert re.search(r"verify chain from genesis \(104,000 events\)\s+100,755\.9 events/s", store)
