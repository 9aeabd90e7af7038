"""Checks of the deployment files: docker-compose, Kubernetes, Prometheus.

These run the real tools offline (no Docker engine or cluster is needed):

* ``docker-compose`` (Debian package ``docker-compose``) validates and
  renders docker-compose.yml;
* ``kubectl kustomize`` renders k8s/base and k8s/overlays/dev;
* ``promtool`` (Debian package ``prometheus``) checks the Prometheus config
  and rules and runs the alert unit tests in rules.test.yml.

``make test`` installs them when it can (tools/prepare_tests.py); a tool that
cannot be had SKIPS the checks that need it, with the package to install as
the reason (pytest -rs prints it).
"""

import functools
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services import registry

pytestmark = pytest.mark.deploy

REPO_ROOT = Path(__file__).resolve().parents[2]

# How to get each tool, for the skip reason.
INSTALL_HINTS = {
    "docker-compose": "install the Debian package `docker-compose` "
    "(apt-get install -y docker-compose)",
    "promtool": "install the Debian package `prometheus`, which provides "
    "promtool (apt-get install -y prometheus)",
    "kubectl": "install the `kubectl` package, version 1.27 or newer "
    "(apt-get install -y kubectl, from the Kubernetes or Google Cloud SDK apt "
    "repository); Debian's own `kubernetes-client` 1.20 bundles kustomize v2, "
    "which is too old for these manifests",
}

# name: (HTTP port, nameko service class), from the one list (services/registry.py) of the
# services that exist in this checkout.
PYTHON_SERVICES = {
    service.name: (service.port, service.class_name) for service in registry.existing()
}

SERVICE_ENV = (
    "AMQP_URI",
    "PCN_OPS_KEY",
    "MONGO_URI",
    "WEB_SERVER_ADDRESS",
    "PCN_ADMIN_KEY",
    "LOG_LEVEL",
)

