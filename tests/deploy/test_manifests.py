"""Everything under deploy/ parses, and the Kubernetes objects and the compose file validate
against their schemas: the Kubernetes OpenAPI schemas shipped by kubernetes-validate (strict:
an unknown or misspelt field fails) and the Compose specification's schema (vendored)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from domain.policy import parse_policy
from workflows import search_attributes

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.30.0"
ALL_YAML = sorted(p for p in DEPLOY.rglob("*.y*ml") if "migrations" not in p.parts)
K8S_FILES = sorted((DEPLOY / "k8s").glob("*.yaml"))


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in K8S_FILES for doc in documents(path)]


def compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema)


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_under_deploy_parses(path: Path):
    assert documents(path), f"{path} holds no document"


@pytest.mark.parametrize("path", K8S_FILES, ids=lambda p: p.name)
def test_every_kubernetes_object_validates_strictly_against_the_api_schema(path: Path):
    for doc in documents(path):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_validator_rejects_a_misspelt_field():
    deployment = next(d for d in k8s_objects() if d["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_compose_file_validates_against_the_compose_specification():
    errors = [
        f"{list(e.path)}: {e.message}"
        for e in compose_validator().iter_errors(documents(DEPLOY / "compose.yaml")[0])
    ]
    assert errors == []


def test_the_compose_validator_rejects_a_misspelt_key():
    compose = documents(DEPLOY / "compose.yaml")[0]
    compose["services"]["worker"]["helthcheck"] = compose["services"]["worker"]["healthcheck"]
    assert list(compose_validator().iter_errors(compose))


def test_the_compose_stack_runs_every_duban_role_from_one_image():
    services = documents(DEPLOY / "compose.yaml")[0]["services"]
    commands = {
        name: services[name]["command"] for name in ("migrate", "worker", "api", "projector")
    }
    assert commands == {
        "migrate": ["migrate"],
        "worker": ["worker"],
        "api": ["api"],
        "projector": ["projections", "run"],
    }
    assert len({services[name]["image"] for name in commands}) == 1
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name in ("duban-db", "temporal-db", "worker", "api", "projector"):
        assert "healthcheck" in services[name], name


def declared_search_attributes(text: str) -> set[tuple[str, str]]:
    return set(re.findall(r"\b(Duban[A-Za-z]+):([A-Za-z]+)\b", text))


def test_the_setup_jobs_create_exactly_the_search_attributes_the_workflows_use():
    expected = {
        (key.name, key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_").title())
        for key in search_attributes.ALL
    }
    for path in (DEPLOY / "compose.yaml", DEPLOY / "k8s" / "jobs.yaml"):
        assert declared_search_attributes(path.read_text(encoding="utf-8")) == expected, path


def test_the_policy_in_the_config_map_is_a_valid_policy():
    config_map = next(d for d in k8s_objects() if d["metadata"]["name"] == "duban-policy")
    policy = parse_policy(config_map["data"]["policy.toml"])
    assert policy.name


def test_the_worker_probes_use_the_health_port_and_workers_have_a_disruption_budget():
    objects = {(d["kind"], d["metadata"]["name"]): d for d in k8s_objects()}
    worker = objects[("Deployment", "duban-worker")]["spec"]["template"]["spec"]["containers"][0]
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert worker["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {p["containerPort"] for p in worker["ports"]} == {9464, 9465}
    assert ("PodDisruptionBudget", "duban-worker") in objects
    assert objects[("Deployment", "duban-projector")]["spec"]["replicas"] == 1
    for (kind, name), obj in objects.items():
        if kind in ("Deployment", "Job"):
            for container in obj["spec"]["template"]["spec"]["containers"]:
                assert "resources" in container, name


def test_secrets_are_referenced_by_name_and_never_included():
    assert all(d["kind"] != "Secret" for d in k8s_objects())
    text = "\n".join(p.read_text(encoding="utf-8") for p in K8S_FILES)
    assert "secretKeyRef" in text


def test_the_temporal_values_fix_the_history_shards_and_use_postgresql_for_both_stores():
    values = documents(DEPLOY / "helm" / "temporal-values.yaml")[0]
    persistence = values["server"]["config"]["persistence"]
    assert persistence["numHistoryShards"] == 512
    for store in ("default", "visibility"):
        assert persistence["datastores"][store]["sql"]["pluginName"] == "postgres12"
        assert persistence["datastores"][store]["sql"]["existingSecret"]
    assert values["elasticsearch"]["enabled"] is False
    assert values["cassandra"]["enabled"] is False


def test_the_image_runs_duban_as_a_non_root_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["duban"]' in dockerfile
    assert "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)
    assert "pip install ." in dockerfile
