"""The README's "Run on Kubernetes" manifests cannot rot: every ```yaml block of that section is
read as the user would `kubectl apply` it and

- validated offline against the Kubernetes API's OpenAPI schemas (kubernetes-validate ships them;
  strict, so an unknown or misspelt field fails as `kubectl apply --validate=strict` would);
- checked for what no schema can see: Services and the PodDisruptionBudget select the pods they are
  meant for, the HorizontalPodAutoscaler targets the Deployment, the probes' paths answer 200 on our
  server at the port the image listens on, the config volume puts routes.toml where the image's
  ROUTER_CONFIG points (a directory mount, never subPath), the embedded routes.toml and keys file
  pass `router check`, every `env:` name the table uses is set from a Secret key that exists, the
  Redis URL names a Service in the manifests, the pod runs as the image's user, and the grace
  period covers the preStop sleep, `drain-delay` and `shutdown-timeout`.

The image's facts (ROUTER_CONFIG, the port, the user) are read from the Containerfile, so changing
either side without the other fails here."""

from __future__ import annotations

import base64
import io
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from router.cli.check import run_check
from router.config.envref import parse_env_ref
from router.config.load import load_config_file
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from tests.support.servers import REPO

# The oldest Kubernetes the manifests are meant for: the preStop `sleep` action is on by default
# from 1.30; 1.33 is what the managed offerings run by default as this is written.
KUBERNETES_VERSION = "1.33"
SECTION = "## Run on Kubernetes"
ROUTER = "router"  # the Deployment, Service, PDB and HPA are all named so
DRAIN_MARGIN = 5  # seconds the grace period must leave after the drain, for closing clients

Doc = dict[str, Any]


# -- reading the README and the Containerfile ----------------------------------------------------


def section_text() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    return readme[start:] if end < 0 else readme[start:end]


def yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", section_text(), re.MULTILINE | re.DOTALL)


def manifests() -> list[Doc]:
    return [doc for block in yaml_blocks() for doc in yaml.safe_load_all(block) if doc is not None]


DOCS = manifests()


def one(kind: str, name: str) -> Doc:
    found = [doc for doc in DOCS if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name} in the README, found {len(found)}"
    return found[0]


def of_kind(kind: str) -> list[Doc]:
    return [doc for doc in DOCS if doc["kind"] == kind]


def containerfile() -> str:
    return (REPO / "Containerfile").read_text()


def image_env(name: str) -> str:
    match = re.search(rf"\b{name}=(\S+)", containerfile())
    assert match, f"the Containerfile sets no {name}"
    return match.group(1)


def image_port() -> int:
    match = re.search(r'^CMD \[(.*)\]$', containerfile(), re.MULTILINE)
    assert match, "the Containerfile has no exec-form CMD"
    command = [part.strip().strip('"') for part in match.group(1).split(",")]
    return int(command[command.index("--port") + 1])


def image_uid() -> int:
    match = re.search(r"useradd .*--uid (\d+)", containerfile())
    assert match, "the Containerfile creates no user with a fixed uid"
    return int(match.group(1))


# -- the pieces of the router Deployment ----------------------------------------------------------


def pod_spec(deployment: Doc) -> Doc:
    spec: Doc = deployment["spec"]["template"]["spec"]
    return spec


def router_container() -> Doc:
    containers = pod_spec(one("Deployment", ROUTER))["containers"]
    found = [c for c in containers if c["name"] == ROUTER]
    assert len(found) == 1
    return found[0]


def container_env(container: Doc) -> dict[str, Doc]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def config_path() -> PurePosixPath:
    """Where the router reads routes.toml: the container's ROUTER_CONFIG, else the image's."""
    env = container_env(router_container())
    return PurePosixPath(env["ROUTER_CONFIG"]["value"] if "ROUTER_CONFIG" in env else image_env("ROUTER_CONFIG"))


