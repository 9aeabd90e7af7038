"""The web dashboard of a network with 3 and with 10 practices, each with 20 measures of 104
weekly values: server render p50/p95 and upstream calls per render, in one run, against the
same dashboard built without the read model (every series analysed on each page view); and the
week's submission form of one practice with those 20 measures: render p50/p95, upstream calls
to render it and to submit it.

    python bench/web.py [--renders 40] [--baseline-renders 3] [--baseline-measures 20]
        [--weeks 104] [--quick]
        [--management http://guest:guest@127.0.0.1:15672]

For each size it runs projects, measurement, training, notifications and web as nameko
containers in this process (as the tests do) on the local RabbitMQ (a throw-away vhost) with
in-memory storage (mongomock), and the local OpenID provider (.venv-oidc). Through the
services' APIs it registers the network, its practices and a project, defines 20 measures,
registers staff in training (a quarter with overdue training) and the lead in notifications,
and maps the lead's NHS identity in web. The weekly values go straight into measurement's
storage with its own functions (the submission documents of ``record_submission``, the pooled
sums of ``pooled_increments``, then each series analysed once and its summary stored by
``summaries.store``, as the handler of each value leaves them): the real event path analyses
every series once per value, 20,800 values for 10 practices, which bench/ingest.py measures.
The lead signs in through the provider as a browser would. Then:

- the dashboard: ``GET /`` as the signed-in lead, ``--renders`` times; the time is from the
  request to the last byte over loopback (the page's own work and its upstream calls), the
  upstream calls are the page's ``X-Upstream-Calls`` header (``pcn_web_upstream_calls``);
- the baseline, the dashboard without the read model: the measures listed, then
  ``GET /measures/<id>/spc`` for the pooled series and each practice's (each analysed by
  measurement there and then), the same other panels, the same table and template,
  ``--baseline-renders`` times, from this process with the person tokens the web would send.

- the week's submission form: ``GET /submissions?practice_id=<the first practice>`` as the
  lead, ``--renders`` times (p50/p95, upstream calls), then the form sent with a value for each
  of the 20 measures (``POST /submissions``: its upstream calls and time) and, once their
  events are handled (each practice series' summary ends at the new period), sent again with the same Idempotency-Key, as a refresh would (the same
  redirect, nothing stored twice). Its one measurement call reads the practice's 20
  submissions by id: an index lookup in MongoDB, a scan of every stored value in mongomock
  (which has no indexes), so here the form's time grows with the network's stored values.

Every service shares this process (one eventlet hub), so a render's time includes the work of
the services it calls, as it would across processes; background passes that would stall the
hub here and no page across processes (measurement's outbox relay scanning 20,800 in-memory
submissions, training's overdue pass) are set to run after the bench, and the seeded data
are frozen out of the garbage collector's full passes. It prints figures; it asserts nothing
about time. ``--quick``: 26 weeks and fewer renders (a smoke run; the figures of record come
from the full run).
"""
import warnings

# nameko 2.14 runs on eventlet, which must patch the standard library before anything else
# imports it, and announces its maintenance mode on import: that is known.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
# nameko's YAML loader imports pkg_resources, which announces its own deprecation: not ours.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random
import re
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402

from analytics.spc import SpcAnalysis  # noqa: E402
from analytics.submission_rules import contribution_of  # noqa: E402
from services.measurement import domain, summaries  # noqa: E402
from services.measurement.commands.series import pooled_points  # noqa: E402
from services.measurement.repository import (  # noqa: E402
    MEASURES, POOLED, PROJECTS, SUBMISSIONS, MeasurementRepository,
)
from services.measurement.service import MeasurementService  # noqa: E402
from services.notifications.service import NotificationsService  # noqa: E402
from services.projects.service import ProjectsService  # noqa: E402
from services.registry import CONFIG_PATH  # noqa: E402
from services.training.service import TrainingService  # noqa: E402
from services.web.service import WebService  # noqa: E402
from shared.events.envelope import Trace  # noqa: E402
from shared.events.measurement import SERIES_POOLED  # noqa: E402
from shared.storage import forget_client, open_database  # noqa: E402
from services.web import dashboard  # noqa: E402
from services.web.pages import environment  # noqa: E402
from shared import person_token  # noqa: E402

