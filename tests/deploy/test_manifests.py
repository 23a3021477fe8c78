"""The deployment files agree with each other and with the services they run.

`deploy/compose.yaml`, `deploy/Dockerfile` and the Kubernetes base with its production overlay are
parsed here (the overlay rendered the way `kustomize build` renders it) and cross-checked, for
every service they deploy: the same four parts (migrate, api, worker, relay), the same image, the
service's own CLI, the probes, the environment, the order of migration, and a production
configuration that passes the services' own production guard and carries no development secret.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from doseline.identity import DEVELOPMENT_IDENTIFIER_KEY
from doseline.launcher import Launcher
from doseline.manifest import ServiceManifest, installed_services
from doseline.tokens import DEVELOPMENT_JWT_SECRET

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
K8S_BASE = DEPLOY / "k8s" / "base"
K8S_PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"

# Every service installed in the workspace (its `doseline.services` entry point, the registry
# `make run` starts from) must be deployed; a new service fails these tests until every deploy
# file runs it.
REQUIRED_SERVICES = frozenset(installed_services())
PARTS = ("migrate", "api", "worker", "relay")
LONG_RUNNING_PARTS = ("api", "worker", "relay")
API_PORT = 8000
SUBCOMMAND_ARGS: dict[str, tuple[str, ...]] = {
    "migrate": ("migrate",),
    "api": ("api", "--host", "0.0.0.0", "--port", str(API_PORT)),
    "worker": ("worker",),
    "relay": ("relay",),
}

Resource = dict[str, Any]


def expected_command(service: str, part: str) -> list[str]:
    return ["python", "-m", service, *SUBCOMMAND_ARGS[part]]


def prefix_of(service: str) -> str:
    return f"{service.upper()}_"


def variables_the_service_reads(manifest: ServiceManifest) -> set[str]:
    """The variables a service takes: its settings fields, and those `make run`'s launcher hands
    every service (among them `<P>STORAGE_DIR`, for the services that keep files)."""
    fields = {
        f"{manifest.env_prefix}{field.upper()}" for field in manifest.settings_class.model_fields
    }
    launched = Launcher(root=REPO).env_for(manifest, "postgresql://", "redis://")
    return fields | {name for name in launched if name.startswith(manifest.env_prefix)}


def load_yaml_documents(path: Path) -> list[Resource]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


# --- compose: `${VAR:-default}` interpolation as Compose does it, with no variable set ----------

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose variable interpolation (compose-spec "Interpolation"): defaults, required, `$$`."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        current = variables.get(name)
        operator, argument = match["op"], match["arg"] or ""
        if operator in {":-", "-"}:
            unset = current is None or (operator == ":-" and current == "")
            return argument if unset else str(current)
        if operator in {":?", "?"}:
            if current is None or (operator == ":?" and current == ""):
                raise AssertionError(f"compose requires ${name}: {argument}")
            return current
        return current or ""

    return _INTERPOLATION.sub(substitute, value)


def interpolate_all(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [interpolate_all(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_all(value, variables) for key, value in node.items()}
    return node


def compose_services() -> dict[str, Resource]:
    """The compose services as `docker compose up` sees them with no variable set."""
    document = load_yaml(COMPOSE_FILE)
    services: dict[str, Resource] = interpolate_all(document["services"], {})
    return services


def compose_environment(part: Resource) -> dict[str, str]:
    environment = part.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {str(key): str(value) for key, value in environment.items()}


# --- kustomize: the overlay rendered as `kustomize build` renders these files --------------------
# Supported: resources (files and directories), namespace, labels, configMapGenerator (literals;
# create and merge), patches (strategic merge, by the patch's own name or by a target with kind,
# name and equality label selectors), replicas and images. Anything else fails the test, so the
# renderer can never silently ignore part of a kustomization. kustomize appends a content hash to
# generated ConfigMap names and rewrites the references; the plain names are kept here.

_KUSTOMIZATION_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "namespace",
        "labels",
        "resources",
        "configMapGenerator",
        "patches",
        "replicas",
        "images",
    }
)
_CLUSTER_SCOPED_KINDS = frozenset({"Namespace"})
# Kubernetes' strategic merge keys these lists by `name`; every other list is replaced.
_MERGED_BY_NAME = frozenset({"containers", "initContainers", "volumes", "env"})


def strategic_merge(target: Any, patch: Any, *, key: str = "") -> Any:
    """Merge `patch` into `target` the way a strategic-merge patch does for the fields used here."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for field, value in patch.items():
            merged[field] = (
                strategic_merge(target[field], value, key=field) if field in target else value
            )
        return merged
    if isinstance(target, list) and isinstance(patch, list) and key in _MERGED_BY_NAME:
        merged_list = list(target)
        positions = {item["name"]: index for index, item in enumerate(merged_list)}
        for item in patch:
            if item["name"] in positions:
                index = positions[item["name"]]
                merged_list[index] = strategic_merge(merged_list[index], item)
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(patch)


