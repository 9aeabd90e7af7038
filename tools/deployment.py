"""Write the services' parts of the deployment files from services/registry.py:
``python -m tools.deployment`` (``--check``: only say which files are out of step, exit 1).

Every registered service whose code exists gets, from its name, port and class:

- docker-compose.yml: a few lines on the ``x-service`` template, between the service markers;
- k8s/services/<name>/: its values (name, port, nameko target) for the kustomize component
  k8s/components/pcn-service, listed in k8s/base/kustomization.yaml between the markers;
- deploy/prometheus/prometheus.yml: its scrape job, between the markers.

What lies outside the markers is written by hand and left as it is. tools/new_service.py runs
this after adding a registry entry; tests/deploy/test_registry.py fails when a file is stale.
"""
import argparse
import pathlib
import shutil
import sys

from services import registry

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

BEGIN = "# --- services from services/registry.py: python -m tools.deployment writes this part ---"
END = "# --- end of the services from services/registry.py ---"

COMPOSE = "docker-compose.yml"
KUSTOMIZATION = "k8s/base/kustomization.yaml"
PROMETHEUS = "deploy/prometheus/prometheus.yml"
K8S_SERVICES = "k8s/services"


# What a service needs in compose beyond the template, by name: its own settings (an anchor
# written by hand in docker-compose.yml, outside the markers) and the compose services it waits
# for besides RabbitMQ and MongoDB. The web reaches the OpenID provider and the services by
# their compose names, and is reached by the browser at its published ports.
COMPOSE_EXTRAS = {"web": ("web-env", ("oidc",))}


def compose_service(service):
    """The compose block of one service: the template plus what differs (2-space indent)."""
    ready = f"http://127.0.0.1:{service.port}/ready"
    own_env, waits_for = COMPOSE_EXTRAS.get(service.name, (None, ()))
    env = f"[*service-env, *{own_env}]" if own_env else "*service-env"
    waits = "".join(f", {name}: {{condition: service_healthy}}" for name in waits_for)
    depends_on = f"    depends_on: {{<<: *service-depends-on{waits}}}\n" if waits_for else ""
    return f"""\
  {service.name}:
    <<: *service
    command: [{", ".join(service.command)}]
    environment: {{<<: {env}, WEB_SERVER_ADDRESS: "0.0.0.0:{service.port}"}}
{depends_on}    ports: ["{service.port}:{service.port}"]
    healthcheck:
      <<: *service-healthcheck
      test: [CMD, python, -c, "import urllib.request; urllib.request.urlopen('{ready}', timeout=3)"]
"""


def prometheus_job(service):
    """The scrape job of one service: its /metrics with the ops key."""
    return f"""\
  - job_name: {service.name}
    metrics_path: /metrics
    authorization: {{credentials_file: ops-key}}
    static_configs: [{{targets: ["{service.name}:{service.port}"]}}]
"""


def kustomization_entry(service):
    return f"  - ../services/{service.name}\n"


def k8s_values(service):
    """k8s/services/<name>/: the component k8s/components/pcn-service applied to the service's
    values (a local-config PcnService: read by the component's replacements, never rendered)."""
    kustomization = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [service.yaml]
components: [../../components/pcn-service]
"""
    values = f"""\
apiVersion: pcn.local/v1
kind: PcnService
metadata:
  name: {service.name}
  annotations:
    config.kubernetes.io/local-config: "true"
spec:
  port: {service.port}
  target: {service.target}
"""
    return {f"{K8S_SERVICES}/{service.name}/kustomization.yaml": kustomization,
            f"{K8S_SERVICES}/{service.name}/service.yaml": values}


def between_markers(text, path, generated):
    """``text`` with the lines between BEGIN and END (kept, with their indentation) replaced."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"{path}: expected one '{BEGIN}' line, then one '{END}' line")
    return "".join(lines[:starts[0] + 1]) + generated + "".join(lines[ends[0]:])


def rendered(root=REPO_ROOT, services=None):
    """{path relative to root: text} of every file this tool writes, for ``services``
    (default: the registered services that exist)."""
    services = registry.existing() if services is None else services
    files = {
        COMPOSE: "\n".join(compose_service(s) for s in services),
        KUSTOMIZATION: "".join(kustomization_entry(s) for s in services),
        PROMETHEUS: "\n".join(prometheus_job(s) for s in services),
    }
    files = {path: between_markers((root / path).read_text(), path, generated)
             for path, generated in files.items()}
    for service in services:
        files.update(k8s_values(service))
    return files


def leftover_k8s_services(root, services):
    """k8s/services/<name>/ folders of services no longer registered or present."""
    names = {service.name for service in services}
    folder = root / K8S_SERVICES
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in names) \
        if folder.exists() else []


def stale(root=REPO_ROOT, services=None):
    """Paths (relative to root) whose content differs from what this tool would write."""
    services = registry.existing() if services is None else services
    out_of_step = [path for path, text in rendered(root, services).items()
                   if not (root / path).exists() or (root / path).read_text() != text]
    return out_of_step + [str(p.relative_to(root))
                          for p in leftover_k8s_services(root, services)]


def write(root=REPO_ROOT, services=None):
    """Write every out-of-step file; returns the paths written or removed."""
    services = registry.existing() if services is None else services
    changed = stale(root, services)
    for path, text in rendered(root, services).items():
        if path in changed:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
    for folder in leftover_k8s_services(root, services):
        shutil.rmtree(folder)
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only list the files out of step with the registry")
    args = parser.parse_args(argv)
    if args.check:
        out_of_step = stale()
        for path in out_of_step:
            print(f"{path} is out of step with services/registry.py")
        return 1 if out_of_step else 0
    for path in write():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
