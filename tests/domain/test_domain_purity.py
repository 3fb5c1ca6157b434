"""domain/ is pure: no I/O, no clock, no randomness, no framework. The import-linter contract
in pyproject.toml says so for the build; this test says it for every test run, module by
module, including the standard library modules that the contract's list does not name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"

# Modules that reach outside the process or its clock, and frameworks that belong elsewhere.
FORBIDDEN = {
    "os",
    "pathlib",
    "io",
    "shutil",
    "tempfile",
    "socket",
    "ssl",
    "http",
    "urllib",
    "requests",
    "httpx",
    "subprocess",
    "threading",
    "multiprocessing",
    "asyncio",
    "random",
    "secrets",
    "uuid",
    "time",
    "logging",
    "structlog",
    "psycopg",
    "psycopg2",
    "sqlalchemy",
    "temporalio",
    "fastapi",
    "alembic",
    "uvicorn",
    "activities",
    "workflows",
    "api",
}
# Nothing is exempt: the shipped policy files are read by activities/rules.py.
ALLOWED_ONLY_IN: dict[str, set[str]] = {}
# Calls that read the clock or a file.
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "read_bytes", "write_text", "write_bytes"}


def modules() -> list[Path]:
    """Every module of domain/, its packages' (case, credit, documents) included."""
    return sorted(DOMAIN.rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(DOMAIN)))
def test_a_domain_module_imports_nothing_that_does_io_or_keeps_time(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = imported(tree)
    where = path.relative_to(DOMAIN)
    assert not names & FORBIDDEN, f"{where} imports {sorted(names & FORBIDDEN)}"
    for name, allowed in ALLOWED_ONLY_IN.items():
        assert name not in names or path.name in allowed, f"{where} imports {name}"
    calls = {
        getattr(node.func, "attr", getattr(node.func, "id", None))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not calls & FORBIDDEN_CALLS, f"{where} calls {sorted(calls & FORBIDDEN_CALLS)}"


def test_the_purity_check_sees_a_forbidden_import_and_a_clock_call():
    tree = ast.parse("import os.path\nfrom time import sleep\nx = datetime.now()\n")
    assert imported(tree) >= {"os", "time"}
    calls = {getattr(n.func, "attr", None) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "now" in calls