def _matches(resource: Resource, target: Mapping[str, Any]) -> bool:
    unsupported = set(target) - {"kind", "name", "labelSelector"}
    assert not unsupported, f"patch target fields {unsupported} are not understood by this test"
    if "kind" in target and resource["kind"] != target["kind"]:
        return False
    if "name" in target and resource["metadata"]["name"] != target["name"]:
        return False
    labels = resource["metadata"].get("labels", {})
    for requirement in str(target.get("labelSelector", "")).split(","):
        if not requirement:
            continue
        assert re.fullmatch(r"[^=!]+=[^=!]*", requirement), (
            f"label selector {requirement!r}: only key=value is understood by this test"
        )
        label, value = requirement.split("=", 1)
        if labels.get(label) != value:
            return False
    return True


def pod_containers(resource: Resource) -> list[Resource]:
    spec = resource["spec"]["template"]["spec"]
    containers: list[Resource] = [*spec.get("initContainers", []), *spec["containers"]]
    return containers


def _split_image(image: str) -> tuple[str, str]:
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, ""
    return name, ":" + tag


def render_kustomization(directory: Path) -> list[Resource]:
    kustomization = load_yaml(directory / "kustomization.yaml")
    unknown = set(kustomization) - _KUSTOMIZATION_FIELDS
    assert not unknown, f"{directory}: kustomization fields {unknown} are not understood"
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        assert path.exists(), f"{directory}/kustomization.yaml lists {entry}, which is missing"
        resources.extend(render_kustomization(path) if path.is_dir() else load_yaml_documents(path))

    for generator in kustomization.get("configMapGenerator", []):
        assert set(generator) <= {"name", "behavior", "literals"}, generator
        data = dict(literal.split("=", 1) for literal in generator.get("literals", []))
        behavior = generator.get("behavior", "create")
        existing = [
            r
            for r in resources
            if r["kind"] == "ConfigMap" and r["metadata"]["name"] == generator["name"]
        ]
        if behavior == "create":
            assert not existing, f"ConfigMap {generator['name']} is generated twice"
            resources.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": generator["name"]},
                    "data": data,
                }
            )
        else:
            assert behavior == "merge", f"configMapGenerator behavior {behavior!r}"
            assert existing, f"{directory}: merges into ConfigMap {generator['name']}, not found"
            existing[0]["data"] = {**existing[0].get("data", {}), **data}

    for patch_entry in kustomization.get("patches", []):
        assert set(patch_entry) <= {"path", "target"}, patch_entry
        patch = load_yaml(directory / patch_entry["path"])
        target = patch_entry.get(
            "target", {"kind": patch["kind"], "name": patch["metadata"]["name"]}
        )
        matched = [index for index, r in enumerate(resources) if _matches(r, target)]
        assert matched, f"{directory}: patch {patch_entry['path']} matches no resource"
        for index in matched:
            name = resources[index]["metadata"]["name"]
            body = {field: value for field, value in patch.items() if field != "metadata"}
            resources[index] = strategic_merge(resources[index], body)
            resources[index]["metadata"]["name"] = name

    for replica in kustomization.get("replicas", []):
        deployments = [
            r
            for r in resources
            if r["kind"] == "Deployment" and r["metadata"]["name"] == replica["name"]
        ]
        assert deployments, f"{directory}: replicas for {replica['name']}, which does not exist"
        deployments[0]["spec"]["replicas"] = replica["count"]

    for image in kustomization.get("images", []):
        used = False
        for resource in resources:
            if resource["kind"] != "Deployment":
                continue
            for container in pod_containers(resource):
                name, reference = _split_image(container["image"])
                if name != image["name"]:
                    continue
                used = True
                if "digest" in image:
                    reference = "@" + image["digest"]
                elif "newTag" in image:
                    reference = ":" + str(image["newTag"])
                container["image"] = image.get("newName", name) + reference
        assert used, f"{directory}: image {image['name']} is set but used by no container"

    if "namespace" in kustomization:
        for resource in resources:
            if resource["kind"] not in _CLUSTER_SCOPED_KINDS:
                resource["metadata"]["namespace"] = kustomization["namespace"]
    for label_set in kustomization.get("labels", []):
        assert set(label_set) == {"pairs"}, f"labels options {set(label_set)} are not understood"
        for resource in resources:
            resource["metadata"].setdefault("labels", {}).update(label_set["pairs"])
    return resources