ADMIN_KEY = f"bench-admin-{uuid.uuid4().hex}"
TOKEN_SECRET = f"bench-person-tokens-{uuid.uuid4().hex}"
PORTS = {"projects": 18101, "measurement": 18102, "training": 18103, "notifications": 18104,
         "web": 18105}
SERVICES = {"projects": ProjectsService, "measurement": MeasurementService,
            "training": TrainingService, "notifications": NotificationsService,
            "web": WebService}
PROVIDER_PORT = 18400
PROVIDER_PYTHON = ROOT / ".venv-oidc" / "bin" / "python"
NETWORK = "bench-pcn"
MEASURE_COUNT = 20
LEAD_UID, LEAD_STAFF, LEAD_ORG, LEAD_ROLE = "555000900001", "lead-bench", "U90001", "R8003"
FIRST_WEEK = date(2024, 7, 1)  # a Monday: fixed periods, whatever the day the bench runs
STAFF_PER_PRACTICE, OVERDUE_PER_PRACTICE = 12, 3


class Api:
    def __init__(self, base, key=None):
        self.base, self.session = base, requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method, path, body=None, expected=(200, 201, 204), **kwargs):
        response = self.session.request(method, self.base + path, json=body, timeout=120,
                                        **kwargs)
        if response.status_code not in expected:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (requests.RequestException, SystemExit):
            pass
        time.sleep(0.25)
    raise SystemExit(f"timed out waiting for {what}")


def url(name):
    return f"http://127.0.0.1:{PORTS[name]}"


def services_config():
    """services/config.yaml as ``nameko run`` reads it (environment defaults filled in)."""
    from nameko.cli.main import setup_yaml_parser
    setup_yaml_parser()
    return yaml.load((ROOT / CONFIG_PATH).read_text(), Loader=yaml.SafeLoader)


