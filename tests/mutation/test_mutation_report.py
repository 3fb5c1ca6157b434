"""The mutation report leaves out exactly the mutants that change only an error's message."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from tests.mutation import report

SOURCE = """
class DomainError(Exception):
    def __init__(self, rule, message, field=None): ...

def _check(ok, key, message, rule): ...
"""

ORIG = """
def x_f__mutmut_orig(n):
    if n < 1:
        raise DomainError("calendar.working_days_positive", f"n is {n}, must be at least 1", "n")
    _check(n < 9, "n", "at most 8", rule="calendar.small")
    return n
"""

MUTANTS = {
    "x_f__mutmut_1": ("must be at least 1", "XXmust be at least 1XX"),  # message
    "x_f__mutmut_2": ('"calendar.working_days_positive"', '"XXcalendar.working_days_positiveXX"'),
    "x_f__mutmut_3": ('"n")', '"XXnXX")'),  # the field
    "x_f__mutmut_4": ('"at most 8"', "None"),  # message
    "x_f__mutmut_5": ("n < 1", "n <= 1"),
    "x_f__mutmut_6": ('rule="calendar.small"', 'rule="CALENDAR.SMALL"'),
    "x_f__mutmut_7": ('"n", "at most 8"', '"at most 8"'),  # an argument dropped
}


def _mutated_module(tmp_path: Path) -> Path:
    body = [ORIG]
    for name, (old, new) in MUTANTS.items():
        assert old in ORIG
        body.append(ORIG.replace("x_f__mutmut_orig", name).replace(old, new, 1))
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "rules.py").write_text(SOURCE)
    (tmp_path / "mutants" / "domain").mkdir(parents=True)
    mutated = tmp_path / "mutants" / "domain" / "rules.py"
    mutated.write_text("\n".join(body))
    return mutated


def test_only_changes_inside_a_message_argument_are_message_mutants(tmp_path: Path):
    mutated = _mutated_module(tmp_path)
    positions = report.message_positions([tmp_path / "domain" / "rules.py"])
    assert positions["DomainError"] == 1 and positions["_check"] == 2
    functions = report._functions(ast.parse(mutated.read_text()))
    message = {
        name
        for name in MUTANTS
        if report.is_message_mutant(f"domain.rules.{name}", functions, positions)
    }
    assert message == {"x_f__mutmut_1", "x_f__mutmut_4"}


def test_the_score_counts_killed_and_surviving_mutants_per_module(tmp_path: Path):
    mutated = _mutated_module(tmp_path)
    codes = {f"domain.rules.{name}": 0 for name in MUTANTS}  # all survived ...
    codes["domain.rules.x_f__mutmut_5"] = 1  # ... but one
    codes["domain.rules.x_f__mutmut_6"] = None  # not run
    meta = {"exit_code_by_key": codes}
    mutated.with_name("rules.py.meta").write_text(json.dumps(meta))
    scores, stale = report.collect(tmp_path, [])
    score = scores["domain.rules"]
    assert (score.killed, len(score.survived), score.message, score.not_run) == (1, 3, 2, 1)
    assert score.score == 25.0 and stale == []


def test_a_function_whose_result_is_only_ever_a_message_is_a_message_builder(tmp_path: Path):
    source = tmp_path / "rules.py"
    source.write_text(
        SOURCE
        + "def _why(v):\n    return f'{v} is no date'\n\n"
        + "def _used(v):\n    return v\n\n"
        + "def f(v):\n    _check(v, 'k', _why(v), 'r')\n    _check(v, _used(v), _why(v), 'r')\n"
    )
    positions = report.message_positions([source])
    assert report.message_builders([source], positions) == {"_why"}
