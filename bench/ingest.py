"""Submissions per second through the measurement service's HTTP API, and the cost of a
submission with 10 against 1,000 participating practices, in one run.

    python bench/ingest.py [--submissions 2000] [--singles 300]

Starts the projects and measurement services as ``nameko run`` processes on the local
RabbitMQ (a throw-away vhost) with in-memory storage, registers a network, builds two network
projects (10 and 1,000 practices) and pushes the same number of submissions into each through
the batch API, timing each until its pooled series has absorbed every value (the HTTP write,
the outbox relay, and the handler that keeps the pooled sums and signals). Then it times single
POSTs. The target: the 1,000-practice cost per submission at most 1.2 × the 10-practice one.
"""
import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services import registry  # noqa: E402

ADMIN_KEY = f"bench-admin-{uuid.uuid4().hex}"
PORTS = {"projects": 18001, "measurement": 18002}


class Api:
    def __init__(self, port, key):
        self.base, self.session = f"http://127.0.0.1:{port}", requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method, path, body=None, expected=(200, 201)):
        response = self.session.request(method, self.base + path, json=body, timeout=120)
        if response.status_code not in expected:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()


def start_services(amqp_uri, run):
    nameko = str(Path(sys.executable).with_name("nameko"))
    processes = []
    for name, port in PORTS.items():
        env = {**os.environ, "AMQP_URI": amqp_uri, "MONGO_URI": f"mongomock://bench-{name}-{run}",
               "PCN_ADMIN_KEY": ADMIN_KEY, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
               "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
        processes.append(subprocess.Popen(
            [nameko, *registry.by_name(name).command[1:]], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=open(f"/tmp/bench-{name}.log", "w")))
    for port in PORTS.values():
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).ok, 60,
                 f"the service on port {port}")
    return processes


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def network_project(projects, network_id, codes):
    """A network project with ``codes`` taking part; returns (project id, lead key)."""
    lead_key = projects.call("POST", "/api-keys", {"role": "network_lead",
                                                   "network_id": network_id})["api_key"]
    lead = Api(PORTS["projects"], lead_key)
    project = lead.call("POST", "/projects", {
        "title": f"bench {len(codes)} practices", "scope": "network",
        "practice_ids": codes[:1], "aim": {"what": "w", "how_much": "h",
                                           "by_when": "2030-01-01"}})
    for code in codes[1:]:
        lead.call("POST", f"/projects/{project['id']}/practices", {"practice_id": code})
    return project["id"], lead_key


def rows_for(measure_id, codes, count):
    """``count`` rows: every practice, then the week before, until there are enough."""
    this_week = date.today() - timedelta(days=date.today().weekday())
    rows, week = [], 1
    while len(rows) < count:
        period = (this_week - timedelta(weeks=week)).isoformat()
        rows += [{"measure_id": measure_id, "practice_id": code, "period": period,
                  "numerator": (week + n) % 7, "denominator": 10}
                 for n, code in enumerate(codes)][:count - len(rows)]
        week += 1
    return rows


def pooled_count(measurement, measure_id):
    return sum(p["practices_submitted"]
               for p in measurement.call("GET", f"/measures/{measure_id}/pooled")["periods"])


def timed_ingest(measurement, measure_id, rows):
    """Seconds from the first batch POST until the pooled series holds every row."""
    started = time.perf_counter()
    for start in range(0, len(rows), 1000):
        measurement.call("POST", "/submissions/batch", {"rows": rows[start:start + 1000]})
    accepted = time.perf_counter() - started
    wait_for(lambda: pooled_count(measurement, measure_id) == len(rows), 600,
             "the pooled series")
    return accepted, time.perf_counter() - started


def new_vhost(management):
    vhost = f"bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{management}/api/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(f"{management}/api/permissions/{vhost}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    return vhost


def run_size(size, args):
    """Fresh services and storage for one network size, so that neither run inherits the
    other's data: (batch accepted s, pooled s, single POSTs s)."""
    vhost = new_vhost(args.management)
    processes = start_services(f"amqp://guest:guest@127.0.0.1:5672/{vhost}", size)
    try:
        projects = Api(PORTS["projects"], ADMIN_KEY)
        measurement = Api(PORTS["measurement"], ADMIN_KEY)
        projects.call("POST", "/networks", {"id": "bench-pcn", "name": "Bench PCN"})
        codes = [f"B{n:05d}" for n in range(size)]
        for code in codes:
            projects.call("POST", "/practices", {"ods_code": code, "name": code,
                                                 "network_id": "bench-pcn"})
        project_id, _ = network_project(projects, "bench-pcn", codes)
        wait_for(lambda: measurement.session.get(
            f"{measurement.base}/projects/{project_id}/measures").ok, 60, "the project")
        measure = measurement.call("POST", f"/projects/{project_id}/measures", {
            "name": "bench", "type": "process", "value_kind": "proportion",
            "frequency": "week", "operational_definition": "d", "improvement": "increase"})
        rows = rows_for(measure["id"], codes, args.submissions + args.singles)
        batch_rows, single_rows = rows[:args.submissions], rows[args.submissions:]
        wait_for(lambda: len(measurement.call(
            "GET", f"/measures/{measure['id']}/coverage?period={rows[0]['period']}"
        )["expected"]) == size, 300, "every practice to join")
        accepted, pooled = timed_ingest(measurement, measure["id"], batch_rows)
        started = time.perf_counter()
        for row in single_rows:
            measurement.call("POST", "/submissions", row)
        singles = time.perf_counter() - started
        return accepted, pooled, singles
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        requests.delete(f"{args.management}/api/vhosts/{vhost}", timeout=10)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--management", default="http://guest:guest@127.0.0.1:15672")
    args = parser.parse_args(argv)
    results = {size: run_size(size, args) for size in (10, 1000)}
    n = args.submissions
    print(f"submissions per run: {n} through the batch API (rows of up to 1,000), then "
          f"{args.singles} single POSTs; in-memory storage (mongomock)")
    for size, (accepted, pooled, singles) in results.items():
        print(f"{size:5d} practices: batch accepted {n / accepted:7.0f} rows/s; pooled and "
              f"signal-checked {n / pooled:6.0f} rows/s ({pooled / n * 1000:.2f} ms each); "
              f"single POSTs {args.singles / singles:5.0f}/s")
    ratio = results[1000][1] / results[10][1]
    print(f"cost per submission, 1,000 vs 10 practices: {ratio:.2f}  (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