def start_services(amqp_uri, run):
    """The five services as containers in this process, and the OpenID provider; the web
    knows where the others are. Returns (containers, provider process, issuer, config)."""
    issuer = f"http://127.0.0.1:{PROVIDER_PORT}"
    config = {**services_config(), "AMQP_URI": amqp_uri,
              "MONGO_URI": f"mongomock://bench-web-{run}", "MONGO_DATABASE_PREFIX": "bench",
              "PCN_ADMIN_KEY": ADMIN_KEY, "PCN_PERSON_TOKEN_SECRET": TOKEN_SECRET,
              "WEB_OIDC_ISSUER": issuer, "WEB_BASE_URL": url("web"),
              "WEB_PROJECTS_URL": url("projects"), "WEB_MEASUREMENT_URL": url("measurement"),
              "WEB_TRAINING_URL": url("training"),
              "WEB_NOTIFICATIONS_URL": url("notifications"),
              # Training's overdue pass (every minute) would raise the staff's gaps in the
              # middle of the renders, in this process; across processes it stalls no page.
              "TRAINING_OVERDUE_CHECK_SECONDS": 3600}
    # Measurement's outbox relay looks for pending events among the 20,800 submissions every
    # second; mongomock has no index and scans them all in this process, stopping every
    # service here for a second or two (MongoDB answers from an index, in its own process).
    # The values are stored without events, so its relay has nothing to send during the run.
    own = {"measurement": {"OUTBOX_POLL_SECONDS": 120}}
    containers = []
    for name, service_class in SERVICES.items():
        container = ServiceContainer(service_class, {
            **config, **own.get(name, {}), "WEB_SERVER_ADDRESS": f"127.0.0.1:{PORTS[name]}"})
        container.start()
        containers.append(container)
    provider = subprocess.Popen(
        [str(PROVIDER_PYTHON), "-m", "tools.oidc_provider", "--port", str(PROVIDER_PORT),
         "--client-jwks-url", f"{url('web')}/oidc/jwks.json"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name in PORTS:
        wait_for(lambda: requests.get(f"{url(name)}/ready", timeout=2).ok, 90, name)
    wait_for(lambda: requests.get(f"{issuer}/.well-known/openid-configuration",
                                  timeout=2).ok, 60, "the OpenID provider")
    return containers, provider, issuer, config


def new_vhost(management):
    vhost = f"bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{management}/api/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(f"{management}/api/permissions/{vhost}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    return vhost


def weekly_rows(measure_id, codes, weeks, rng):
    """Every practice's ``weeks`` proportions; about half the series shift up or down part
    way, so the table holds a mix of icons."""
    rows = []
    for code in codes:
        base, shift_at = rng.uniform(0.3, 0.8), rng.randrange(weeks // 2, weeks)
        shift = rng.choice((-0.15, 0.0, 0.15))
        for week in range(weeks):
            rate = min(0.98, max(0.02, base + (shift if week >= shift_at else 0.0)
                                 + rng.gauss(0, 0.04)))
            rows.append({"measure_id": measure_id, "practice_id": code,
                         "period": (FIRST_WEEK + timedelta(weeks=week)).isoformat(),
                         "numerator": round(rate * 50), "denominator": 50})
    return rows


def store_values(database, project_id, measure_ids, codes, weeks, rng):
    """Every practice's weekly values of every measure, stored as measurement stores them
    (submission documents, pooled sums), then each series analysed once and its summary kept
    (``summaries.store``, as the handler of the last value leaves it). No events: nothing
    downstream needs to run for each value here."""
    repository = MeasurementRepository(database)
    project = repository.find(PROJECTS, project_id)
    now, trace = datetime.now(timezone.utc), Trace()
    for measure_id in measure_ids:
        measure = repository.find(MEASURES, measure_id)
        documents, pooled = [], {}
        for row in weekly_rows(measure_id, codes, weeks, rng):
            contribution, _ = contribution_of(measure["value_kind"], row)
            _, document, _ = domain.record_submission(
                None, measure, row["practice_id"], date.fromisoformat(row["period"]),
                contribution, "bench", now, trace)
            documents.append(document)
            sums = pooled.setdefault(row["period"], {"versions": {}})
            for name, increment in domain.pooled_increments(contribution, None).items():
                sums[name] = sums.get(name, 0) + increment
            sums["versions"][row["practice_id"]] = 1
        database[SUBMISSIONS].insert_many(documents)
        database[POOLED].insert_many([{"_id": f"{measure_id}|{period}",
                                       "measure_id": measure_id, "period": period, **sums}
                                      for period, sums in pooled.items()])
        for series, points in ((SERIES_POOLED, pooled_points(repository, measure, project)),
                               *((code, repository.practice_series(measure_id, code))
                                 for code in codes)):
            summaries.store(database, measure, series,
                            domain.analyse_series(measure, points, series))


def seed(size, weeks, issuer, config):
    """The network of ``size`` practices, measured, trained and mapped; the signed-in lead's
    browser session and the seeding time."""
    started = time.perf_counter()
    rng = random.Random(size)
    admin = Api(url("projects"), ADMIN_KEY)
    admin.call("POST", "/networks", {"id": NETWORK, "name": "Bench PCN"})
    codes = [f"B{n:05d}" for n in range(size)]
    for code in codes:
        admin.call("POST", "/practices", {"ods_code": code, "name": f"Practice {code}",
                                          "network_id": NETWORK})
    lead_key = admin.call("POST", "/api-keys", {"role": "network_lead",
                                                "network_id": NETWORK})["api_key"]
    project = Api(url("projects"), lead_key).call("POST", "/projects", {
        "title": "Bench dashboard", "scope": "network", "practice_ids": codes,
        "aim": {"what": "w", "how_much": "h", "by_when": "2030-01-01"}})
    measurement = Api(url("measurement"), lead_key)
    wait_for(lambda: measurement.session.get(
        f"{measurement.base}/projects/{project['id']}/measures").ok, 60, "the project")
    measure_ids = [measurement.call("POST", f"/projects/{project['id']}/measures", {
        "name": f"Measure {n:02d}", "type": "process", "value_kind": "proportion",
        "unit": "share", "frequency": "week", "operational_definition": "done over due",
        "improvement": "increase", "target": 0.7})["id"] for n in range(MEASURE_COUNT)]
    wait_for(lambda: open_database(config, "measurement")[PROJECTS].find_one(
        {"_id": project["id"], "practice_count": size}), 60, "every practice to join")
    store_values(open_database(config, "measurement"), project["id"], measure_ids, codes,
                 weeks, rng)

    def analysed():
        items = measurement.call("GET", f"/networks/{NETWORK}/spc-summary")["items"]
        return (len(items) == MEASURE_COUNT
                and all(len(m["series"]) == size + 1 and all(s["points"] == weeks
                                                            for s in m["series"])
                        for m in items))
    if not analysed():
        raise SystemExit("the summary does not hold every series at full length")
    seeded_values = time.perf_counter() - started
    recent = (date.today() - timedelta(days=30)).isoformat()  # nothing due yet
    staff = [{"staff_id": f"s-{code}-{n:02d}", "network_id": NETWORK, "practice_id": code,
              "team": "clinical", "role": "clinician",
              "started_on": "2020-01-06" if n < OVERDUE_PER_PRACTICE else recent}
             for code in codes for n in range(STAFF_PER_PRACTICE)]
    training = Api(url("training"), lead_key)
    wait_for(lambda: training.call("POST", "/staff-imports", {"rows": staff}), 60,
             "training to take the staff")
    notifications = Api(url("notifications"), lead_key)
    wait_for(lambda: notifications.call("POST", "/recipients", {
        "staff_id": LEAD_STAFF, "network_id": NETWORK, "role": "network_lead",
        "scope": {"kind": "network", "id": NETWORK}}), 60, "notifications to take the lead")
    web_api = Api(url("web"), lead_key)
    web_api.call("PUT", f"/people/{LEAD_UID}", {"staff_id": LEAD_STAFF, "network_id": NETWORK})
    web_api.call("PUT", f"/networks/{NETWORK}/role-mapping", {
        "org_codes": {LEAD_ORG: "network"}, "role_codes": {LEAD_ROLE: "network_lead"}})
    requests.put(f"{issuer}/users/{LEAD_UID}", timeout=10, json={
        "nhsid_useruid": LEAD_UID, "name": "Bench Lead", "nhsid_nrbac_roles": [
            {"person_roleid": "bench-role", "org_code": LEAD_ORG, "role_code": LEAD_ROLE}]}
                 ).raise_for_status()
    return sign_in(issuer), measure_ids, project["id"], seeded_values


def sign_in(issuer):
    """The lead signed in through the provider as a browser would (PKCE, private_key_jwt)."""
    browser = requests.Session()
    to_provider = browser.get(url("web") + "/sign-in", allow_redirects=False)
    back = browser.post(to_provider.headers["Location"], data={"sub": LEAD_UID},
                        allow_redirects=False)
    landed = browser.get(back.headers["Location"], allow_redirects=False)
    if landed.status_code != 303:
        raise SystemExit(f"sign-in failed: {landed.status_code} {landed.text[:300]}")
    return browser


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def wait_until_quiet(management, vhost):
    """Until the seeding's events are handled (every queue of the vhost empty twice over the
    management API's 5 s statistics interval): the handlers share this process's hub."""
    def empty():
        queues = requests.get(f"{management}/api/queues/{quote(vhost, safe='')}",
                              timeout=10).json()
        return all(q.get("messages", 0) == 0 for q in queues)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(6)
        if empty():
            return
    raise SystemExit("the services never went quiet")


def render_dashboard(browser, count):
    """Seconds and upstream calls of each of ``count`` renders of the dashboard."""
    times, calls = [], set()
    browser.get(url("web") + "/")  # warm: templates compiled, connections open
    for _ in range(count):
        started = time.perf_counter()
        page = browser.get(url("web") + "/")
        times.append(time.perf_counter() - started)
        if page.status_code != 200 or "Open training gaps" not in page.text:
            raise SystemExit(f"the dashboard answered {page.status_code}: {page.text[:300]}")
        calls.add(int(page.headers["X-Upstream-Calls"]))
    return times, calls


def bench_submission_form(browser, practice_id, count, settle):
    """The week's form of ``practice_id`` (every measure): seconds and upstream calls of each
    of ``count`` renders, then one submission of a value for every measure and the same
    submission again (a refresh): their calls and seconds. ``settle()`` waits, between the
    two, for the handlers of the 20 new values (each analyses its series in this process's
    hub), so that the refresh's time is its own."""
    periods = {}
    page_url = f"{url('web')}/submissions?practice_id={practice_id}"
    page = browser.get(page_url)  # warm
    measure_ids = re.findall(r'name="([^"]+)\.numerator"', page.text)
    if page.status_code != 200 or len(measure_ids) != MEASURE_COUNT:
        raise SystemExit(f"the form answered {page.status_code} with {len(measure_ids)} "
                         f"measures: {page.text[:300]}")
    times, calls = [], set()
    for _ in range(count):
        started = time.perf_counter()
        page = browser.get(page_url)
        times.append(time.perf_counter() - started)
        calls.add(int(page.headers["X-Upstream-Calls"]))
    form = {name: re.search(rf'name="{name}" value="([^"]*)"', page.text).group(1)
            for name in ("csrf_token", "idempotency_key")}
    form["practice_id"] = practice_id
    for measure_id in measure_ids:  # a reason too, in case the period due holds a value
        periods[measure_id] = re.search(rf'name="{measure_id}\.period" value="([^"]+)"',
                                        page.text).group(1)
        form.update({f"{measure_id}.numerator": "31", f"{measure_id}.denominator": "50",
                     f"{measure_id}.reason": "bench"})
    sent = []
    for attempt in range(2):  # the second is a refresh: the same key and body
        if attempt:
            settle(periods)
        started = time.perf_counter()
        answer = browser.post(f"{url('web')}/submissions", data=form, allow_redirects=False)
        sent.append((time.perf_counter() - started, int(answer.headers["X-Upstream-Calls"]),
                     answer.headers.get("Location")))
        if answer.status_code != 303:
            raise SystemExit(f"the form was refused: {answer.status_code} {answer.text[:300]}")
    return {"times": times, "calls": calls, "submit": sent[0], "replay": sent[1]}


def values_handled(config, practice_id, periods, timeout=300):
    """Until the summary of ``practice_id``'s series of each measure ends at its period in
    ``periods`` (the handler of its new value has run), or ``timeout`` seconds."""
    summaries_stored = open_database(config, "measurement")[summaries.SERIES_SUMMARY]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = sum(1 for measure_id, period in periods.items()
                   if (summaries_stored.find_one({"_id": f"{measure_id}|{practice_id}"})
                       or {}).get("latest_period") == period)
        if done == len(periods):
            return
        time.sleep(1)
    print(f"(the new values' handlers had not all run after {timeout} s)", file=sys.stderr)


def baseline_render(project_id, tokens, measures_timed):
    """The dashboard without the read model: each series analysed by measurement on this page
    view (one /spc call per series), the same panels, table and template, with a person token
    per call as the web sends. Only the first ``measures_timed`` measures' series are fetched
    (mongomock scans every submission for each series; a full render of 10 practices takes
    minutes): returns (seconds extrapolated to every measure, upstream calls of a full
    render)."""
    calls = 0

    def get(base, path, params=None, kind="network_lead"):
        nonlocal calls
        calls += 1
        token = tokens.sign(LEAD_UID, kind, NETWORK, staff_id=LEAD_STAFF)
        answer = requests.get(base + path, params=params, timeout=600,
                              headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        return answer.json()
    started = time.perf_counter()
    measures = get(url("measurement"), f"/projects/{project_id}/measures")["items"]
    project = get(url("projects"), f"/projects/{project_id}")
    codes = sorted(project["practice_ids"])
    items, series_seconds = [], 0.0
    for measure in measures[:measures_timed]:
        stored = {**measure, "_id": measure["id"], "network_id": NETWORK}
        series = []
        series_started = time.perf_counter()
        for code in [None, *codes]:
            spc = get(url("measurement"), f"/measures/{quote(measure['id'])}/spc",
                      {"practice_id": code} if code else None)
            series.append(summaries.summary_of(stored, spc["series"],
                                               SpcAnalysis.from_dict(spc)))
        series_seconds += time.perf_counter() - series_started
        items.append({"measure_id": measure["id"], "name": measure["name"],
                      "target": measure.get("target"), "value_kind": measure["value_kind"],
                      "improvement": measure.get("improvement"), "practice_ids": codes,
                      "series": series})
    rows, practices, missing = dashboard.table({"items": items})
    escalated = get(url("projects"), "/huddle-items", {"status": "escalated",
                                                       "page_size": 20})["items"]
    gaps = dashboard.training_gaps(get(url("training"), "/reports/capability",
                                       {"network_id": NETWORK}))
    get(url("notifications"), "/inbox/unread", kind="person")
    environment.get_template("dashboard.jinja").render(
        title="Network dashboard", network_id=NETWORK, rows=rows, practice_columns=practices,
        missing=missing, escalated=escalated, training_gaps=gaps, person=None)
    elapsed = time.perf_counter() - started
    untimed = len(measures) - measures_timed
    return (elapsed + series_seconds / measures_timed * untimed,
            calls + untimed * (len(codes) + 1))


def run_size(size, args):
    vhost = new_vhost(args.management)
    containers, provider, issuer, config = start_services(
        f"amqp://guest:guest@127.0.0.1:5672/{vhost}", size)
    try:
        browser, measure_ids, project_id, seeded = seed(size, args.weeks, issuer, config)
        wait_until_quiet(args.management, vhost)
        # mongomock keeps the seeded network as Python objects in this process (a MongoDB
        # keeps them in its own): out of the collector's full passes, which would otherwise
        # stop every service here for a second or two at random renders.
        gc.collect()
        gc.freeze()
        times, calls = render_dashboard(browser, args.renders)
        form = bench_submission_form(browser, "B00000", args.renders,
                                     lambda periods: values_handled(config, "B00000", periods))
        tokens = person_token.PersonTokens(TOKEN_SECRET.encode("utf-8"), time.time)
        baseline_times, baseline_calls = [], set()
        for _ in range(args.baseline_renders):
            seconds, calls_made = baseline_render(project_id, tokens, args.baseline_measures)
            baseline_times.append(seconds)
            baseline_calls.add(calls_made)
        return {"size": size, "seeded": seeded, "times": times, "calls": calls,
                "baseline_times": baseline_times, "baseline_calls": baseline_calls,
                "form": form}
    finally:
        for container in containers:
            container.stop()
        provider.terminate()
        provider.wait(timeout=30)
        forget_client(config["MONGO_URI"])
        gc.unfreeze()
        requests.delete(f"{args.management}/api/vhosts/{vhost}", timeout=10)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=40)
    parser.add_argument("--baseline-renders", type=int, default=3)
    parser.add_argument("--baseline-measures", type=int, default=MEASURE_COUNT,
                        help="measures whose series the baseline fetches (default: all); "
                             "fewer: its time is extrapolated to all 20")
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--quick", action="store_true",
                        help="26 weeks, 10 renders, 2 baseline renders of 1 measure: a smoke "
                             "run")
    parser.add_argument("--management", default="http://guest:guest@127.0.0.1:15672")
    args = parser.parse_args(argv)
    # The services' own logs (keys not replicated yet while seeding waits, mongomock's
    # warning) would bury the figures: errors only, unless LOG_LEVEL says otherwise.
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "ERROR"))
    if args.quick:
        args.weeks, args.renders, args.baseline_renders, args.baseline_measures = 26, 10, 2, 1
    if not PROVIDER_PYTHON.exists():
        raise SystemExit(".venv-oidc is missing: run `make .venv-oidc`")
    results = []
    for size in (3, 10):
        started = time.perf_counter()
        results.append(run_size(size, args))
        print(f"({size} practices measured in {time.perf_counter() - started:.0f} s)",
              file=sys.stderr, flush=True)
    print(f"web dashboard: {MEASURE_COUNT} measures x {args.weeks} weekly values per practice, "
          f"signed in as the network lead; {args.renders} renders; baseline (no read model: "
          f"/spc per series) {args.baseline_renders} renders"
          + (f", fetching the series of {args.baseline_measures} of {MEASURE_COUNT} measures "
             "and extrapolating to all" if args.baseline_measures < MEASURE_COUNT else "")
          + "; mongomock, local RabbitMQ, the services in one process")
    print(f"{'practices':>9} {'series':>6} {'p50 ms':>8} {'p95 ms':>8} {'calls':>6}   "
          f"{'baseline p50':>12} {'p95 ms':>8} {'calls':>6} {'ratio p50':>9}  seeding s")
    for r in results:
        p50, p95 = percentile(r["times"], 0.5) * 1000, percentile(r["times"], 0.95) * 1000
        b50 = percentile(r["baseline_times"], 0.5) * 1000
        b95 = percentile(r["baseline_times"], 0.95) * 1000
        print(f"{r['size']:>9} {MEASURE_COUNT * (r['size'] + 1):>6} {p50:>8.1f} {p95:>8.1f} "
              f"{'/'.join(map(str, sorted(r['calls']))):>6}   {b50:>12.1f} {b95:>8.1f} "
              f"{'/'.join(map(str, sorted(r['baseline_calls']))):>6} {b50 / p50:>8.1f}x"
              f"  {r['seeded']:>7.0f}")
    small, large = results
    same = small["calls"] == large["calls"] and len(small["calls"]) == 1
    print(f"upstream calls per render the same for 3 and 10 practices: {same} "
          f"({sorted(small['calls'])} and {sorted(large['calls'])}); without the read model "
          f"{sorted(small['baseline_calls'])} and {sorted(large['baseline_calls'])}")

    def p50_ratio(key):
        return percentile(large[key], 0.5) / percentile(small[key], 0.5)
    print(f"p50, 10 vs 3 practices: {p50_ratio('times'):.2f}x with the read model, "
          f"{p50_ratio('baseline_times'):.2f}x without")
    print(f"the week's submission form of one practice, {MEASURE_COUNT} measures "
          f"({args.renders} renders), in the same runs:")
    print(f"{'practices':>9} {'p50 ms':>8} {'p95 ms':>8} {'calls':>6} {'vs dashboard p50':>16}"
          f"   {'submit ms':>9} {'calls':>5}   {'refresh ms':>10} {'calls':>5} same outcome")
    for r in results:
        form = r["form"]
        f50 = percentile(form["times"], 0.5) * 1000
        f95 = percentile(form["times"], 0.95) * 1000
        (s_time, s_calls, s_to), (a_time, a_calls, a_to) = form["submit"], form["replay"]
        print(f"{r['size']:>9} {f50:>8.1f} {f95:>8.1f} "
              f"{'/'.join(map(str, sorted(form['calls']))):>6} "
              f"{f50 / (percentile(r['times'], 0.5) * 1000):>15.2f}x   {s_time * 1000:>9.1f} "
              f"{s_calls:>5}   {a_time * 1000:>10.1f} {a_calls:>5} {s_to == a_to}")
    bounded = all(max(r["form"]["calls"]) <= 3 and r["form"]["submit"][1] <= 2
                  for r in results)
    print(f"the form's upstream calls are bounded (at most 3 to render, 2 to submit: what is "
          f"due and one batch), not one per measure: {bounded}")
    return 0 if same and bounded else 1


if __name__ == "__main__":
    sys.exit(main())
