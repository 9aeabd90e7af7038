"""High availability in the Kubernetes manifests, as ``kubectl kustomize`` renders them (base and
dev overlay): RabbitMQ as a 3-node cluster with peer discovery, MongoDB as a 3-member replica set
written with w=majority, services with 2+ replicas, an autoscaler and a disruption budget each,
and connection URIs that list every node."""
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.broker_uris import node_addresses
from tests.deploy.test_deployment_files import (
    KUSTOMIZATIONS, PYTHON_SERVICES, _is_pcn_secret, _kustomize, _of_kind,
)

pytestmark = pytest.mark.deploy

REPLICAS = 3


def container_env(pod_spec, container_name, config_map):
    """The container's environment with configMap references and $(VAR) expansions resolved
    as the kubelet resolves them; secrets stand as ``<secret:KEY>``."""
    [container] = [c for c in pod_spec["containers"] if c["name"] == container_name]
    env = {}
    for variable in container.get("env", []):
        if "value" in variable:
            value = variable["value"]
            for name, known in env.items():
                value = value.replace(f"$({name})", known)
        else:
            source = variable["valueFrom"]
            if "configMapKeyRef" in source:
                value = config_map[source["configMapKeyRef"]["key"]]
            elif "secretKeyRef" in source:
                value = f"<secret:{source['secretKeyRef']['key']}>"
            else:
                value = f"<field:{source['fieldRef']['fieldPath']}>"
        env[variable["name"]] = value
    return env


@pytest.fixture(params=KUSTOMIZATIONS)
def rendered(request):
    return _kustomize(request.param)


def pcn_config(docs):
    return _of_kind(docs, "ConfigMap")["pcn-config"]["data"]


def test_rabbitmq_is_a_three_node_cluster_with_peer_discovery(rendered):
    rabbit = _of_kind(rendered, "StatefulSet")["rabbitmq"]
    spec = rabbit["spec"]
    assert spec["replicas"] == REPLICAS
    assert spec["podManagementPolicy"] == "Parallel"
    service = _of_kind(rendered, "Service")[spec["serviceName"]]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True

    plugins = _of_kind(rendered, "ConfigMap")["rabbitmq-config"]["data"]
    assert "rabbitmq_peer_discovery_k8s" in plugins["enabled_plugins"]
    assert ("cluster_formation.peer_discovery_backend = rabbit_peer_discovery_k8s"
            in plugins["cluster.conf"])
    pod = spec["template"]["spec"]
    mounts = {m["mountPath"]: m.get("subPath") for c in pod["containers"]
              for m in c.get("volumeMounts", [])}
    assert mounts["/etc/rabbitmq/conf.d/20-cluster.conf"] == "cluster.conf"
    env = container_env(pod, "rabbitmq", pcn_config(rendered))
    assert env["RABBITMQ_USE_LONGNAME"] == "true"
    assert env["RABBITMQ_NODENAME"].startswith("rabbit@<field:metadata.name>.rabbitmq.")
    assert env["K8S_HOSTNAME_SUFFIX"].startswith(".rabbitmq.")

    # Peer discovery reads the endpoints of its Service through the API.
    assert pod["serviceAccountName"] == "rabbitmq" and pod["automountServiceAccountToken"]
    [role] = [r for r in _of_kind(rendered, "Role").values()
              if any("endpoints" in rule["resources"] for rule in r["rules"])]
    [binding] = [b for b in _of_kind(rendered, "RoleBinding").values()
                 if b["roleRef"]["name"] == role["metadata"]["name"]]
    assert {"kind": "ServiceAccount", "name": "rabbitmq"} in binding["subjects"]

    # One Erlang cookie, from pcn-secrets, for every node.
    [cookie] = [v for v in pod["volumes"] if v["name"] == "erlang-cookie"]
    assert _is_pcn_secret(cookie["secret"]["secretName"], "overlay")
    assert [i["key"] for i in cookie["secret"]["items"]] == ["RABBITMQ_ERLANG_COOKIE"]


def test_dev_overlay_generates_the_erlang_cookie():
    docs = _kustomize("k8s/overlays/dev")
    [secret] = [s for name, s in _of_kind(docs, "Secret").items()
                if _is_pcn_secret(name, "overlay")]
    assert "RABBITMQ_ERLANG_COOKIE" in secret["data"]
    pod = _of_kind(docs, "StatefulSet")["rabbitmq"]["spec"]["template"]["spec"]
    [cookie] = [v for v in pod["volumes"] if v["name"] == "erlang-cookie"]
    assert cookie["secret"]["secretName"] == secret["metadata"]["name"]


