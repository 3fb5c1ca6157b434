"""The mutation score of domain/, per module, from mutmut's results (``make mutation``).

mutmut 3 writes, beside each mutated copy of a module (``mutants/domain/x.py``), a
``x.py.meta`` file with each mutant's exit code. This reads them and prints, per module, the
mutants killed and those that survived, and the score: killed / (killed + survived), where
survived counts every mutant no test caught (survived, no covering test, suspicious).

Two kinds of mutant are left out of the score, and counted in their own columns:

- message text: every change of the mutant lies inside the message argument of an error (or a
  calendar-file problem). Tests check rule ids and fields, not wording (domain/errors.py). The
  message argument is found, not listed: any function, method or class of domain/ with a
  parameter or dataclass field named ``message`` (``DomainError(rule, message, field)``,
  ``_check(ok, key, message, rule)``, ``CalendarProblem(line, key, rule, message)``), and the
  first argument of the built-in exceptions. A mutant that changes a ``field`` or a rule id is
  never left out.
- equivalent: listed in tests/mutation/EQUIVALENT.toml with the reason no test can tell it
  from the original. An entry that no longer names a surviving mutant is reported as stale.

``--check`` exits 1 when the score across the modules reported is under ``--min-total``
(95 %) or a module's under ``--min-module`` (90 %).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import json
import sys
import textwrap
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = Path(__file__).with_name("EQUIVALENT.toml")
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # failed, pytest error, timeout, type check
NOT_RUN = {None, 2, 34}  # not checked, interrupted, skipped
BUILTIN_MESSAGES = {"ValueError": 0, "KeyError": 0, "TypeError": 0, "Exception": 0}


@dataclass
class ModuleScore:
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    message: int = 0
    equivalent: int = 0
    not_run: int = 0

    @property
    def score(self) -> float | None:
        total = self.killed + len(self.survived)
        return 100.0 * self.killed / total if total else None


def message_positions(sources: list[Path]) -> dict[str, int]:
    """Callee name -> index of its ``message`` argument, for every definition in ``sources``."""
    found: dict[str, set[int]] = defaultdict(set)
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                fields = [
                    s.target.id
                    for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
                if "message" in fields:
                    found[node.name].add(fields.index("message"))
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        names = [a.arg for a in item.args.args][1:]  # without self
                        if "message" in names:
                            callee = node.name if item.name == "__init__" else item.name
                            found[callee].add(names.index("message"))
                            if item.name == "__init__":
                                found["__init__"].add(names.index("message"))
            elif isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.args]
                if names[:1] != ["self"] and "message" in names:
                    found[node.name].add(names.index("message"))
    positions = dict(BUILTIN_MESSAGES)
    positions.update({name: next(iter(at)) for name, at in found.items() if len(at) == 1})
    return positions


def message_builders(sources: list[Path], positions: dict[str, int]) -> set[str]:
    """Functions whose result is only ever a message: every call of them in ``sources`` lies
    inside a message argument (``self._add(at, rule, _why_not_a_date(value))``)."""
    called: dict[str, int] = defaultdict(int)
    in_messages: dict[str, int] = defaultdict(int)
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called[_callee(node) or ""] += 1
            at = positions.get(_callee(node) or "")
            message_args = [a for i, a in enumerate(node.args) if i == at]
            message_args += [k.value for k in node.keywords if k.arg == "message"]
            for arg in message_args:
                for inner in ast.walk(arg):
                    if isinstance(inner, ast.Call):
                        in_messages[_callee(inner) or ""] += 1
    return {name for name, n in in_messages.items() if name and called[name] == n}


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


Step = tuple[ast.AST, str, int | None]  # (parent, its field, index in that field's list)


def changes(a: ast.AST, b: ast.AST, path: tuple[Step, ...] = ()) -> list[tuple[Step, ...]]:
    """The paths (from the function down) to each node of ``a`` that ``b`` changes."""
    if type(a) is not type(b):
        return [path]
    found: list[tuple[Step, ...]] = []
    for name, value in ast.iter_fields(a):
        other = getattr(b, name, None)
        if isinstance(value, list):
            if not isinstance(other, list) or len(value) != len(other):
                return [path]
            for i, (x, y) in enumerate(zip(value, other, strict=True)):
                if isinstance(x, ast.AST):
                    found += changes(x, y, (*path, (a, name, i)))
                elif x != y:
                    return [path]
        elif isinstance(value, ast.AST):
            found += changes(value, other, (*path, (a, name, None)))  # type: ignore[arg-type]
        elif value != other:
            return [path]
    return found


def in_message(path: tuple[Step, ...], positions: dict[str, int]) -> bool:
    for parent, name, index in path:
        if isinstance(parent, ast.Call):
            at = positions.get(_callee(parent) or "")
            if at is not None and name == "args" and index == at:
                return True
        if isinstance(parent, ast.keyword) and parent.arg == "message":
            return True
    return False


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    out: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        items = node.body if isinstance(node, ast.ClassDef) else [node]
        for item in items:
            if isinstance(item, ast.FunctionDef):
                out[item.name] = item
    return out


def is_message_mutant(
    key: str,
    functions: dict[str, ast.FunctionDef],
    positions: dict[str, int],
    builders: frozenset[str] = frozenset(),
) -> bool:
    name = key.rpartition(".")[2]
    orig = functions.get(name.rpartition("__mutmut_")[0] + "__mutmut_orig")
    mutant = functions.get(name)
    if orig is None or mutant is None:
        return False
    mutant.name = orig.name  # the generated names differ; compare the rest
    paths = changes(orig, mutant)
    # mutmut's names: x_function__mutmut_N, xǁClassǁmethod__mutmut_N
    function = name.rpartition("__mutmut_")[0].removeprefix("x").split("ǁ")[-1].lstrip("_")
    if function in {b.lstrip("_") for b in builders}:
        return bool(paths) and all(
            any(isinstance(step[0], ast.Return) for step in p) for p in paths
        )
    return bool(paths) and all(in_message(p, positions) for p in paths)


def mutant_diff(root: Path, key: str) -> str:
    """The lines a mutant changes (of its function, as ast.unparse writes it)."""
    module = module_of(key)
    path = root / "mutants" / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    functions = _functions(ast.parse(path.read_text(encoding="utf-8")))
    name = key.rpartition(".")[2]
    orig = functions[name.rpartition("__mutmut_")[0] + "__mutmut_orig"]
    mutant = functions[name]
    mutant.name = orig.name
    lines = difflib.unified_diff(
        ast.unparse(orig).splitlines(), ast.unparse(mutant).splitlines(), lineterm="", n=0
    )
    return "\n".join(line for line in lines if line[:1] in "+-" and line[:3] not in "+++---")


def module_of(key: str) -> str:
    return key.rpartition(".")[0]


def load_equivalent() -> dict[str, str]:
    if not EQUIVALENT.exists():
        return {}
    data = tomllib.loads(EQUIVALENT.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.get("mutants", {}).items()}


def collect(root: Path, patterns: list[str]) -> tuple[dict[str, ModuleScore], list[str]]:
    mutants = root / "mutants"
    sources = sorted((root / "domain").rglob("*.py"))
    if (root / "deploy" / "verify_dossier.py").exists():
        sources.append(root / "deploy" / "verify_dossier.py")
    positions = message_positions(sources)
    builders = frozenset(message_builders(sources, positions))
    equivalent = load_equivalent()
    scores: dict[str, ModuleScore] = {}
    seen_equivalent: set[str] = set()
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        keys = [k for k in codes if not patterns or any(fnmatch.fnmatch(k, p) for p in patterns)]
        if not keys:
            continue
        mutated = meta.with_suffix("")
        functions = _functions(ast.parse(mutated.read_text(encoding="utf-8")))
        for key in keys:
            code = codes[key]
            score = scores.setdefault(module_of(key), ModuleScore())
            if is_message_mutant(key, functions, positions, builders):
                score.message += 1
            elif code in NOT_RUN:
                score.not_run += 1
            elif code in KILLED:
                score.killed += 1
            elif key in equivalent:
                score.equivalent += 1
                seen_equivalent.add(key)
            else:
                score.survived.append(key)
    stale = sorted(
        k
        for k in set(equivalent) - seen_equivalent
        if module_of(k) in scores and (not patterns or any(fnmatch.fnmatch(k, p) for p in patterns))
    )
    return scores, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="mutant names (globs), as for mutmut run")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--survivors", action="store_true", help="list the survivors")
    parser.add_argument("--diff", action="store_true", help="with --survivors: their changes")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--min-total", type=float, default=95.0)
    parser.add_argument("--min-module", type=float, default=90.0)
    args = parser.parse_args(argv)
    scores, stale = collect(args.root, args.patterns)
    if not scores:
        print("no mutation results (run make mutation first)")
        return 1
    head = (
        f"{'module':<34} {'killed':>6} {'surv.':>6} {'score':>7} {'msg':>5} {'equiv':>5} "
        f"{'unrun':>5}"
    )
    print(head)
    print("-" * len(head))
    total = ModuleScore()
    failing: list[str] = []
    for module, s in sorted(scores.items()):
        shown = "-" if s.score is None else f"{s.score:.1f}%"
        print(
            f"{module:<34} {s.killed:>6} {len(s.survived):>6} {shown:>7} {s.message:>5} "
            f"{s.equivalent:>5} {s.not_run:>5}"
        )
        total.killed += s.killed
        total.survived += s.survived
        total.message += s.message
        total.equivalent += s.equivalent
        total.not_run += s.not_run
        if s.score is not None and s.score < args.min_module:
            failing.append(f"{module} {s.score:.1f}% < {args.min_module}%")
    print("-" * len(head))
    shown = "-" if total.score is None else f"{total.score:.1f}%"
    print(
        f"{'all':<34} {total.killed:>6} {len(total.survived):>6} {shown:>7} {total.message:>5} "
        f"{total.equivalent:>5} {total.not_run:>5}"
    )
    if total.score is not None and total.score < args.min_total:
        failing.append(f"all {total.score:.1f}% < {args.min_total}%")
    if args.survivors:
        print("\nsurvivors (mutmut show NAME):")
        for name in total.survived:
            print(f"  {name}")
            if args.diff:
                print(textwrap.indent(mutant_diff(args.root, name), "    "))
    for name in stale:
        print(f"stale entry in {EQUIVALENT.name}: {name} (no longer a survivor)")
    if args.check and (failing or stale):
        for line in failing:
            print(f"below the bar: {line}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
