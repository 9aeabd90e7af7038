"""The web front end in Kubernetes, as ``kubectl kustomize`` renders it (base and dev overlay):
the settings its Deployment gives it, read the way the web reads them (WebSettings), reach the
services by their cluster Services, make the site the public https address the mails link to,
point at a real OpenID provider, and sign with one client key from a Secret that only the web's
pods mount."""
import base64
import posixpath
from urllib.parse import urlsplit

import pytest

from services.web.oidc import client_key
from services.web.settings import WebSettings
from tests.deploy.test_deployment_files import (
    KUSTOMIZATIONS, PYTHON_SERVICES, REPO_ROOT, _kustomize, _of_kind,
)
from tests.deploy.test_k8s_ha import container_env, pcn_config

pytestmark = pytest.mark.deploy

UPSTREAMS = ("projects", "measurement", "training", "notifications")
KEY_SECRET = "pcn-web-oidc-client"
KEY_NAME = "client-key.pem"


@pytest.fixture(params=KUSTOMIZATIONS)
def rendered(request):
    return request.param, _kustomize(request.param)


def web_pod(docs):
    return _of_kind(docs, "Deployment")["web"]["spec"]["template"]["spec"]


def web_environment(docs):
    """The web container's environment as the kubelet makes it: pcn-config (envFrom), then its
    own variables over it."""
    [container] = web_pod(docs)["containers"]
    assert {"configMapRef": {"name": "pcn-config"}} in container["envFrom"]
    config = pcn_config(docs)
    return {**config, **container_env(web_pod(docs), "web", config)}


def web_settings(docs):
    return WebSettings.from_config(web_environment(docs))


def is_key_secret(name, kustomization):
    # The dev overlay generates it with a content-hash suffix.
    return name == KEY_SECRET or (kustomization != "k8s/base"
                                  and name.startswith(f"{KEY_SECRET}-"))


def test_the_web_reaches_each_service_by_its_cluster_service(rendered):
    _, docs = rendered
    settings = web_settings(docs)
    services = _of_kind(docs, "Service")
    for name in UPSTREAMS:
        port, _ = PYTHON_SERVICES[name]
        url = urlsplit(getattr(settings, f"{name}_url"))
        assert (url.scheme, url.hostname, url.port, url.path) == ("http", name, port, ""), url
        service = services[name]
        assert port in {p["port"] for p in service["spec"]["ports"]}, name
        pod_labels = _of_kind(docs, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items(), name


def test_the_site_is_the_public_https_address_the_mails_link_to(rendered):
    _, docs = rendered
    settings = web_settings(docs)
    assert settings.base_url == pcn_config(docs)["NOTIFICATIONS_WEB_URL"]
    assert urlsplit(settings.base_url).scheme == "https"
    assert settings.cookie_secure is True


def test_sign_in_is_configured_for_a_real_provider(rendered):
    _, docs = rendered
    settings = web_settings(docs)
    issuer = urlsplit(settings.oidc_issuer)
    assert issuer.scheme == "https", settings.oidc_issuer
    assert issuer.hostname not in ("localhost", "127.0.0.1", "oidc"), settings.oidc_issuer
    # People's browsers and the web reach CIS2 at the same address.
    assert settings.oidc_browser_url == settings.oidc_issuer
    assert web_environment(docs)["WEB_OIDC_CLIENT_ID"]


def test_every_web_replica_reads_one_client_key_from_a_read_only_secret_mount(rendered):
    kustomization, docs = rendered
    key_file = web_settings(docs).oidc_client_key_file
    assert key_file.startswith("/"), key_file
    pod = web_pod(docs)
    [container] = pod["containers"]
    [mount] = [m for m in container["volumeMounts"]
               if key_file.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mount["readOnly"] is True
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    secret = volume["secret"]
    assert is_key_secret(secret["secretName"], kustomization), secret
    in_mount = posixpath.relpath(key_file, mount["mountPath"])
    assert {"key": KEY_NAME, "path": in_mount} in secret["items"]
    # Readable by the pod's group (the image's user, fsGroup), by no one else.
    mode = secret.get("defaultMode", 0o644)
    assert mode & 0o040 and not mode & 0o007, oct(mode)
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
    assert not secret.get("optional"), "without the key, replicas would each make their own"


def test_no_other_workload_mounts_the_client_key(rendered):
    kustomization, docs = rendered
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, workload in _of_kind(docs, kind).items():
            if (kind, name) == ("Deployment", "web"):
                continue
            pod = workload["spec"]["template"]["spec"]
            sources = [v.get("secret", {}).get("secretName", "") for v in pod.get("volumes", [])]
            sources += [s.get("secret", {}).get("name", "") for v in pod.get("volumes", [])
                        for s in v.get("projected", {}).get("sources", [])]
            sources += [e.get("valueFrom", {}).get("secretKeyRef", {}).get("name", "")
                        for c in pod["containers"] for e in c.get("env", [])]
            assert not any(is_key_secret(s, kustomization) for s in sources), (kind, name)
            env = {e["name"] for c in pod["containers"] for e in c.get("env", [])}
            assert "WEB_OIDC_CLIENT_KEY_FILE" not in env, (kind, name)


def test_the_base_requires_the_key_secret_and_the_dev_overlay_generates_a_usable_one(tmp_path):
    base = _kustomize("k8s/base")
    assert not [n for n in _of_kind(base, "Secret") if is_key_secret(n, "overlay")]
    required = (REPO_ROOT / "k8s/base/kustomization.yaml").read_text().split(
        "REQUIRED, NOT CREATED HERE")
    assert any(f"`{KEY_SECRET}`" in part and KEY_NAME in part for part in required[1:])

    dev = _kustomize("k8s/overlays/dev")
    [(name, secret)] = [(n, s) for n, s in _of_kind(dev, "Secret").items()
                        if is_key_secret(n, "k8s/overlays/dev")]
    assert name in {v.get("secret", {}).get("secretName") for v in web_pod(dev)["volumes"]}
    assert set(secret["data"]) == {KEY_NAME}
    # What the web's client_key() reads from the mount: an RSA private key.
    pem = tmp_path / KEY_NAME
    pem.write_bytes(base64.b64decode(secret["data"][KEY_NAME]))
    assert client_key(str(pem)).as_dict(private=False)["kty"] == "RSA"