def find(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container_named(deployment: Resource, name: str, *, init: bool = False) -> Resource:
    spec = deployment["spec"]["template"]["spec"]
    containers = spec.get("initContainers", []) if init else spec["containers"]
    found = [c for c in containers if c["name"] == name]
    assert len(found) == 1, f"{deployment['metadata']['name']}: one container {name!r} expected"
    container: Resource = found[0]
    return container


def k8s_environment(
    container: Resource, resources: list[Resource]
) -> dict[str, str | dict[str, str]]:
    """A container's variables: literal or ConfigMap values, or the Secret key they come from."""
    variables: dict[str, str | dict[str, str]] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, f"envFrom {source} is not understood"
        config_map = find(resources, "ConfigMap", source["configMapRef"]["name"])
        variables.update(config_map.get("data", {}))
    for variable in container.get("env", []):
        if "value" in variable:
            variables[variable["name"]] = str(variable["value"])
        else:
            secret = variable["valueFrom"]["secretKeyRef"]
            variables[variable["name"]] = {"secret": secret["name"], "key": secret["key"]}
    return variables


def deployment_of(resources: list[Resource], service: str, part: str) -> Resource:
    return find(resources, "Deployment", f"{service}-{part}")


# --- Dockerfile ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass(frozen=True)
class Stage:
    base: str
    name: str
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(path: Path) -> tuple[list[Instruction], list[Stage]]:
    """The global instructions (before the first FROM) and the build stages, in order."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"

    preamble: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] | None = None
    header: tuple[str, str] = ("", "")
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip())
        if instruction.keyword == "FROM":
            if current is not None:
                stages.append(Stage(header[0], header[1], tuple(current)))
            words = instruction.arguments.split()
            header = (words[0], words[2] if len(words) == 3 and words[1].upper() == "AS" else "")
            current = []
        elif current is None:
            preamble.append(instruction)
        else:
            current.append(instruction)
    if current is not None:
        stages.append(Stage(header[0], header[1], tuple(current)))
    return preamble, stages


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether the build context leaves `path` out (Docker: the last matching pattern wins)."""

    def regex(pattern: str) -> re.Pattern[str]:
        parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern)
        translated = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
        return re.compile("".join(translated.get(p, re.escape(p)) for p in parts))

    candidates = [path] + ["/".join(path.split("/")[:n]) for n in range(1, path.count("/") + 1)]
    excluded = False
    for raw in patterns:
        include = raw.startswith("!")
        compiled = regex(raw[1:] if include else raw)
        if any(compiled.fullmatch(candidate) for candidate in candidates):
            excluded = not include
    return excluded


# --- what the deployment files contain, read once ------------------------------------------------


def _services_in_compose() -> set[str]:
    return {
        name.removesuffix("-migrate") for name in compose_services() if name.endswith("-migrate")
    }


def _services_in_kubernetes() -> set[str]:
    return {
        r["metadata"]["labels"]["app.kubernetes.io/name"]
        for r in render_kustomization(K8S_BASE)
        if r["kind"] == "Deployment"
    }


def _services_in_production_overlay() -> set[str]:
    """The services the production overlay itself names: release tag, replicas and settings."""
    overlay = load_yaml(K8S_PRODUCTION / "kustomization.yaml")
    tagged = {image["name"].removeprefix("doseline/") for image in overlay.get("images", [])}
    scaled = {replica["name"].rsplit("-", 1)[0] for replica in overlay.get("replicas", [])}
    configured = {
        generator["name"].removesuffix("-config")
        for generator in overlay.get("configMapGenerator", [])
    }
    return tagged & scaled & configured


def deploy_files_missing(service: str) -> list[str]:
    """The deploy files that do not run `service` (empty when every one does)."""
    where = {
        "deploy/compose.yaml": _services_in_compose(),
        "deploy/k8s/base": _services_in_kubernetes(),
        "deploy/k8s/overlays/production": _services_in_production_overlay(),
    }
    return [name for name, services in where.items() if service not in services]


# Every installed service plus every service named anywhere in the deployment: a service that is
# deployed in one place but not the other fails the tests below by name.
SERVICES = sorted(REQUIRED_SERVICES | _services_in_compose() | _services_in_kubernetes())


@pytest.fixture(scope="module")
def compose() -> dict[str, Resource]:
    return compose_services()


@pytest.fixture(scope="module")
def production() -> list[Resource]:
    return render_kustomization(K8S_PRODUCTION)


@pytest.fixture(scope="module")
def base() -> list[Resource]:
    return render_kustomization(K8S_BASE)


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE)[1]