def test_mongo_is_a_three_member_replica_set_with_an_init_job(rendered):
    mongo = _of_kind(rendered, "StatefulSet")["mongo"]
    assert mongo["spec"]["replicas"] == REPLICAS
    [container] = mongo["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--replSet") + 1] == "rs0"
    assert _of_kind(rendered, "Service")["mongo"]["spec"]["publishNotReadyAddresses"] is True

    [job] = _of_kind(rendered, "Job").values()
    [initiate] = job["spec"]["template"]["spec"]["containers"]
    script = initiate["command"][-1]
    assert "rs.initiate" in script and "NotYetInitialized" in script
    members = {e["name"]: e["value"] for e in initiate["env"]}["MEMBERS"].split()
    assert members == [f"mongo-{i}.mongo:27017" for i in range(REPLICAS)]


def test_services_write_to_the_replica_set_with_majority(rendered):
    uri = urlsplit(pcn_config(rendered)["MONGO_URI"])
    hosts = uri.netloc.split(",")
    assert hosts == [f"mongo-{i}.mongo:27017" for i in range(REPLICAS)]
    options = parse_qs(uri.query)
    assert options["replicaSet"] == ["rs0"] and options["w"] == ["majority"]


def test_services_list_every_rabbitmq_node(rendered):
    config = pcn_config(rendered)
    for name in PYTHON_SERVICES:
        pod = _of_kind(rendered, "Deployment")[name]["spec"]["template"]["spec"]
        amqp_uri = container_env(pod, name, config)["AMQP_URI"]
        nodes = node_addresses(amqp_uri)
        assert [(host, port) for host, port, *_ in nodes] == [
            (f"rabbitmq-{i}.rabbitmq", 5672) for i in range(REPLICAS)], amqp_uri
        assert {(user, password) for _, _, user, password, _ in nodes} == {
            ("pcn", "<secret:AMQP_PASSWORD>")}


def test_each_service_has_replicas_an_autoscaler_and_a_disruption_budget(rendered):
    autoscalers = _of_kind(rendered, "HorizontalPodAutoscaler")
    budgets = _of_kind(rendered, "PodDisruptionBudget")
    for name in PYTHON_SERVICES:
        deployment = _of_kind(rendered, "Deployment")[name]
        assert deployment["spec"]["replicas"] >= 2
        autoscaler = autoscalers[name]
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        assert autoscaler["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]
        [metric] = autoscaler["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        budget = budgets[name]
        assert budget["apiVersion"] == "policy/v1"
        assert budget["spec"]["selector"]["matchLabels"] == \
            deployment["spec"]["selector"]["matchLabels"]
        assert budget["spec"]["minAvailable"] < autoscaler["spec"]["minReplicas"]


def test_backends_lose_at_most_one_member_to_a_voluntary_disruption(rendered):
    budgets = _of_kind(rendered, "PodDisruptionBudget")
    for name in ("rabbitmq", "mongo"):
        statefulset = _of_kind(rendered, "StatefulSet")[name]
        assert budgets[name]["apiVersion"] == "policy/v1"
        assert budgets[name]["spec"]["maxUnavailable"] == 1
        assert budgets[name]["spec"]["selector"]["matchLabels"] == \
            statefulset["spec"]["selector"]["matchLabels"]
        # A majority of three survives one member down.
        assert statefulset["spec"]["replicas"] - 1 > statefulset["spec"]["replicas"] // 2


def test_init_job_is_not_selected_by_the_mongo_service_or_budget(rendered):
    job_labels = _of_kind(rendered, "Job")["mongo-init-replica-set"]["spec"]["template"][
        "metadata"]["labels"]
    selector = _of_kind(rendered, "Service")["mongo"]["spec"]["selector"]
    assert not all(job_labels.get(key) == value for key, value in selector.items())


def test_init_script_is_valid_shell(rendered):
    import subprocess

    script = _of_kind(rendered, "Job")["mongo-init-replica-set"]["spec"]["template"]["spec"][
        "containers"][0]["command"]
    assert script[:2] == ["sh", "-c"]
    checked = subprocess.run(["sh", "-n", "-c", script[2]], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
