"""The layers point down — domain ← workflows ← activities ← api, with worker.py beside api at
the top — and the import contracts in pyproject.toml keep them so: the code keeps every one,
and an arrow that runs back up breaks the contract that names it (``make test`` runs
lint-imports over the same contracts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.api import read_configuration
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import Contract

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
LAYERS = "layers point down: api -> activities -> workflows -> domain"
NO_WORKFLOW_CLASSES = "activities use workflows' contracts and ids, never a workflow class"
WORKER_ON_TOP = "only the top imports worker.py (the composition root)"
KINDS: dict[str, type[Contract]] = {"layers": LayersContract, "forbidden": ForbiddenContract}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return read_configuration(str(PYPROJECT))


@pytest.fixture()
def graph(config: dict[str, Any]) -> grimp.ImportGraph:
    """A fresh graph for each check: a contract's check removes the imports it ignores."""
    session = config["session_options"]
    return grimp.build_graph(
        *session["root_packages"], include_external_packages=True, cache_dir=None
    )


def contract(config: dict[str, Any], name: str) -> Contract:
    (options,) = [c for c in config["contracts_options"] if c["name"] == name]
    kind = KINDS[options["type"]]
    return kind(name, config["session_options"], options)


def test_the_layers_are_api_activities_workflows_domain(config: dict[str, Any]) -> None:
    layers = [c for c in config["contracts_options"] if c["type"] == "layers"]
    assert [c["layers"] for c in layers] == [["api", "activities", "workflows", "domain"]]


@pytest.mark.parametrize("name", [LAYERS, NO_WORKFLOW_CLASSES, WORKER_ON_TOP])
def test_the_code_keeps_the_contract(
    config: dict[str, Any], graph: grimp.ImportGraph, name: str
) -> None:
    assert contract(config, name).check(graph, verbose=False).kept


@pytest.mark.parametrize(
    ("importer", "imported", "name"),
    [
        # The arrows issue 15 removed: schedule set-up in a workflow module reading the rules
        # activity, and an activity starting the credit workflow through its module.
        ("workflows.reports", "activities.rules", LAYERS),
        ("activities.credit_link", "workflows.credit", NO_WORKFLOW_CLASSES),
        # Any other arrow up, or past the contracts into a workflow's module.
        ("domain.case", "workflows.contracts", LAYERS),
        ("activities.rules", "api.services", LAYERS),
        ("workflows.case", "api.services", LAYERS),
        ("activities.notifications", "workflows.recording", NO_WORKFLOW_CLASSES),
        ("activities.notifications", "worker", WORKER_ON_TOP),
        ("workflows.case", "worker", WORKER_ON_TOP),
    ],
)
def test_an_arrow_that_runs_back_up_breaks_its_contract(
    config: dict[str, Any],
    graph: grimp.ImportGraph,
    importer: str,
    imported: str,
    name: str,
) -> None:
    graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    assert not contract(config, name).check(graph, verbose=False).kept
