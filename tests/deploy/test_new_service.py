"""tools/new_service.py in a copy of the repository: the skeleton it writes passes its own unit
and integration tests, starts with tools/dev.py (``make dev``) and answers /health and /ready,
and is in compose, Kubernetes and Prometheus with no other edit."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests
import yaml
from nameko.testing.utils import find_free_port

from tests.conftest import ADMIN_KEY
from tests.deploy.test_deployment_files import REPO_ROOT, _of_kind, _published_ports, _run

pytestmark = pytest.mark.deploy

# What a checkout needs to generate, test, run and deploy a service.
COPIED = ("services", "shared", "analytics", "tools", "tests", "k8s", "deploy",
          "docker-compose.yml", "Dockerfile", ".dockerignore", "pytest.ini", "pyproject.toml")
NAME = "referrals"


def run_in(root, *args, timeout=300):
    proc = subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A copy of the repository with the service NAME generated on a free port."""
    root = tmp_path_factory.mktemp("checkout")
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc")
    for path in COPIED:
        source = REPO_ROOT / path
        if source.is_dir():
            shutil.copytree(source, root / path, ignore=ignore)
        else:
            shutil.copy(source, root / path)
    port = find_free_port()
    output = run_in(root, "-m", "tools.new_service", NAME, str(port))
    assert f"wrote services/{NAME}/service.py" in output
    return root, port


def test_it_refuses_a_taken_name_or_port_and_writes_nothing(generated):
    root, port = generated
    before = (root / "services/registry.py").read_text()
    for args in ((NAME, "8101"), ("other", str(port)), ("Bad_Name", "8102")):
        proc = subprocess.run([sys.executable, "-m", "tools.new_service", *args], cwd=root,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "not written" in proc.stderr, proc.stderr
    assert (root / "services/registry.py").read_text() == before
    assert not (root / "services/other").exists()


def test_its_generated_tests_pass(generated):
    root, _ = generated
    output = run_in(root, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"tests/unit/{NAME}", f"tests/integration/test_{NAME}_api.py")
    assert " passed" in output and "failed" not in output, output


def test_the_deploy_checks_pass_with_it(generated):
    root, _ = generated
    run_in(root, "-m", "tools.deployment", "--check")
    output = run_in(root, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "tests/deploy/test_registry.py", "tests/deploy/test_deployment_files.py",
                    "tests/deploy/test_k8s_ha.py")
    assert "failed" not in output, output


def test_it_is_in_compose_kubernetes_and_prometheus_with_its_port(generated):
    root, port = generated
    compose = yaml.safe_load(_run("docker-compose", "-f", str(root / "docker-compose.yml"),
                                  "config").stdout)["services"][NAME]
    assert (port, port) in _published_ports(compose)
    docs = [doc for doc in yaml.safe_load_all(
        _run("kubectl", "kustomize", str(root / "k8s/base")).stdout) if doc]
    [container] = _of_kind(docs, "Deployment")[NAME]["spec"]["template"]["spec"]["containers"]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    prometheus = yaml.safe_load((root / "deploy/prometheus/prometheus.yml").read_text())
    assert {"job_name": NAME, "targets": [f"{NAME}:{port}"]} in [
        {"job_name": job["job_name"], "targets": job["static_configs"][0]["targets"]}
        for job in prometheus["scrape_configs"] if job.get("static_configs")]


def test_it_starts_with_make_dev_and_answers_health_and_ready(generated):
    root, port = generated
    env = {**os.environ, "PCN_ADMIN_KEY": ADMIN_KEY, "MONGO_URI": "mongomock://new-service",
           "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "tools.dev", NAME], cwd=root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/ready", timeout=2)
                if ready.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, "it never became ready"
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
        assert health == {"status": "ok", "service": NAME}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