def port_number(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    numbers = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    assert numbers, f"container {container['name']} has no port named {port!r}"
    return int(numbers[0])


def config_volume() -> Doc:
    mounts = [m for m in router_container()["volumeMounts"] if PurePosixPath(m["mountPath"]) == config_path().parent]
    assert len(mounts) == 1, f"nothing is mounted at {config_path().parent}, where ROUTER_CONFIG points"
    mount = mounts[0]
    assert "subPath" not in mount and "subPathExpr" not in mount, "a subPath mount never sees a ConfigMap update"
    volumes = [v for v in pod_spec(one("Deployment", ROUTER))["volumes"] if v["name"] == mount["name"]]
    assert len(volumes) == 1
    return volumes[0]


def projected_files() -> dict[str, tuple[str, str]]:
    """File name in the config directory -> (kind, object name) it comes from."""
    volume = config_volume()
    sources = volume["projected"]["sources"] if "projected" in volume else [volume]
    files: dict[str, tuple[str, str]] = {}
    for source in sources:
        for field, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
            if field not in source:
                continue
            ref = source[field]
            name = ref.get("name") or ref.get("secretName")
            data = object_data(one(kind, name))
            items = ref.get("items") or [{"key": key, "path": key} for key in data]
            for item in items:
                assert item["key"] in data, f"{kind}/{name} has no key {item['key']!r}"
                files[item["path"]] = (kind, name)
    return files


def object_data(doc: Doc) -> dict[str, str]:
    """A ConfigMap's or Secret's contents as text (stringData as written; data is base64)."""
    text = dict(doc.get("stringData") or {})
    for key, value in (doc.get("data") or {}).items():
        text[key] = value if doc["kind"] == "ConfigMap" else base64.b64decode(value).decode()
    return text


def config_directory_files() -> dict[str, str]:
    """The config directory as the pod sees it: file name -> text."""
    return {path: object_data(one(kind, name))[path] for path, (kind, name) in projected_files().items()}


def embedded_routes() -> str:
    return config_directory_files()[config_path().name]


def write_config_directory(directory: Path) -> Path:
    """The mounted directory's files written to `directory`; the path of routes.toml in it."""
    for name, text in config_directory_files().items():
        (directory / name).write_text(text)
    return directory / config_path().name


def environment_from_manifests(container: Doc) -> dict[str, str]:
    """The container's environment with Secret and ConfigMap references resolved from the manifests."""
    env: dict[str, str] = {}
    for name, entry in container_env(container).items():
        if "value" in entry:
            env[name] = entry["value"]
            continue
        source = entry["valueFrom"]
        for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            if field in source:
                ref = source[field]
                data = object_data(one(kind, ref["name"]))
                assert ref["key"] in data, f"{name}: {kind}/{ref['name']} has no key {ref['key']!r}"
                env[name] = data[ref["key"]]
    return env


def env_references(value: Any) -> Iterator[str]:
    """Every `env:NAME` in a decoded TOML document."""
    if isinstance(value, dict):
        for item in value.values():
            yield from env_references(item)
    elif isinstance(value, list):
        for item in value:
            yield from env_references(item)
    elif isinstance(value, str) and (name := parse_env_ref(value)) is not None:
        yield name


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# -- the tests -------------------------------------------------------------------------------------


def test_the_section_has_every_manifest_the_issue_asks_for() -> None:
    kinds = sorted(doc["kind"] for doc in DOCS)
    for kind in ("ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Secret", "Service"):
        assert kind in kinds, f"no {kind} in the README's Kubernetes section"
    assert one("HorizontalPodAutoscaler", ROUTER)["apiVersion"] == "autoscaling/v2"


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: f"{doc['kind']}/{doc['metadata']['name']}")
def test_each_manifest_validates_against_the_kubernetes_schema(doc: Doc) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(part) for part in exc.path)
        pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {where}: {exc.message}")