KUSTOMIZATIONS = ("k8s/base", "k8s/overlays/dev")


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` was not found on PATH: {INSTALL_HINTS[name]}")
    return path


def _run(name, *args):
    """Run a tool from the repository root; fail showing its output."""
    cmd = [_tool(name), *args]
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, (
        f"`{' '.join([name, *args])}` exited with {proc.returncode}\n"
        f"--- stderr ---\n{proc.stderr}\n--- stdout ---\n{proc.stdout}"
    )
    return proc


def _nameko_command(name):
    port, cls = PYTHON_SERVICES[name]
    return [
        "nameko",
        "run",
        "--config",
        "services/config.yaml",
        f"services.{name}.service:{cls}",
    ]


# --------------------------------------------------------------------------
# docker-compose
# --------------------------------------------------------------------------


# Rendered once per session; not fixtures, so that a missing tool shows up as
# a skip of the test that needs it rather than as an error in setup.
@functools.lru_cache(maxsize=None)
def _compose_config():
    proc = _run("docker-compose", "-f", "docker-compose.yml", "config")
    config = yaml.safe_load(proc.stdout)
    assert isinstance(config, dict) and "services" in config, proc.stdout
    return config


def _published_ports(service):
    """(published, target) pairs, whatever syntax the rendering uses."""
    pairs = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published = port.get("published")
            pairs.add(
                (int(published) if published is not None else None,
                 int(port["target"]))
            )
        else:
            parts = str(port).split("/")[0].split(":")
            pairs.add((int(parts[-2]) if len(parts) > 1 else None,
                       int(parts[-1])))
    return pairs


def test_compose_config_is_valid():
    _run("docker-compose", "-f", "docker-compose.yml", "config", "-q")


def test_compose_file_uses_no_legacy_keys():
    raw = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert "version" not in raw, "drop the obsolete top-level `version:` key"
    for name, service in raw["services"].items():
        assert "links" not in service, f"{name} uses legacy `links`"


def test_compose_services():
    compose_config = _compose_config()
    services = compose_config["services"]
    assert set(services) >= {
        "rabbitmq", "mongo", "projects", "measurement", "prometheus", "grafana"
    }, sorted(services)
    assert set(PYTHON_SERVICES) <= set(services), sorted(services)
    for name in {s.name for s in registry.SERVICES} - set(PYTHON_SERVICES):
        assert name not in services, f"{name} does not exist yet"


def test_compose_every_service_has_a_healthcheck():
    compose_config = _compose_config()
    for name, service in compose_config["services"].items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        assert check.get("test"), f"{name} healthcheck has no test"
        assert check["test"] != ["NONE"], f"{name} healthcheck is NONE"


def test_compose_rabbitmq_enables_plugins():
    compose_config = _compose_config()
    rabbit = compose_config["services"]["rabbitmq"]
    assert rabbit["image"].startswith("rabbitmq:3.10-management")
    mounts = [str(v.get("target") if isinstance(v, dict) else v)
              for v in rabbit.get("volumes", [])]
    assert any("/etc/rabbitmq/enabled_plugins" in m for m in mounts), mounts
    plugins = (REPO_ROOT / "deploy/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins
    assert "rabbitmq_prometheus" in plugins
    assert plugins.strip().endswith("].")


@pytest.mark.parametrize("name", sorted(PYTHON_SERVICES))
def test_compose_python_service(name):
    compose_config = _compose_config()
    port, _ = PYTHON_SERVICES[name]
    service = compose_config["services"][name]

    depends = service.get("depends_on")
    assert isinstance(depends, dict), (
        f"{name}: depends_on must use the long form with conditions"
    )
    for dependency in ("rabbitmq", "mongo"):
        assert dependency in depends, f"{name} does not depend on {dependency}"
        assert depends[dependency].get("condition") == "service_healthy", (
            f"{name} -> {dependency}: condition must be service_healthy"
        )

    assert (port, port) in _published_ports(service), service.get("ports")

    assert "build" in service, f"{name} is not built from the Dockerfile"
    assert service["command"] == _nameko_command(name)

    env = service.get("environment", {})
    for variable in SERVICE_ENV:
        assert env.get(variable), f"{name} lacks {variable}"
    assert env["WEB_SERVER_ADDRESS"].endswith(f":{port}")

    test = " ".join(service["healthcheck"]["test"])
    assert "/ready" in test and f":{port}" in test, test


def test_dockerfile_is_slim_pinned_and_non_root():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in dockerfile.splitlines()]
    assert any(line.startswith("FROM python:3.11-slim") for line in lines)
    assert "-c constraints.txt" in dockerfile
    users = [line.split(None, 1)[1] for line in lines
             if line.startswith("USER ")]
    assert users, "the image must switch to a non-root USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    instructions = [line for line in lines if not line.startswith("#")]
    assert not any("backdoor" in line for line in instructions), (
        "no nameko backdoor port in the image"
    )
    ignore = (REPO_ROOT / ".dockerignore").read_text().split()
    assert ".git" in ignore and ".venv" in ignore


# --------------------------------------------------------------------------
# Kubernetes (kustomize)
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _kustomize(kustomization):
    proc = _run("kubectl", "kustomize", kustomization)
    docs = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    assert docs, f"kubectl kustomize {kustomization} rendered nothing"
    return docs


def _of_kind(docs, kind):
    return {doc["metadata"]["name"]: doc for doc in docs
            if doc.get("kind") == kind}


def _secret_refs(pod_spec):
    refs = set()
    for container in pod_spec.get("containers", []):
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                # An optional key may be left out of the Secret (None: no key required).
                refs.add((ref["name"], None if ref.get("optional") else ref["key"]))
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                refs.add((source["secretRef"]["name"], None))
    return refs


def _is_pcn_secret(name, kustomization):
    if kustomization == "k8s/base":
        return name == "pcn-secrets"
    # Overlays may generate it with a content-hash suffix.
    return name == "pcn-secrets" or name.startswith("pcn-secrets-")


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_kustomize_uses_no_deprecated_api_versions(kustomization):
    docs = _kustomize(kustomization)
    for doc in docs:
        api = doc.get("apiVersion", "")
        assert "beta" not in api and "alpha" not in api, (
            f"{doc.get('kind')}/{doc['metadata']['name']} uses {api}"
        )
        if doc["kind"] in ("Deployment", "StatefulSet"):
            assert api == "apps/v1"


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_kustomize_deployments(kustomization):
    docs = _kustomize(kustomization)
    deployments = _of_kind(docs, "Deployment")
    # Besides the services, only the dev overlay's Mailpit (a mail catcher, never a service).
    extra = {"mailpit"} if kustomization == "k8s/overlays/dev" else set()
    assert set(deployments) == set(PYTHON_SERVICES) | extra, sorted(deployments)
    settings = _of_kind(docs, "ConfigMap")["pcn-config"]["data"]
    assert {"SMTP_HOST", "SMTP_PORT", "SMTP_SENDER", "NOTIFICATIONS_BASE_URL",
            "NOTIFICATIONS_WEB_URL"} <= set(settings)
    if extra:
        assert settings["SMTP_HOST"] == "mailpit" and "mailpit" in _of_kind(docs, "Service")

    for name, deployment in deployments.items():
        if name in extra:
            continue
        port, _ = PYTHON_SERVICES[name]
        pod = deployment["spec"]["template"]["spec"]
        assert pod.get("securityContext", {}).get("runAsNonRoot") is True, (
            f"{name}: pod must run as non-root"
        )
        containers = pod["containers"]
        assert len(containers) == 1, name
        container = containers[0]
        assert container["command"] == _nameko_command(name)

        liveness = container.get("livenessProbe", {}).get("httpGet", {})
        readiness = container.get("readinessProbe", {}).get("httpGet", {})
        assert liveness.get("path") == "/health", f"{name}: liveness probe"
        assert readiness.get("path") == "/ready", f"{name}: readiness probe"
        assert container.get("startupProbe"), f"{name}: startup probe"

        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(section, {})), (
                f"{name}: resources.{section} needs cpu and memory"
            )

        ports = {p["containerPort"] for p in container.get("ports", [])}
        assert port in ports, f"{name}: container port {port}"

        assert {"configMapRef": {"name": "pcn-config"}} in container.get("envFrom", []), (
            f"{name}: the services' settings (pcn-config) are not its environment")
        env_names = {env["name"] for env in container.get("env", [])}
        missing = set(SERVICE_ENV) - env_names
        assert not missing, f"{name}: env lacks {sorted(missing)}"

        refs = _secret_refs(pod)
        assert any(_is_pcn_secret(secret, kustomization)
                   for secret, _ in refs), (
            f"{name} does not reference the pcn-secrets Secret: {refs}"
        )
        assert any(key == "PCN_ADMIN_KEY" for _, key in refs), refs


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_kustomize_services_are_scraped(kustomization):
    docs = _kustomize(kustomization)
    services = _of_kind(docs, "Service")
    for name, (port, _) in PYTHON_SERVICES.items():
        service = services[name]
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
        assert port in {p["port"] for p in service["spec"]["ports"]}
        annotations = service["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/port") == str(port), name


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_kustomize_stateful_backends(kustomization):
    docs = _kustomize(kustomization)
    statefulsets = _of_kind(docs, "StatefulSet")
    services = _of_kind(docs, "Service")
    for name in ("rabbitmq", "mongo"):
        assert name in statefulsets, f"no StatefulSet {name}"
        spec = statefulsets[name]["spec"]
        assert spec.get("volumeClaimTemplates"), f"{name}: no PVC template"
        headless = services[spec["serviceName"]]
        assert headless["spec"].get("clusterIP") == "None", (
            f"{name}: governing Service must be headless"
        )

    rabbit_pod = statefulsets["rabbitmq"]["spec"]["template"]["spec"]
    mounts = [m["mountPath"] for c in rabbit_pod["containers"]
              for m in c.get("volumeMounts", [])]
    assert "/etc/rabbitmq/enabled_plugins" in mounts, mounts
    configmaps = _of_kind(docs, "ConfigMap")
    plugin_maps = [cm for cm in configmaps.values()
                   if "enabled_plugins" in cm.get("data", {})]
    assert plugin_maps, "no ConfigMap carries enabled_plugins"
    assert "rabbitmq_prometheus" in plugin_maps[0]["data"]["enabled_plugins"]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_kustomize_secrets(kustomization):
    docs = _kustomize(kustomization)
    assert "pcn-config" in _of_kind(docs, "ConfigMap")
    secrets = _of_kind(docs, "Secret")
    pcn_secrets = {name: s for name, s in secrets.items()
                   if _is_pcn_secret(name, "overlay")}
    if kustomization == "k8s/base":
        assert not pcn_secrets, "the base must not create pcn-secrets"
        return

    assert len(pcn_secrets) == 1, sorted(secrets)
    (secret_name, secret), = pcn_secrets.items()
    keys = set(secret.get("data", {})) | set(secret.get("stringData", {}))
    workloads = list(_of_kind(docs, "Deployment").values()) + list(
        _of_kind(docs, "StatefulSet").values()
    )
    for workload in workloads:
        for name, key in _secret_refs(workload["spec"]["template"]["spec"]):
            assert name == secret_name, (
                f"{workload['metadata']['name']} refers to {name}, "
                f"but the overlay generates {secret_name}"
            )
            assert key is None or key in keys, (
                f"{workload['metadata']['name']} needs {key} in {secret_name}"
            )


# --------------------------------------------------------------------------
# Prometheus
# --------------------------------------------------------------------------


def test_promtool_check_config():
    _run("promtool", "check", "config", "deploy/prometheus/prometheus.yml")


def test_prometheus_scrapes_every_target():
    config = yaml.safe_load(
        (REPO_ROOT / "deploy/prometheus/prometheus.yml").read_text()
    )
    targets = {
        target
        for job in config["scrape_configs"]
        if job.get("metrics_path", "/metrics") == "/metrics"
        for static in job.get("static_configs", [])
        for target in static.get("targets", [])
    }
    assert {"projects:8001", "measurement:8002", "rabbitmq:15692"} <= targets
    assert "rules.yml" in config.get("rule_files", [])


def test_promtool_check_rules():
    _run("promtool", "check", "rules", "deploy/prometheus/rules.yml")


def test_alert_rules_are_labelled_and_annotated():
    rules = yaml.safe_load(
        (REPO_ROOT / "deploy/prometheus/rules.yml").read_text()
    )
    alerts = [rule for group in rules["groups"] for rule in group["rules"]
              if "alert" in rule]
    assert len(alerts) >= 5, [a["alert"] for a in alerts]
    for alert in alerts:
        assert alert.get("labels", {}).get("severity"), alert["alert"]
        annotations = alert.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), (
            alert["alert"]
        )
    expressions = " ".join(alert["expr"] for alert in alerts)
    for metric in (
        "up",
        "pcn_outbox_oldest_age_seconds",
        "pcn_events_dead_lettered_total",
        "pcn_entrypoint_calls_total",
        "pcn_entrypoint_duration_seconds",
        "pcn_readiness_check",
        "rabbitmq_detailed_queue_messages",
        "rabbitmq_detailed_queue_consumers",
    ):
        uses = metric in expressions or any(
            metric in rule.get("expr", "")
            for group in rules["groups"] for rule in group["rules"]
        )
        assert uses, f"no rule uses {metric}"


def test_promtool_test_rules():
    _run("promtool", "test", "rules", "deploy/prometheus/rules.test.yml")
