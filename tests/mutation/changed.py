"""The mutant names (mutmut globs) of the domain modules changed against a git ref.

``python -m tests.mutation.changed BASE`` prints one glob a module (``domain.calendar.x*``:
the functions and methods mutmut generates for a module start with ``x_`` or ``xǁ``), nothing
when no module of domain/ changed. Used by ``make mutation-changed``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def patterns(base: str) -> list[str]:
    changed = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=d", base, "--", "domain/"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    found = []
    for name in sorted(changed):
        if not name.endswith(".py"):
            continue
        module = name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        found.append(f"{module}.x*")
    return found


if __name__ == "__main__":
    print(" ".join(patterns(sys.argv[1] if len(sys.argv) > 1 else "HEAD~1")))
