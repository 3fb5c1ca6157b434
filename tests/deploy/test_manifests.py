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

from deploy.sync_policy import POLICY
from domain.calendar import parse_calendar_toml
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
        "api": ["api", "--host", "0.0.0.0", "--port", "8000"],
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


def test_the_policy_in_the_config_map_is_the_shipped_policy_byte_for_byte():
    """A hand-kept copy drifted once (edition 1 in the cluster, edition 2 in the image):
    ``python -m deploy.sync_policy`` writes it, and this fails until it has."""
    config_map = next(d for d in k8s_objects() if d["metadata"]["name"] == "duban-policy")
    text = config_map["data"]["policy.toml"]
    assert text == POLICY.read_text(encoding="utf-8"), "run: python -m deploy.sync_policy"
    assert parse_policy(text).fingerprint == parse_policy(POLICY.read_text("utf-8")).fingerprint


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
    assert persistence["datastores"][persistence["visibilityStore"]]["sql"]["databaseName"] == (
        "temporal_visibility"
    )


def test_the_image_runs_duban_as_a_non_root_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["duban"]' in dockerfile
    assert "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)
    assert "pip install ." in dockerfile


def test_the_image_build_context_builds_the_package(tmp_path: Path):
    """``pip install .`` in the build stage sees only what its COPY lines bring in: build the
    package from exactly those files (a file pyproject.toml names but the Dockerfile does not
    copy, such as the licence, fails here instead of on the first ``docker build``)."""
    import shutil
    import subprocess
    import sys
    import zipfile

    root = DEPLOY.parent
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    build_stage = dockerfile.split("\nFROM ")[1]  # the first stage, up to the runtime one
    context = tmp_path / "src"
    context.mkdir()
    copies = re.findall(r"^COPY (?!--from)(.+)$", build_stage, re.MULTILINE)
    assert copies, "the build stage copies its sources"
    for line in copies:
        *sources, target = line.split()
        for source in sources:
            destination = context / (source if target == "./" else target.removeprefix("./"))
            if (root / source).is_dir():
                shutil.copytree(
                    root / source, destination, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(root / source, destination)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(context),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("duban-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "worker.py",
        "domain/case/dispatch.py",
        "api/cli/__init__.py",
        "deploy/calendar.toml",
    ):
        assert expected in names, expected
    # The console: its templates and static files install with duban (issue 16).
    for expected in (
        "api/console/templates/base.html",
        "api/console/templates/accounts/list.html",
        "api/console/static/duban.css",
        "api/console/static/vendor/htmx-2.0.11.min.js",
        "api/console/static/vendor/htmx-LICENSE.txt",
    ):
        assert expected in names, expected
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "duban = api.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


# ---------------------------------------------------------------------- what the pods rely on


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in k8s_objects() if (d["kind"], d["metadata"]["name"]) == (kind, name))


def container(deployment: str) -> dict[str, Any]:
    pod = k8s_object("Deployment", deployment)["spec"]["template"]["spec"]
    result: dict[str, Any] = pod["containers"][0]
    return result


def pod_volumes(deployment: str) -> dict[str, dict[str, Any]]:
    pod = k8s_object("Deployment", deployment)["spec"]["template"]["spec"]
    return {v["name"]: v for v in pod["volumes"]}


def settings_config_map() -> dict[str, str]:
    data: dict[str, str] = k8s_object("ConfigMap", "duban-settings")["data"]
    return data


def cli_options(args: list[str]) -> dict[str, Any]:
    """The options `duban <args>` would run with, parsed by duban's own command line."""
    from typer.main import get_command

    from api.cli import app

    group: Any = get_command(app)
    command = group.commands[args[0]]
    return dict(command.make_context(args[0], list(args[1:])).params)


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = documents(DEPLOY / "compose.yaml")[0]["services"]
    return services


def test_the_api_listens_on_every_interface_in_compose_and_in_kubernetes():
    # Loopback (the command's default) would leave the pods never Ready and the port dead.
    assert cli_options(["api"])["host"] == "127.0.0.1", "the default this guards against"
    api = compose_services()["api"]
    options = cli_options(api["command"])
    assert options["host"] == "0.0.0.0"
    assert f"{options['port']}:{options['port']}" in api["ports"]
    k8s = container("duban-api")
    options = cli_options(k8s["args"])
    assert options["host"] == "0.0.0.0"
    ports = {p["name"]: p["containerPort"] for p in k8s["ports"]}
    assert ports["http"] == options["port"]
    assert k8s["readinessProbe"]["httpGet"]["port"] == "http"


