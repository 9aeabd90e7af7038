"""The registry of services (services/registry.py) against the deployment files: every service
that exists is in docker-compose, in Kubernetes (``kubectl kustomize``) and in Prometheus with its
port, and those files are exactly what tools/deployment.py writes from the registry, so nothing
is hand-edited out of step. A service added to a copy of the files shows the templates at work."""
import shutil

import pytest
import yaml

from services import registry
from tests.deploy.test_deployment_files import (
    KUSTOMIZATIONS, REPO_ROOT, _compose_config, _kustomize, _of_kind, _published_ports, _run,
)
from tools import deployment

pytestmark = pytest.mark.deploy

EXISTING = registry.existing()

# Ports the rest of the stack publishes or listens on (compose and k8s).
OTHER_PORTS = {5672, 15672, 15692, 27017, 9090, 3000, 4369, 25672}


def scrape_targets(prometheus_config):
    """{job name: targets} of the jobs that scrape /metrics with the ops key (the services)."""
    return {
        job["job_name"]: [target for static in job.get("static_configs", [])
                          for target in static["targets"]]
        for job in prometheus_config["scrape_configs"]
        if job.get("authorization", {}).get("credentials_file") == "ops-key"
    }


def test_registry_names_and_ports_are_unique_and_usable():
    names = [service.name for service in registry.SERVICES]
    ports = [service.port for service in registry.SERVICES]
    assert len(set(names)) == len(names), names
    assert len(set(ports)) == len(ports), ports
    assert not set(ports) & OTHER_PORTS, ports
    for service in registry.SERVICES:
        # A Python package, a queue prefix and a DNS label (compose and Kubernetes) at once.
        assert registry.NAME.fullmatch(service.name), service.name
        assert service.class_name.isidentifier(), service.class_name
    assert [s.name for s in EXISTING] >= ["projects", "measurement"]


def test_deployment_files_are_in_step_with_the_registry():
    assert deployment.stale() == [], (
        "run `python -m tools.deployment` to write the services' parts from services/registry.py")


@pytest.mark.parametrize("service", EXISTING, ids=lambda service: service.name)
def test_every_service_is_in_compose_with_its_port(service):
    rendered = _compose_config()["services"][service.name]
    assert (service.port, service.port) in _published_ports(rendered)
    assert rendered["command"] == service.command
    assert rendered["environment"]["WEB_SERVER_ADDRESS"] == f"0.0.0.0:{service.port}"


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_service_is_in_kubernetes_with_its_port(kustomization):
    docs = _kustomize(kustomization)
    deployments, services = _of_kind(docs, "Deployment"), _of_kind(docs, "Service")
    # The dev overlay adds Mailpit, a mail catcher that is not a service.
    assert set(deployments) - {"mailpit"} == {s.name for s in EXISTING}
    assert not _of_kind(docs, "PcnService"), "the values are local config, never rendered"
    for service in EXISTING:
        [container] = deployments[service.name]["spec"]["template"]["spec"]["containers"]
        assert container["name"] == service.name
        assert container["command"] == service.command
        assert [p["containerPort"] for p in container["ports"]] == [service.port]
        env = {variable["name"]: variable.get("value") for variable in container["env"]}
        assert env["WEB_SERVER_ADDRESS"] == f"0.0.0.0:{service.port}"
        assert [p["port"] for p in services[service.name]["spec"]["ports"]] == [service.port]
        for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
            assert service.name in _of_kind(docs, kind), (kind, service.name)


def test_every_service_is_scraped_by_prometheus_with_its_port():
    config = yaml.safe_load((REPO_ROOT / deployment.PROMETHEUS).read_text())
    assert scrape_targets(config) == {
        service.name: [f"{service.name}:{service.port}"] for service in EXISTING}


@pytest.fixture
def copy_with_a_new_service(tmp_path):
    """A copy of the deployment files with one more service written into them (the registry
    itself is untouched)."""
    for path in ("docker-compose.yml", "Dockerfile", "k8s", "deploy"):
        source = REPO_ROOT / path
        if source.is_dir():
            shutil.copytree(source, tmp_path / path)
        else:
            shutil.copy(source, tmp_path / path)
    # A name and a port no registered service has, so the copy gains exactly one service.
    port = max(service.port for service in registry.SERVICES) + 1
    added = registry.RegisteredService("deploycheck", port, "DeploycheckService")
    written = deployment.write(root=tmp_path, services=[*EXISTING, added])
    return tmp_path, added, written


def test_a_new_service_is_written_into_every_deployment_file(copy_with_a_new_service):
    root, added, written = copy_with_a_new_service
    assert sorted(written) == sorted([
        deployment.COMPOSE, deployment.KUSTOMIZATION, deployment.PROMETHEUS,
        f"k8s/services/{added.name}/kustomization.yaml", f"k8s/services/{added.name}/service.yaml",
    ])
    config = yaml.safe_load((root / deployment.PROMETHEUS).read_text())
    assert scrape_targets(config)[added.name] == [f"{added.name}:{added.port}"]
    # The wiring a service adds stays small: its lines in the shared files, its k8s values and
    # its registry entry (one line), under 30 in all.
    added_lines = 1 + sum(
        len((root / path).read_text().splitlines())
        - len((REPO_ROOT / path).read_text().splitlines())
        for path in (deployment.COMPOSE, deployment.KUSTOMIZATION, deployment.PROMETHEUS))
    added_lines += sum(len((root / path).read_text().splitlines())
                       for path in written if path.startswith(deployment.K8S_SERVICES))
    assert added_lines < 30, added_lines

    # Written again, nothing changes; without the service, its k8s folder goes.
    assert deployment.write(root=root, services=[*EXISTING, added]) == []
    deployment.write(root=root, services=EXISTING)
    assert not (root / f"k8s/services/{added.name}").exists()
    for path in (deployment.COMPOSE, deployment.KUSTOMIZATION, deployment.PROMETHEUS):
        assert (root / path).read_text() == (REPO_ROOT / path).read_text(), path


def test_a_new_service_renders_in_compose_and_kubernetes(copy_with_a_new_service):
    root, added, _ = copy_with_a_new_service
    proc = _run("docker-compose", "-f", str(root / "docker-compose.yml"), "config")
    compose = yaml.safe_load(proc.stdout)["services"][added.name]
    assert (added.port, added.port) in _published_ports(compose)
    assert compose["command"] == added.command
    assert f":{added.port}/ready" in " ".join(compose["healthcheck"]["test"])
    assert compose["depends_on"]["rabbitmq"]["condition"] == "service_healthy"

    docs = [doc for doc in yaml.safe_load_all(
        _run("kubectl", "kustomize", str(root / "k8s/overlays/dev")).stdout) if doc]
    deployment_doc = _of_kind(docs, "Deployment")[added.name]
    [container] = deployment_doc["spec"]["template"]["spec"]["containers"]
    assert container["command"] == added.command
    assert [p["containerPort"] for p in container["ports"]] == [added.port]
    annotations = _of_kind(docs, "Service")[added.name]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(added.port)
    autoscaler = _of_kind(docs, "HorizontalPodAutoscaler")[added.name]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == added.name
    budget = _of_kind(docs, "PodDisruptionBudget")[added.name]
    assert budget["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == added.name