@pytest.fixture(scope="module")
def manifests() -> dict[str, ServiceManifest]:
    return installed_services()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No variable of any deployed service leaks in from the machine running the tests."""
    for name in list(os.environ):
        if any(name.startswith(prefix_of(service)) for service in SERVICES):
            monkeypatch.delenv(name)
    yield monkeypatch


# --- the services that are deployed --------------------------------------------------------------


def test_the_required_services_are_the_installed_service_manifests() -> None:
    assert set(REQUIRED_SERVICES) >= {"enrollment", "safety", "imaging", "notifications"}


def test_compose_and_kubernetes_deploy_the_same_services_and_every_installed_one() -> None:
    assert _services_in_compose() == _services_in_kubernetes()
    assert _services_in_compose() >= REQUIRED_SERVICES


@pytest.mark.parametrize("service", sorted(REQUIRED_SERVICES))
def test_every_installed_service_is_in_every_deploy_file(service: str) -> None:
    assert deploy_files_missing(service) == [], f"{service} is not deployed by these files"


def test_a_service_missing_from_a_deploy_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check above, against a compose file that lost one service: it must say which file.
    document = load_yaml(COMPOSE_FILE)
    document["services"] = {
        name: part
        for name, part in document["services"].items()
        if not name.startswith("notifications-")
    }
    trimmed = tmp_path / "compose.yaml"
    trimmed.write_text(yaml.safe_dump(document), encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "COMPOSE_FILE", trimmed)
    assert deploy_files_missing("notifications") == ["deploy/compose.yaml"]
    assert deploy_files_missing("safety") == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_deployed_service_is_an_installed_workspace_member(
    service: str, manifests: dict[str, ServiceManifest]
) -> None:
    pyproject = REPO / "services" / service / "pyproject.toml"
    assert pyproject.is_file(), f"the image build needs services/{service}/pyproject.toml"
    assert f'name = "{service}"' in pyproject.read_text(encoding="utf-8")
    assert service in manifests, f"{service} registers no doseline.services entry point"


@pytest.mark.parametrize("service", SERVICES)
def test_the_commands_in_the_manifests_exist_in_the_service_cli(service: str) -> None:
    cli = typer.main.get_command(importlib.import_module(f"{service}.__main__").app)
    commands: dict[str, Any] = getattr(cli, "commands", {})
    for part in PARTS:
        assert part in commands, f"python -m {service} has no {part!r} command"
    api_options = {option for param in commands["api"].params for option in param.opts}
    assert {"--host", "--port"} <= api_options


# --- compose -------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("part", PARTS)
def test_compose_runs_each_part_with_the_service_cli(
    compose: dict[str, Resource], service: str, part: str
) -> None:
    assert f"{service}-{part}" in compose, f"compose has no {service}-{part}"
    assert compose[f"{service}-{part}"]["command"] == expected_command(service, part)


@pytest.mark.parametrize("service", SERVICES)
def test_compose_builds_every_part_of_a_service_as_one_image_from_the_dockerfile(
    compose: dict[str, Resource], service: str
) -> None:
    for part in PARTS:
        definition = compose[f"{service}-{part}"]
        assert definition["image"] == f"doseline/{service}:latest"
        build = definition["build"]
        assert (COMPOSE_FILE.parent / build["context"]).resolve() == REPO
        assert (REPO / build["dockerfile"]).resolve() == DOCKERFILE
        assert build["args"] == {"SERVICE": service}
        # Never pull a stranger's doseline/<service> from a public registry: build it.
        assert definition["pull_policy"] == "build"
    raw = load_yaml(COMPOSE_FILE)["services"][f"{service}-api"]
    assert raw["image"] == f"doseline/{service}:${{DOSELINE_TAG:-latest}}"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_starts_api_worker_and_relay_only_after_the_migration_succeeded(
    compose: dict[str, Resource], service: str
) -> None:
    migrate = compose[f"{service}-migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for part in LONG_RUNNING_PARTS:
        depends_on = compose[f"{service}-{part}"]["depends_on"]
        assert depends_on[f"{service}-migrate"] == {"condition": "service_completed_successfully"}
        assert depends_on["postgres"] == {"condition": "service_healthy"}
        assert depends_on["rabbitmq"] == {"condition": "service_healthy"}
        assert compose[f"{service}-{part}"]["restart"] == "unless-stopped"


def test_compose_postgres_and_rabbitmq_are_healthchecked_and_keep_their_data(
    compose: dict[str, Resource],
) -> None:
    declared_volumes = set(load_yaml(COMPOSE_FILE)["volumes"])
    postgres, rabbitmq = compose["postgres"], compose["rabbitmq"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert rabbitmq["image"] == "rabbitmq:3.13-management"
    assert "rabbitmq-diagnostics" in rabbitmq["healthcheck"]["test"]
    # RabbitMQ's data directory is named after the node, hence after the host name.
    assert rabbitmq["hostname"] == "rabbitmq"
    for definition, data_dir in (
        (postgres, "/var/lib/postgresql/data"),
        (rabbitmq, "/var/lib/rabbitmq"),
    ):
        volume, _, path = definition["volumes"][0].partition(":")
        assert path == data_dir
        assert volume in declared_volumes


@pytest.mark.parametrize("service", SERVICES)
def test_compose_publishes_each_api_on_its_service_port_on_localhost_only(
    compose: dict[str, Resource], service: str, manifests: dict[str, ServiceManifest]
) -> None:
    assert compose[f"{service}-api"]["ports"] == [f"127.0.0.1:{manifests[service].port}:{API_PORT}"]
    for part in ("migrate", "worker", "relay"):
        assert "ports" not in compose[f"{service}-{part}"]


@pytest.mark.parametrize("service", SERVICES)
def test_compose_api_is_healthy_only_when_readyz_answers(
    compose: dict[str, Resource], service: str
) -> None:
    check = " ".join(compose[f"{service}-api"]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{API_PORT}/readyz" in check


@pytest.mark.parametrize("service", SERVICES)
def test_compose_gives_every_part_the_same_database_and_broker(
    compose: dict[str, Resource], service: str
) -> None:
    prefix = prefix_of(service)
    environments = [compose_environment(compose[f"{service}-{part}"]) for part in PARTS]
    assert all(environment == environments[0] for environment in environments)
    environment = environments[0]
    assert all(name.startswith(prefix) for name in environment)

    database = urlsplit(environment[f"{prefix}DATABASE_URL"])
    assert (database.scheme, database.hostname, database.port, database.path) == (
        "postgresql+psycopg",
        "postgres",
        5432,
        "/doseline",
    )
    assert database.username == "doseline"
    broker = urlsplit(environment[f"{prefix}BROKER_URL"])
    assert (broker.scheme, broker.hostname, broker.port, broker.path) == (
        "amqp",
        "rabbitmq",
        5672,
        "/%2F",
    )
    postgres = compose_environment(compose["postgres"])
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.username == postgres["POSTGRES_USER"]
    rabbitmq = compose_environment(compose["rabbitmq"])
    assert (broker.username, broker.password) == (
        rabbitmq["RABBITMQ_DEFAULT_USER"],
        rabbitmq["RABBITMQ_DEFAULT_PASS"],
    )


@pytest.mark.parametrize("service", SERVICES)
def test_compose_settings_start_the_service_in_development_with_the_kit_development_key(
    compose: dict[str, Resource],
    service: str,
    manifests: dict[str, ServiceManifest],
    clean_environment: pytest.MonkeyPatch,
) -> None:
    prefix = prefix_of(service)
    environment = compose_environment(compose[f"{service}-api"])
    # The shared secret is only ever paired with development, and it is the kit's own, so that
    # `doseline token mint` makes tokens the compose services accept.
    assert environment[f"{prefix}ENVIRONMENT"] == "development"
    assert environment[f"{prefix}JWT_SECRET"] == DEVELOPMENT_JWT_SECRET
    assert f"{prefix}JWKS_URL" not in environment
    readable = variables_the_service_reads(manifests[service])
    for name, value in environment.items():
        assert name in readable, f"{name}: the service reads no such setting"
        clean_environment.setenv(name, value)
    settings = manifests[service].settings_class()
    assert settings.environment.value == "development"
    assert settings.database_url == environment[f"{prefix}DATABASE_URL"]


# --- Kubernetes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_kubernetes_runs_each_part_with_the_service_cli(
    production: list[Resource], service: str
) -> None:
    for part in LONG_RUNNING_PARTS:
        deployment = deployment_of(production, service, part)
        assert container_named(deployment, part)["command"] == expected_command(service, part)
        migrate = container_named(deployment, "migrate", init=True)
        assert migrate["command"] == expected_command(service, "migrate")


@pytest.mark.parametrize("service", SERVICES)
def test_kubernetes_migrates_before_any_api_worker_or_relay_process_starts(
    production: list[Resource], service: str
) -> None:
    # Init containers run to completion, in order, before a pod's containers start.
    for part in LONG_RUNNING_PARTS:
        spec = deployment_of(production, service, part)["spec"]["template"]["spec"]
        assert [c["name"] for c in spec["initContainers"]] == ["migrate"]
        assert [c["name"] for c in spec["containers"]] == [part]


@pytest.mark.parametrize("service", SERVICES)
def test_every_part_runs_the_same_released_image_of_its_service(
    production: list[Resource], service: str
) -> None:
    images = {
        container["image"]
        for part in LONG_RUNNING_PARTS
        for container in pod_containers(deployment_of(production, service, part))
    }
    assert len(images) == 1, f"{service} parts run different images: {images}"
    name, reference = _split_image(images.pop())
    assert name == f"doseline/{service}"
    assert reference.startswith((":", "@sha256:")), "production pins a tag or a digest"
    assert reference != ":latest"


def test_every_service_is_released_with_the_same_tag(production: list[Resource]) -> None:
    tags = {
        _split_image(container_named(deployment_of(production, service, "api"), "api")["image"])[1]
        for service in SERVICES
    }
    assert len(tags) == 1, f"services released at different versions: {tags}"


@pytest.mark.parametrize("service", SERVICES)
def test_kubernetes_api_is_live_on_healthz_and_ready_on_readyz_at_port_8000(
    production: list[Resource], service: str
) -> None:
    api = container_named(deployment_of(production, service, "api"), "api")
    assert api["ports"] == [{"name": "http", "containerPort": API_PORT, "protocol": "TCP"}]
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": API_PORT}
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": API_PORT}
    assert api["startupProbe"]["httpGet"] == {"path": "/healthz", "port": API_PORT}
    # /readyz waits up to 2 s for the broker (doseline.broker.check_broker) before the database.
    assert api["readinessProbe"]["timeoutSeconds"] > 2

    service_resource = find(production, "Service", f"{service}-api")
    selector = service_resource["spec"]["selector"]
    pod_labels = deployment_of(production, service, "api")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    [port] = service_resource["spec"]["ports"]
    target = {p["name"]: p["containerPort"] for p in api["ports"]}.get(port["targetPort"])
    assert target == API_PORT


@pytest.mark.parametrize("service", SERVICES)
def test_worker_and_relay_have_no_http_probe_because_they_serve_no_http(
    production: list[Resource], service: str
) -> None:
    for part in ("worker", "relay"):
        container = container_named(deployment_of(production, service, part), part)
        assert "ports" not in container
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert "httpGet" not in container.get(probe, {})


@pytest.mark.parametrize("service", SERVICES)
def test_prometheus_scrapes_metrics_from_every_api_pod(
    production: list[Resource], service: str
) -> None:
    annotations = deployment_of(production, service, "api")["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(API_PORT),
        "prometheus.io/path": "/metrics",
    }


@pytest.mark.parametrize("service", SERVICES)
def test_kubernetes_gives_every_part_the_database_and_broker_from_the_service_secret(
    production: list[Resource], service: str
) -> None:
    prefix = prefix_of(service)
    environments = [
        k8s_environment(container, production)
        for part in LONG_RUNNING_PARTS
        for container in pod_containers(deployment_of(production, service, part))
    ]
    assert len(environments) == 2 * len(LONG_RUNNING_PARTS)
    assert all(environment == environments[0] for environment in environments)
    environment = environments[0]
    assert all(name.startswith(prefix) for name in environment)
    assert environment[f"{prefix}DATABASE_URL"] == {
        "secret": f"{service}-connections",
        "key": "database-url",
    }
    assert environment[f"{prefix}BROKER_URL"] == {
        "secret": f"{service}-connections",
        "key": "broker-url",
    }
    # One HMAC key for every service, so hashed hospital identifiers match across services.
    assert environment[f"{prefix}IDENTIFIER_HASH_KEY"] == {
        "secret": "doseline-identifiers",
        "key": "hash-key",
    }
    # The audit trail's MAC keys, a secret of each service's own, kept outside the database.
    assert environment[f"{prefix}AUDIT_KEYS"] == {"secret": f"{service}-audit", "key": "keys"}
    assert environment[f"{prefix}AUDIT_KEY_ID"] == {"secret": f"{service}-audit", "key": "key-id"}


def test_no_secret_is_kept_in_the_kubernetes_manifests(
    base: list[Resource], production: list[Resource]
) -> None:
    # Secrets are created by the operator (docs/operations.md); the manifests only name them.
    assert not [r for r in base + production if r["kind"] == "Secret"]


@pytest.mark.parametrize("service", SERVICES)
def test_production_runs_in_production_with_the_identity_provider_jwks_url(
    production: list[Resource], service: str
) -> None:
    prefix = prefix_of(service)
    environment = k8s_environment(
        container_named(deployment_of(production, service, "api"), "api"), production
    )
    assert environment[f"{prefix}ENVIRONMENT"] == "production"
    jwks = urlsplit(str(environment[f"{prefix}JWKS_URL"]))
    assert jwks.scheme == "https"
    assert jwks.hostname
    issuer = str(environment[f"{prefix}JWT_ISSUER"])
    assert issuer.startswith("https://")
    assert environment[f"{prefix}JWT_AUDIENCE"]


@pytest.mark.parametrize("service", SERVICES)
def test_production_settings_pass_the_service_production_guard(
    production: list[Resource],
    service: str,
    manifests: dict[str, ServiceManifest],
    clean_environment: pytest.MonkeyPatch,
) -> None:
    prefix = prefix_of(service)
    environment = k8s_environment(
        container_named(deployment_of(production, service, "api"), "api"), production
    )
    # What the operator's Secrets would hold, generated here: the manifests carry none of it.
    from_secrets = {
        f"{prefix}DATABASE_URL": "postgresql+psycopg://doseline@db.internal:5432/doseline",
        f"{prefix}BROKER_URL": "amqps://doseline@mq.internal:5671/%2F",
        f"{prefix}IDENTIFIER_HASH_KEY": secrets.token_hex(32),
        f"{prefix}AUDIT_KEYS": json.dumps({"2027-01": secrets.token_hex(32)}),
        f"{prefix}AUDIT_KEY_ID": "2027-01",
        # notifications: the key that encrypts the stored webhook signing secrets.
        f"{prefix}SECRET_KEY": secrets.token_hex(32),
    }
    readable = variables_the_service_reads(manifests[service])
    for name, value in environment.items():
        assert name in readable, f"{name}: the service reads no such setting"
        clean_environment.setenv(name, from_secrets[name] if isinstance(value, dict) else value)
    settings = manifests[service].settings_class()
    assert settings.environment.value == "production"
    assert settings.jwks_url == environment[f"{prefix}JWKS_URL"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_base_alone_refuses_to_start_without_an_identity_provider(
    base: list[Resource],
    service: str,
    manifests: dict[str, ServiceManifest],
    clean_environment: pytest.MonkeyPatch,
) -> None:
    prefix = prefix_of(service)
    environment = k8s_environment(container_named(deployment_of(base, service, "api"), "api"), base)
    assert environment[f"{prefix}ENVIRONMENT"] == "production"
    assert f"{prefix}JWKS_URL" not in environment
    for name, value in environment.items():
        if isinstance(value, str):
            clean_environment.setenv(name, value)
    clean_environment.setenv(f"{prefix}IDENTIFIER_HASH_KEY", secrets.token_hex(32))
    clean_environment.setenv(f"{prefix}AUDIT_KEYS", json.dumps({"k": secrets.token_hex(32)}))
    clean_environment.setenv(f"{prefix}AUDIT_KEY_ID", "k")
    with pytest.raises(ValueError, match="JWKS_URL"):
        manifests[service].settings_class()


def test_production_contains_no_jwt_secret_and_no_development_key(
    production: list[Resource],
) -> None:
    for resource in production:
        if resource["kind"] == "ConfigMap":
            assert not [key for key in resource["data"] if key.endswith("JWT_SECRET")]
        if resource["kind"] == "Deployment":
            for container in pod_containers(resource):
                names = [v["name"] for v in container.get("env", [])]
                assert not [name for name in names if name.endswith("JWT_SECRET")]
    for path in sorted((DEPLOY / "k8s").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert DEVELOPMENT_JWT_SECRET not in text, path
        assert DEVELOPMENT_IDENTIFIER_KEY not in text, path
        assert "JWT_SECRET" not in text, path


@pytest.mark.parametrize("service", SERVICES)
def test_production_runs_two_of_every_part_with_requests_and_limits(
    production: list[Resource], service: str
) -> None:
    for part in LONG_RUNNING_PARTS:
        deployment = deployment_of(production, service, part)
        assert deployment["spec"]["replicas"] >= 2, f"{service}-{part} is a single point of failure"
        for container in pod_containers(deployment):
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) == {"cpu", "memory"}, (
                    f"{service}-{part}/{container['name']} {bound}"
                )


@pytest.mark.parametrize("service", SERVICES)
def test_api_rollouts_keep_every_old_pod_until_a_new_one_is_ready(
    production: list[Resource], service: str
) -> None:
    deployment = deployment_of(production, service, "api")
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = find(production, "PodDisruptionBudget", f"{service}-api")
    assert budget["spec"]["selector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("service", SERVICES)
def test_pods_run_as_the_image_unprivileged_user_on_a_read_only_root(
    production: list[Resource], service: str, stages: list[Stage]
) -> None:
    uid, _, gid = stages[-1].all("USER")[-1].partition(":")
    for part in LONG_RUNNING_PARTS:
        deployment = deployment_of(production, service, part)
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (
            int(uid),
            int(gid),
        )
        assert pod["automountServiceAccountToken"] is False
        for container in pod_containers(deployment):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            # A read-only root needs a writable /tmp (uploads spool there, so do caches).
            assert "/tmp" in {mount["mountPath"] for mount in container["volumeMounts"]}


@pytest.mark.parametrize("service", SERVICES)
def test_the_worker_writes_audit_checkpoints_to_a_volume_that_outlives_the_pod(
    production: list[Resource], compose: dict[str, Resource], service: str
) -> None:
    prefix = prefix_of(service)
    deployment = deployment_of(production, service, "worker")
    directory = k8s_environment(container_named(deployment, "worker"), production)[
        f"{prefix}AUDIT_CHECKPOINT_DIR"
    ]
    mounts = {
        m["mountPath"]: m["name"] for m in container_named(deployment, "worker")["volumeMounts"]
    }
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    claim = volumes[mounts[directory]]["persistentVolumeClaim"]["claimName"]
    find(production, "PersistentVolumeClaim", claim)
    worker = compose[f"{service}-worker"]
    assert compose_environment(worker)[f"{prefix}AUDIT_CHECKPOINT_DIR"] == directory
    named = [m.split(":")[0] for m in worker["volumes"] if m.split(":")[1] == directory]
    assert named == [f"{service}-audit-checkpoints"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_mounted_volume_exists_and_storage_is_shared_by_api_and_worker(
    production: list[Resource], compose: dict[str, Resource], service: str
) -> None:
    for part in LONG_RUNNING_PARTS:
        deployment = deployment_of(production, service, part)
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        for container in pod_containers(deployment):
            for mount in container["volumeMounts"]:
                assert mount["name"] in volumes, f"{service}-{part}: no volume {mount['name']}"
        for volume in volumes.values():
            if "persistentVolumeClaim" in volume:
                find(
                    production,
                    "PersistentVolumeClaim",
                    volume["persistentVolumeClaim"]["claimName"],
                )

    # A service that stores objects on disk has the API write and the worker read the same volume.
    prefix = prefix_of(service)
    api = k8s_environment(
        container_named(deployment_of(production, service, "api"), "api"), production
    )
    storage_dir = api.get(f"{prefix}STORAGE_DIR")
    if storage_dir is None:
        return
    claims = set()
    for part in ("api", "worker"):
        deployment = deployment_of(production, service, part)
        mounts = {
            m["mountPath"]: m["name"] for m in container_named(deployment, part)["volumeMounts"]
        }
        assert storage_dir in mounts, f"{service}-{part} does not mount {storage_dir}"
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        claims.add(volumes[mounts[storage_dir]]["persistentVolumeClaim"]["claimName"])
        compose_mounts = [m.split(":") for m in compose[f"{service}-{part}"]["volumes"]]
        assert storage_dir in [path for _, path in compose_mounts]
    assert len(claims) == 1
    claim = find(production, "PersistentVolumeClaim", claims.pop())
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


# --- the Dockerfile ------------------------------------------------------------------------------


def test_the_image_is_built_in_stages_and_runs_without_dev_dependencies(
    stages: list[Stage],
) -> None:
    assert len(stages) >= 2
    runs = [run for stage in stages for run in stage.all("RUN")]
    assert any(re.search(r"\bpip install\b.*\buv\b", run) for run in runs), "uv from PyPI"
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs
    for sync in syncs:
        assert "--frozen" in sync
        assert "--no-dev" in sync
        assert '--package "${SERVICE}"' in sync
        assert "--all-groups" not in sync
        assert "--group" not in sync
    # The runtime stage holds no build tool: uv is installed only in an earlier stage.
    assert not [run for run in stages[-1].all("RUN") if "uv" in run.split()]


def test_every_stage_starts_from_the_python_the_workspace_is_tested_with() -> None:
    # The runtime stage runs the virtualenv built in the build stage, whose interpreter is a
    # link to the base image's Python: both stages must share it, at the tested version.
    preamble, stages = parse_dockerfile(DOCKERFILE)
    defaults = dict(
        instruction.arguments.split("=", 1)
        for instruction in preamble
        if instruction.keyword == "ARG" and "=" in instruction.arguments
    )
    assert {stage.base for stage in stages} == {"${PYTHON_IMAGE}"}
    image, _, tag = defaults["PYTHON_IMAGE"].partition(":")
    assert image == "python"
    assert tag.startswith(f"{sys.version_info.major}.{sys.version_info.minor}-")


def test_the_image_runs_as_an_unprivileged_user_and_listens_on_8000(stages: list[Stage]) -> None:
    runtime = stages[-1]
    user = runtime.all("USER")[-1]
    uid, _, gid = user.partition(":")
    # Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
    assert uid.isdigit()
    assert int(uid) >= 1000
    assert gid.isdigit()
    assert int(gid) >= 1000
    assert any(f"--uid {uid}" in run for run in runtime.all("RUN")), (
        "the user exists in /etc/passwd"
    )
    assert runtime.all("EXPOSE") == [str(API_PORT)]


def test_the_build_arg_service_is_declared_in_every_stage_that_uses_it(
    stages: list[Stage],
) -> None:
    # An ARG before the first FROM is not visible inside a stage unless declared again there.
    for stage in stages:
        declared = False
        for instruction in stage.instructions:
            if instruction.keyword == "ARG" and instruction.arguments.split("=")[0] == "SERVICE":
                declared = True
            uses = re.search(r"\$\{?SERVICE\b", instruction.arguments)
            assert declared or not uses, (
                f"stage {stage.name}: {instruction.keyword} uses SERVICE before ARG SERVICE"
            )
    assert any("SERVICE" in stage.all("ARG") for stage in stages)


def test_the_default_command_of_the_image_serves_the_api(stages: list[Stage]) -> None:
    runtime = stages[-1]
    assert any("DOSELINE_SERVICE=${SERVICE}" in env for env in runtime.all("ENV"))
    [command] = runtime.all("CMD")
    assert 'exec python -m \\"$DOSELINE_SERVICE\\" api --host 0.0.0.0 --port 8000' in command


@pytest.mark.parametrize("service", SERVICES)
def test_every_path_the_dockerfile_copies_is_in_the_build_context(
    stages: list[Stage], service: str
) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in stages:
        for copy_args in stage.all("COPY"):
            words = [w for w in copy_args.split() if not w.startswith("--")]
            if any(w.startswith("--from") for w in copy_args.split()):
                continue
            for source in words[:-1]:
                path = source.replace("${SERVICE}", service).rstrip("/")
                assert (REPO / path).exists(), f"COPY {source}: {path} is not in the repository"
                assert not dockerignore_excludes(patterns, path), (
                    f"{path} is left out of the context"
                )
    needed = [
        f"services/{service}/src/{service}/__main__.py",
        f"services/{service}/src/{service}/migrations/env.py",
        f"services/{service}/pyproject.toml",
        "libs/doseline/src/doseline/settings.py",
        "libs/escalation/pyproject.toml",
    ]
    for path in needed:
        assert (REPO / path).exists(), path
        assert not dockerignore_excludes(patterns, path), f"{path} is left out of the build context"
    for path in (
        ".venv/bin/python",
        ".state/objects",
        ".git/HEAD",
        f"services/{service}/tests/x.py",
    ):
        assert dockerignore_excludes(patterns, path), f"{path} would be sent to the image build"


# --- the renderer the Kubernetes checks rely on --------------------------------------------------


def test_strategic_merge_updates_a_named_container_without_adding_another() -> None:
    deployment = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "api", "image": "doseline/safety"}],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                }
            }
        }
    }
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "api", "resources": {"limits": {"cpu": "1"}}}]}
            }
        }
    }
    merged = strategic_merge(deployment, patch)
    assert merged["spec"]["template"]["spec"]["containers"] == [
        {"name": "api", "image": "doseline/safety", "resources": {"limits": {"cpu": "1"}}}
    ]
    assert merged["spec"]["template"]["spec"]["volumes"] == [{"name": "tmp", "emptyDir": {}}]


def test_the_renderer_applies_the_overlay_tags_and_replicas_to_the_base(
    base: list[Resource], production: list[Resource]
) -> None:
    base_api = deployment_of(base, "enrollment", "api")
    production_api = deployment_of(production, "enrollment", "api")
    assert container_named(base_api, "api")["image"] == "doseline/enrollment"
    assert container_named(production_api, "api")["image"] != "doseline/enrollment"
    assert base_api["spec"]["replicas"] == 1
    assert production_api["metadata"]["namespace"] == "doseline"
    assert production_api["metadata"]["labels"]["app.kubernetes.io/part-of"] == "doseline"