def test_every_deployment_selects_its_own_pods() -> None:
    for deployment in of_kind("Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert labels_match(selector, deployment["spec"]["template"]["metadata"]["labels"])


def test_each_service_selects_one_deployment_and_a_port_it_has() -> None:
    for service in of_kind("Service"):
        selected = [d for d in of_kind("Deployment")
                    if labels_match(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
        assert [d["metadata"]["name"] for d in selected] == [service["metadata"]["name"]], service["metadata"]["name"]
        containers = pod_spec(selected[0])["containers"]
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert any(target in (p["containerPort"], p.get("name")) for c in containers for p in c.get("ports", []))


def test_the_pdb_and_the_hpa_target_the_router_deployment() -> None:
    deployment = one("Deployment", ROUTER)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels_match(one("PodDisruptionBudget", ROUTER)["spec"]["selector"]["matchLabels"], pod_labels)
    target = one("HorizontalPodAutoscaler", ROUTER)["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", "Deployment", ROUTER)
    metrics = one("HorizontalPodAutoscaler", ROUTER)["spec"]["metrics"]
    assert [m["resource"]["name"] for m in metrics if m["type"] == "Resource"] == ["cpu"]
    assert "cpu" in router_container()["resources"]["requests"], "CPU utilization needs a CPU request"


def test_the_container_listens_where_the_image_does_and_runs_as_its_user() -> None:
    container = router_container()
    assert {p["containerPort"] for p in container["ports"]} == {image_port()}
    assert "command" not in container and "args" not in container, "the image's CMD is what this README describes"
    security = pod_spec(one("Deployment", ROUTER))["securityContext"]
    assert security["runAsUser"] == image_uid() and security["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


async def test_the_probe_paths_answer_200_on_our_server() -> None:
    container = router_container()
    probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"]["path"] == "/ready" and probes["livenessProbe"]["path"] == "/health"
    for probe in probes.values():
        assert port_number(container, probe["port"]) == image_port()
    app = create_app(open_state(build_table(load_config_file(REPO / "routes.toml", {}))))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://pod") as http:
        for probe in probes.values():
            assert (await http.get(probe["path"])).status_code == 200, probe["path"]


def test_routes_toml_is_mounted_where_router_config_points() -> None:
    files = projected_files()
    assert files.get(config_path().name, ("", ""))[0] == "ConfigMap", (
        f"no ConfigMap key {config_path().name!r} in the volume mounted at {config_path().parent}")


def test_the_embedded_table_and_keys_file_pass_router_check(tmp_path: Path) -> None:
    routes = write_config_directory(tmp_path)
    env = environment_from_manifests(router_container())
    out, err = io.StringIO(), io.StringIO()
    code = run_check([str(routes)], env, out, err)
    assert code == 0, out.getvalue() + err.getvalue()
    loaded = load_config_file(routes, env)
    assert loaded.keys_file is not None, "the table reads its client keys from the Secret's file"
    assert Path(loaded.keys_file).name in projected_files(), "the keys file is not in the mounted directory"
    assert loaded.config.limits.backend == "redis", "replicas share limits, the response store and the cache"


def test_every_env_reference_is_set_from_the_manifests() -> None:
    names = set(env_references(tomllib.loads(embedded_routes())))
    env = environment_from_manifests(router_container())
    assert names and names <= set(env), f"routes.toml uses {sorted(names - set(env))} that the Deployment never sets"
    secrets = {entry["valueFrom"]["secretKeyRef"]["name"] for entry in container_env(router_container()).values()
               if "secretKeyRef" in entry.get("valueFrom", {})}
    assert secrets, "provider API keys come from a Secret"


def test_the_redis_url_names_a_service_in_the_manifests() -> None:
    url = httpx.URL(environment_from_manifests(router_container())["REDIS_URL"])
    service = one("Service", str(url.host))
    assert (url.port or 6379) in {port["port"] for port in service["spec"]["ports"]}


def pre_stop_sleep(container: Doc) -> float:
    """The preStop hook's sleep: the `sleep` action, or `exec: ["sleep", N]` on older clusters."""
    pre_stop = container["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        return float(pre_stop["sleep"]["seconds"])
    command = pre_stop["exec"]["command"]
    assert command[0] == "sleep", f"a preStop other than a sleep: {command}"
    return float(command[1])


def test_the_grace_period_covers_prestop_drain_delay_and_shutdown_timeout(tmp_path: Path) -> None:
    server = load_config_file(write_config_directory(tmp_path), environment_from_manifests(router_container())).config.server
    sleep = pre_stop_sleep(router_container())
    drain = server.drain_delay + server.shutdown_timeout
    grace = pod_spec(one("Deployment", ROUTER))["terminationGracePeriodSeconds"]
    assert sleep > 0, "the preStop sleep is what keeps serving while the endpoints update"
    assert grace >= sleep + drain + DRAIN_MARGIN, (grace, sleep, drain)
