"""Sign-in in the compose stack: the local OpenID provider is a compose service (its own stage
of the Dockerfile), the web reaches it by its compose name and sends the browser to its port
published on the host's loopback (WEB_OIDC_BROWSER_URL), and the site's own address is the one
the browser uses (the sign-in comes back there)."""
import re

import pytest
import yaml

from tests.deploy.test_deployment_files import REPO_ROOT, _compose_config, _published_ports

pytestmark = pytest.mark.deploy


def test_the_provider_is_a_compose_service_on_loopback_only():
    oidc = _compose_config()["services"]["oidc"]
    assert oidc["build"]["target"] == "oidc-provider"
    assert oidc["command"] == [
        "python", "-m", "tools.oidc_provider", "--host", "0.0.0.0", "--port", "9400",
        "--client-jwks-url", "http://web:8005/oidc/jwks.json"]
    assert _published_ports(oidc) == {(9400, 9400)}
    published = [p if isinstance(p, str) else p.get("host_ip") for p in oidc["ports"]]
    assert all(str(p).startswith("127.0.0.1") for p in published), oidc["ports"]
    assert "/.well-known/openid-configuration" in " ".join(oidc["healthcheck"]["test"])
    assert oidc["restart"] == _compose_config()["services"]["projects"]["restart"]


def test_the_web_talks_to_the_provider_by_name_and_sends_the_browser_to_its_port():
    web = _compose_config()["services"]["web"]
    env = web["environment"]
    assert env["WEB_OIDC_ISSUER"] == "http://oidc:9400"
    assert env["WEB_OIDC_BROWSER_URL"] == "http://127.0.0.1:9400"
    # The redirect_uri is WEB_BASE_URL + /auth/callback: the site as the browser reaches it.
    assert env["WEB_BASE_URL"] == "http://127.0.0.1:8005"
    assert (8005, 8005) in _published_ports(web)
    for name, port in (("projects", 8001), ("measurement", 8002), ("training", 8003),
                       ("notifications", 8004)):
        assert env[f"WEB_{name.upper()}_URL"] == f"http://{name}:{port}"
    assert web["depends_on"]["oidc"] == {"condition": "service_healthy"}
    for dependency in ("rabbitmq", "mongo"):
        assert web["depends_on"][dependency] == {"condition": "service_healthy"}


def test_the_provider_image_installs_its_own_requirements_and_the_services_image_stays_last():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", dockerfile, re.MULTILINE)
    names = [name for _, name in stages]
    assert "oidc-provider" in names
    assert names[-1] == "", "a build without a target must still make the services' image"
    provider_stage = dockerfile.split("AS oidc-provider", 1)[1].split("\nFROM ", 1)[0]
    assert "COPY tools/oidc_provider/requirements.txt" in provider_stage
    assert "pip install -r" in provider_stage
    assert re.search(r"^USER \$\{APP_UID\}", provider_stage, re.MULTILINE), "runs as non-root"
    requirements = (REPO_ROOT / "tools/oidc_provider/requirements.txt").read_text()
    assert re.search(r"^oidc-provider-mock==", requirements, re.MULTILINE)


def test_kubernetes_keeps_the_real_provider_shape():
    """No mock provider in k8s/: the cluster is configured for CIS2 by its own settings."""
    for path in (REPO_ROOT / "k8s").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            assert "oidc_provider" not in yaml.safe_dump(doc or {}), path
