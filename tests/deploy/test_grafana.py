"""Grafana dashboards and the alert rules against what the services and RabbitMQ export.

The dashboard files must parse and be provisioned by docker-compose.yml; every query must be
valid PromQL (promtool parses it); and every metric name a dashboard or an alert queries must
exist: in the services' /metrics (the services are started here), in RabbitMQ's prometheus
endpoint as Prometheus scrapes it (the local broker's :15692), or as a recording rule.
"""
import importlib
import json
import pathlib
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml
from kombu import Connection
from nameko.testing.utils import find_free_port

from tests.conftest import OPS_KEY
from tests.helpers import ServiceClient, services_config_yaml
from services import registry

pytestmark = pytest.mark.deploy

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
GRAFANA = REPO_ROOT / "deploy" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
LOCAL_RABBITMQ_METRICS = "http://127.0.0.1:15692"

# Values Grafana puts in place of its variables before it sends a query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h",
                     "$service": ".*"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                "and", "or", "unless", "offset", "inf", "nan"}
# Always there in Prometheus, whatever the targets export.
PROMETHEUS_SERIES = {"up"}


def dashboards():
    return {path.name: json.loads(path.read_text()) for path in DASHBOARD_FILES}


def panels_of(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries():
    """(dashboard file, panel title, PromQL) of every panel target and query variable."""
    queries = []
    for name, dashboard in dashboards().items():
        for panel in panels_of(dashboard):
            for target in panel.get("targets", []):
                queries.append((name, panel["title"], target["expr"]))
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            found = re.fullmatch(r"label_values\((.+),\s*\w+\)", query or "")
            if found:
                queries.append((name, f"variable {variable['name']}", found.group(1)))
    return queries


def rules():
    document = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def alert_queries():
    return [("rules.yml", rule.get("alert") or rule["record"], rule["expr"]) for rule in rules()]


def substitute_variables(expr):
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr):
    """The metric names a PromQL expression selects: identifiers that are not functions,
    keywords, label names in matchers or groupings, or text in strings and ranges."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', substitute_variables(expr))
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for found in re.finditer(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?", expr):
        if found.group(2) is None and found.group(1).lower() not in PROMQL_WORDS:
            names.add(found.group(1))
    return names


def exported_names(exposition):
    """Every series name an exposition offers (also of families that have no sample yet)."""
    names = set()
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum",
                                                                 "_created"),
                "summary": ("_count", "_sum", "_created")}
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            base = name[:-len("_total")] if kind == "counter" and name.endswith("_total") else name
            names.update(base + suffix for suffix in suffixes.get(kind, ()))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def recorded_names():
    return {rule["record"] for rule in rules() if "record" in rule}


# --------------------------------------------------------------------------
# The files
# --------------------------------------------------------------------------


def test_metric_names_reads_promql():
    assert metric_names(
        'sum by (service, le) (rate(pcn_x_bucket{service=~"$service", le="0.5"}[$__rate_interval]))'
        ' / ignoring(le) group_left max(b:c:rate5m offset 5m) > bool 0 unless on(queue) up'
    ) == {"pcn_x_bucket", "b:c:rate5m", "up"}
    assert metric_names('histogram_quantile(0.95, x{queue=~".+\\\\.dead-letter"}) or vector(1)'
                        ) == {"x"}


def test_dashboards_parse_and_name_the_provisioned_data_source():
    assert {path.name for path in DASHBOARD_FILES} >= {"pcn-services.json",
                                                       "rabbitmq-queues.json"}
    sources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    (source,) = sources
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    uids = set()
    for name, dashboard in dashboards().items():
        assert dashboard["title"] and dashboard["uid"] not in uids, name
        uids.add(dashboard["uid"])
        panel_ids = [panel["id"] for panel in panels_of(dashboard)]
        assert len(panel_ids) == len(set(panel_ids)), f"{name}: panel ids repeat"
        for panel in panels_of(dashboard):
            if panel["type"] == "row":
                continue
            assert panel["targets"], f"{name}: {panel['title']} queries nothing"
            assert panel["datasource"]["uid"] == source["uid"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == source["uid"], (name, panel["title"])
                assert target["expr"].strip(), (name, panel["title"])


def test_dashboards_show_what_ops_teams_open_first():
    queries = {name: " ".join(expr for file, _, expr in dashboard_queries() if file == name)
               for name in dashboards()}
    services = queries["pcn-services.json"]
    for metric in ("pcn_http_requests_total", "pcn_entrypoint_duration_seconds_bucket",
                   "pcn_outbox_backlog", "pcn_outbox_oldest_age_seconds",
                   "pcn_events_published_total", "pcn_events_consumed_total",
                   "pcn_events_retried_total", "pcn_events_dead_lettered_total",
                   "pcn_readiness_check"):
        assert metric in services, f"the services dashboard does not show {metric}"
    assert "histogram_quantile(0.95" in services and 'status=~"5.."' in services
    rabbit = queries["rabbitmq-queues.json"]
    assert "rabbitmq_detailed_queue_messages" in rabbit
    assert 'queue=~".+\\\\.dead-letter"' in rabbit, "dead-letter queues are not picked out"


def test_compose_provisions_grafana():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    image, _, tag = grafana["image"].partition(":")
    assert image == "grafana/grafana" and re.fullmatch(r"\d+\.\d+\.\d+", tag), grafana["image"]
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in grafana["volumes"]}
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "pcn.yml").read_text())["providers"][0]
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]
    assert "/api/health" in " ".join(grafana["healthcheck"]["test"])


def test_every_query_is_valid_promql(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH (apt-get install prometheus): PromQL not parsed")
    queries = dashboard_queries()
    document = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard_query_{number}", "expr": substitute_variables(expr)}
        for number, (_, _, expr) in enumerate(queries)]}]}
    rules_file = tmp_path / "dashboard-queries.yml"
    rules_file.write_text(yaml.safe_dump(document))
    checked = subprocess.run([promtool, "check", "rules", str(rules_file)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --------------------------------------------------------------------------
# Metric names against the real exporters
# --------------------------------------------------------------------------


@pytest.fixture
def service_metrics(container_factory, service_config):
    """The /metrics text of every registered service that exists, each started here."""
    texts = {}
    for service in registry.existing():
        name = service.name
        module, cls = service.target.split(":")
        address = f"127.0.0.1:{find_free_port()}"
        # Each service as it is deployed: services/config.yaml, then the test's broker and
        # storage.
        container = container_factory(getattr(importlib.import_module(module), cls), {
            **services_config_yaml(), **service_config, "WEB_SERVER_ADDRESS": address})
        container.start()
        response = ServiceClient(address, OPS_KEY).get("/metrics")
        assert response.status_code == 200, (name, response.text)
        texts[name] = response.text
    return texts


def used_names(prefix_filter):
    uses = {}
    for where, title, expr in dashboard_queries() + alert_queries():
        for name in metric_names(expr):
            if prefix_filter(name):
                uses.setdefault(name, []).append(f"{where}: {title}")
    return uses


def test_every_service_metric_queried_is_exported(service_metrics):
    exported = set().union(*(exported_names(text) for text in service_metrics.values()))
    exported |= recorded_names() | PROMETHEUS_SERIES
    uses = used_names(lambda name: not name.startswith("rabbitmq_"))
    assert uses, "no service metric is queried"
    missing = {name: where for name, where in uses.items() if name not in exported}
    assert not missing, f"queried but not exported by the services: {missing}"
    assert all(name in exported for name in ("pcn_readiness_check", "pcn_outbox_backlog"))


def rabbitmq_scrape_urls():
    """The local broker's URLs for every scrape job of prometheus.yml aimed at rabbitmq:15692."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    urls = []
    for job in config["scrape_configs"]:
        targets = [t for static in job.get("static_configs", []) for t in static["targets"]]
        if "rabbitmq:15692" in targets:
            query = urllib.parse.urlencode(job.get("params", {}), doseq=True)
            urls.append(LOCAL_RABBITMQ_METRICS + job.get("metrics_path", "/metrics")
                        + (f"?{query}" if query else ""))
    return urls


def test_every_rabbitmq_metric_queried_is_exported(rabbit_config):
    try:
        urllib.request.urlopen(LOCAL_RABBITMQ_METRICS + "/metrics", timeout=5).close()
    except (urllib.error.URLError, OSError) as exc:
        pytest.skip(f"RabbitMQ's prometheus plugin does not answer on :15692 ({exc}): "
                    "rabbitmq-plugins enable rabbitmq_prometheus")
    # A queue of our own, so that the per-queue families have a sample to show.
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.channel()
        channel.queue_declare("grafana-check", auto_delete=True)
        urls = rabbitmq_scrape_urls()
        assert any("/metrics/detailed" in url for url in urls), urls
        exported = set()
        for url in urls:
            with urllib.request.urlopen(url, timeout=30) as response:
                exported |= exported_names(response.read().decode())
        channel.close()
    uses = used_names(lambda name: name.startswith("rabbitmq_"))
    assert "rabbitmq_detailed_queue_messages" in uses
    missing = {name: where for name, where in uses.items() if name not in exported}
    assert not missing, f"queried but not in RabbitMQ's metrics as scraped: {missing}"