def test_the_workers_keep_the_audit_trail_on_one_persistent_volume_they_all_mount():
    # compose: a named volume (shared by every replica on the host) at the data directory.
    compose = documents(DEPLOY / "compose.yaml")[0]
    worker = compose["services"]["worker"]
    environment = worker["environment"]
    data_dir = environment["DUBAN_DATA_DIR"]
    volume, mount = next(v.split(":")[:2] for v in worker["volumes"] if v.endswith(data_dir))
    assert mount == data_dir and volume in compose["volumes"]
    assert environment["DUBAN_CHECKPOINT_DIR"].startswith(data_dir + "/")
    assert worker["read_only"] is True, "everything else stays read-only"
    # Kubernetes: a ReadWriteMany claim at the data directory, never an emptyDir.
    settings = settings_config_map()
    data_dir = settings["DUBAN_DATA_DIR"]
    assert settings["DUBAN_CHECKPOINT_DIR"].startswith(data_dir + "/")
    mounts = {m["mountPath"]: m["name"] for m in container("duban-worker")["volumeMounts"]}
    volume = pod_volumes("duban-worker")[mounts[data_dir]]
    assert "emptyDir" not in volume
    claim = k8s_object("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_checkpoint_key_comes_from_a_secret_and_is_configured_so_none_is_ever_made():
    compose = documents(DEPLOY / "compose.yaml")[0]
    worker = compose["services"]["worker"]
    key_path = Path(worker["environment"]["DUBAN_CHECKPOINT_KEY_PATH"])
    (secret,) = worker["secrets"]
    assert key_path == Path("/run/secrets") / secret["target"]
    assert compose["secrets"][secret["source"]]["file"].startswith("secrets/")

    key_path = Path(settings_config_map()["DUBAN_CHECKPOINT_KEY_PATH"])
    mounts = {m["mountPath"]: m for m in container("duban-worker")["volumeMounts"]}
    mount = mounts[str(key_path.parent)]
    volume = pod_volumes("duban-worker")[mount["name"]]["secret"]
    assert mount["readOnly"] is True
    assert volume["secretName"] == "duban-checkpoint-key"
    assert volume.get("optional", False) is False, "a worker without the key must not start"
    assert {item["path"] for item in volume["items"]} == {key_path.name}


def test_the_temporal_values_follow_the_pinned_charts_layout():
    header = (DEPLOY / "helm" / "temporal-values.yaml").read_text(encoding="utf-8")
    (version,) = set(re.findall(r"--version (\S+)", header))
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert f"--version {version}" in readme, "the README installs the version the values fit"
    values = documents(DEPLOY / "helm" / "temporal-values.yaml")[0]
    # Keys that chart version refuses to render (its templates/_deprecations.tpl).
    for removed in ("cassandra", "elasticsearch", "prometheus", "grafana", "mysql", "postgresql"):
        assert removed not in values, removed
    assert "schema" not in values or not {"createDatabase", "setup", "update"} & set(
        values["schema"]
    )
    persistence = values["server"]["config"]["persistence"]
    assert "default" not in persistence and "visibility" not in persistence
    for store in persistence["datastores"].values():
        assert {"createDatabase", "manageSchema", "pluginName", "connectAddr"} <= set(store["sql"])


def test_the_search_attribute_job_connects_to_temporal_as_the_workers_do():
    job = k8s_object("Job", "duban-search-attributes")["spec"]["template"]["spec"]
    (setup,) = job["containers"]
    env = {e["name"]: e["valueFrom"] for e in setup["env"]}
    worker_env = {e["name"]: e.get("valueFrom") for e in container("duban-worker")["env"]}
    assert env["TEMPORAL_API_KEY"] == worker_env["DUBAN_TEMPORAL_API_KEY"]
    assert env["TLS_SERVER_NAME"]["configMapKeyRef"]["key"] == "DUBAN_TEMPORAL_TLS_SERVER_NAME"
    mounts = {m["name"]: m["mountPath"] for m in setup["volumeMounts"]}
    worker_mounts = {m["name"]: m["mountPath"] for m in container("duban-worker")["volumeMounts"]}
    assert mounts["temporal-tls"] == worker_mounts["temporal-tls"]
    volumes = {v["name"]: v for v in job["volumes"]}
    assert volumes["temporal-tls"]["secret"]["secretName"] == "duban-temporal-tls"
    script = setup["args"][0]
    flags = ("--tls-cert-path", "--tls-key-path", "--tls-ca-path", "--tls-server-name", "--tls")
    for flag in flags:
        assert flag in script, flag


async def test_the_search_attribute_job_script_creates_the_namespace_and_attributes(
    tmp_path: Path,
):
    """The Job's own script, run by /bin/sh with the `temporal` CLI against a dev server that
    has neither the namespace nor the attributes yet (plain gRPC: no TLS Secret mounted); then
    the compose file's, which finds them there."""
    import asyncio
    import os
    import subprocess
    import sys

    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.testing import WorkflowEnvironment

    job = k8s_object("Job", "duban-search-attributes")["spec"]["template"]["spec"]
    (setup,) = job["containers"]
    server = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        dev_server_log_level="error",
    )
    try:
        namespace = "duban-job-test"
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "TEMPORAL_ADDRESS": server.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": namespace,
        }
        done = await asyncio.to_thread(
            subprocess.run,
            [*setup["command"], setup["args"][0]],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        listed = await server.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        created = set(listed.custom_attributes)
        assert {key.name for key in search_attributes.ALL} <= created
        # The compose file's one-off service runs the same steps ($$ is compose's escape).
        compose = compose_services()["temporal-setup"]
        script = compose["command"][0].replace("$$", "$")
        again = await asyncio.to_thread(
            subprocess.run,
            [*compose["entrypoint"], script],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert again.returncode == 0, "idempotent: " + again.stdout + again.stderr
    finally:
        await server.shutdown()


def test_the_temporal_server_in_compose_broadcasts_an_ip_not_a_host_name():
    """Ringpop parses the broadcast address as an IP: a service name there stops the server.
    With BIND_ON_IP 0.0.0.0 the official entrypoint fills it with the container's IP."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    environment = compose["services"]["temporal"]["environment"]
    assert environment["BIND_ON_IP"] == "0.0.0.0"
    broadcast = environment.get("TEMPORAL_BROADCAST_ADDRESS")
    assert broadcast is None or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", broadcast), broadcast


def test_only_the_migrations_get_the_database_owners_credentials():
    """The owner can disable the event store's triggers; the app role cannot. Long-running
    processes get the app role's URL alone, in Kubernetes and in compose."""
    running = [
        d
        for d in k8s_objects()
        if d.get("kind") in ("Deployment", "StatefulSet") and "duban" in d["metadata"]["name"]
    ]
    assert running
    for deployment in running:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            names = {e["name"] for e in container.get("env", [])}
            assert "DUBAN_DATABASE_URL" not in names, deployment["metadata"]["name"]
            assert "DUBAN_DATABASE_APP_URL" in names, deployment["metadata"]["name"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    with_owner = {
        name
        for name, service in compose["services"].items()
        if "secrets/duban-owner.env" in service.get("env_file", [])
    }
    assert with_owner == {"migrate"}
    shared = (DEPLOY / "env" / "duban.env.example").read_text()
    assert "DUBAN_DATABASE_URL=" not in shared and "DUBAN_DATABASE_APP_URL=" in shared


def test_the_calendar_file_for_years_the_package_lacks_is_wired_where_deadlines_are_counted():
    """Today's deadlines already reach years chinese-calendar does not know; without a file
    an operator can edit, every such case would wait. The worker and the API (which judges
    commands) read it from a ConfigMap at DUBAN_CALENDAR_FILE; compose mounts
    deploy/calendar.toml. Shipped without years: nothing is guessed."""
    objects = k8s_objects()
    settings = next(d for d in objects if d["metadata"]["name"] == "duban-settings")
    path = settings["data"]["DUBAN_CALENDAR_FILE"]
    calendar = next(d for d in objects if d["metadata"]["name"] == "duban-calendar")
    shipped = (DEPLOY / "calendar.toml").read_text(encoding="utf-8")
    assert calendar["data"]["calendar.toml"] == shipped
    assert parse_calendar_toml(shipped) == {}
    for name in ("duban-worker", "duban-api"):
        deployment = next(d for d in objects if d["metadata"]["name"] == name)
        pod = deployment["spec"]["template"]["spec"]
        volume = next(
            v["name"]
            for v in pod["volumes"]
            if v.get("configMap", {}).get("name") == "duban-calendar"
        )
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert f"{mounts[volume]}/calendar.toml" == path, name
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["configs"]["calendar"]["file"] == "calendar.toml"
    worker = compose["services"]["worker"]
    target = next(c["target"] for c in worker["configs"] if c["source"] == "calendar")
    assert worker["environment"]["DUBAN_CALENDAR_FILE"] == target
