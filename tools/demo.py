"""The main job, end to end: the structured medication review (SMR) project of a PCN pharmacist
across three practices, driven through the projects, measurement, training and notifications
APIs.

``python -m tools.demo`` (PCN_ADMIN_KEY in the environment; services on 8001 to 8004).
It registers a network and three practices, issues keys, creates the network project with its
team, runs a PDSA cycle and a huddle escalation, defines the shared measure, has each practice
submit 24 weeks of SMR counts (the template adopted for the last 8), and prints the pooled
network series, its SPC verdict, and where it saved the Making Data Count charts. The network
lead is a recipient of the notifications service and routes signals of improvement on the
pooled series to themself: the demo prints their inbox and the mail that reached the SMTP
server it runs locally (aiosmtpd; services already running send to theirs, e.g. Mailpit).
The SMR team is in the training service's staff registry: when the project moves to testing its
lead is found to lack ``foundations`` (a capability gap), enrols on a foundations course,
attends, completes, and the gap closes.

When nothing answers on the services' ports (``make demo`` on a machine with only RabbitMQ), it
starts every service as a local process first (``tools.dev``: in-memory storage unless
MONGO_URI is set, the local RabbitMQ, PCN_ADMIN_KEY generated when unset), waits for /ready,
and stops them at the end; services already running (``make dev``, ``make up``) are used as
they are.
"""
import argparse
import contextlib
import os
import pathlib
import signal
import sys
import time
import uuid
from datetime import date, timedelta

import requests

from tools import demo_browser, dev
from tools.demo_services import Mailbox, local_services

# 24 weekly periods ending last week; the practices adopt the shared SMR template in week 17
# (index 16): the PDSA cycle that tested it ends there with "adopt", and the lead starts the
# new baseline there.
WEEKS, ADOPTED = 24, 16


def demo_weeks(today):
    """The Mondays of the demo's 24 weeks, the last one the week before ``today``'s."""
    this_week = today - timedelta(days=today.weekday())
    return [this_week - timedelta(weeks=WEEKS - i) for i in range(WEEKS)]


class Api:
    def __init__(self, base, key):
        self.base, self.key = base.rstrip("/"), key

    def call(self, method, path, body=None, expected=(200, 201)):
        response = requests.request(method, self.base + path, json=body, timeout=10,
                                    headers={"Authorization": f"Bearer {self.key}"})
        return self.answer_of(method, path, response, expected)

    @staticmethod
    def answer_of(method, path, response, expected=(200, 201)):
        if response.status_code not in expected:
            sys.exit(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", default=dev.base_url("projects"))
    parser.add_argument("--measurement", default=dev.base_url("measurement"))
    parser.add_argument("--training", default=dev.base_url("training"))
    parser.add_argument("--notifications", default=dev.base_url("notifications"))
    parser.add_argument("--web", default=dev.web_site_url(),
                        help="the web service's site (its WEB_BASE_URL)")
    parser.add_argument("--charts", default="demo-output",
                        help="folder for the Making Data Count charts (SVG) and the web "
                             "pages' screenshots (PNG)")
    parser.add_argument("--no-start", action="store_true",
                        help="never start services; use the ones at --projects/--measurement")
    args = parser.parse_args(argv)
    local = (args.projects, args.measurement, args.training, args.notifications) == tuple(
        dev.base_url(name) for name in ("projects", "measurement", "training", "notifications")
    ) and args.web == dev.web_site_url()
    # A SIGTERM still stops the services this run started (local_services' finally).
    signal.signal(signal.SIGTERM, dev.stop_on_signal)
    try:
        with Mailbox() as mailbox:
            # Services started here mail to this mailbox, with the send window always open
            # (by default it is Monday to Friday 08:00-18:30: a demo on a Saturday would see
            # its notices held until Monday).
            env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
                   "NOTIFICATIONS_WINDOW_DAYS": "[0,1,2,3,4,5,6]",
                   "NOTIFICATIONS_WINDOW_START": "00:00", "NOTIFICATIONS_WINDOW_END": "23:59"}
            with (local_services(env) if local and not args.no_start
                  else contextlib.nullcontext()):
                summary = run_story(args, mailbox)
    except (KeyboardInterrupt, dev.StopRequested):
        print("demo interrupted", file=sys.stderr)
        return 130
    print("\nsummary:")
    for label, value in summary.items():
        print(f"  {label}: {value}")
    return 0


def run_story(args, mailbox):
    """The whole story against running services; returns the summary lines as a dict."""
    admin = Api(args.projects, os.environ.get("PCN_ADMIN_KEY", ""))
    network_id = f"demo-{uuid.uuid4().hex[:6]}"
    admin.call("POST", "/networks", {"id": network_id, "name": "Demo PCN"})
    codes = [f"Y{uuid.uuid4().int % 100000:05d}" for _ in range(3)]
    for number, code in enumerate(codes, 1):
        admin.call("POST", "/practices", {"ods_code": code, "name": f"Practice {number}",
                                          "network_id": network_id})
    lead_key = admin.call("POST", "/api-keys", {"role": "network_lead", "network_id": network_id,
                                                "label": "PCN pharmacist"})["api_key"]
    lead = Api(args.projects, lead_key)
    practice_key = lead.call("POST", "/api-keys", {"role": "practice",
                                                   "practice_id": codes[0]})["api_key"]
    practice = Api(args.projects, practice_key)
    weeks = demo_weeks(date.today())
    project = lead.call("POST", "/projects", {
        "title": "Standardise structured medication reviews",
        "aim": {"what": "SMRs completed to the standard template",
                "how_much": "from 40% to 90%", "by_when": "2027-09-30"},
        "scope": "network", "practice_ids": codes,
        "change_ideas": ["shared SMR template", "pharmacist huddle slot"],
        "members": [{"staff_id": "pharm-01", "role": "lead"},
                    {"staff_id": "lep-07", "role": "lived_experience_partner"}]})
    print(f"project {project['id']} in {network_id}: practices {', '.join(codes)}")
    lead_recipient = subscribe_network_lead(args, lead_key, network_id)
    register_smr_team(args, lead_key, network_id, codes)
    lead.call("POST", f"/projects/{project['id']}/stage", {"stage": "planning"})
    lead.call("POST", f"/projects/{project['id']}/stage", {"stage": "testing"})
    # Dated when it happened: a week's test before the adoption week, adopted in that week, so
    # the charts draw the cycle where the series shifts.
    cycle = practice.call("POST", f"/projects/{project['id']}/pdsa-cycles", {
        "change_idea": "shared SMR template", "plan": "use the template for one week",
        "prediction": "8 of 10 SMRs complete every section",
        "started_on": weeks[ADOPTED - 1].isoformat()})
    cycle = practice.call("PATCH", f"/pdsa-cycles/{cycle['id']}", {
        "do_notes": "10 SMRs done", "study_notes": "9 of 10 complete; prediction met",
        "act": "adopt", "completed_on": weeks[ADOPTED].isoformat()})
    print(f"PDSA cycle {cycle['id']}: {cycle['status']}, act={cycle['act']}, "
          f"{cycle['started_on']} to {cycle['completed_on']}")
    item = practice.call("POST", "/huddle-items", {"team": "pharmacy",
                                                   "description": "template missing in EMIS",
                                                   "raised_by": "nurse-12"})
    practice.call("POST", f"/huddle-items/{item['id']}/escalate", {
        "escalated_to": "pharm-01", "reason": "only the clinical system lead can add it"})
    item = lead.call("POST", f"/huddle-items/{item['id']}/resolve",
                     {"resolution": "template published to all three practices"})
    print(f"huddle item {item['id']}: {item['status']} after "
          f"{item['time_to_unblock_seconds']:.1f} s")
    fill_the_huddle_board(practice)
    refused = requests.get(f"{args.projects}/projects/{project['id']}", timeout=10,
                           headers={"Authorization": "Bearer pcn_nope_nope"})
    print(f"an unknown key gets {refused.status_code}")
    summary = {"network": f"{network_id}, practices {', '.join(codes)}",
               "project": f"{project['id']} (PDSA cycle adopted, huddle item resolved in "
                          f"{item['time_to_unblock_seconds']:.1f} s)"}
    summary.update(train_the_lead(args, lead_key, network_id, project))
    measure_id, measured = measure_network(args, project, lead_key, codes, weeks)
    summary.update(measured)
    summary.update(score_the_project(lead, project))
    summary.update(network_lead_hears(args, lead_key, lead_recipient, mailbox))
    summary.update(demo_browser.network_lead_signs_in(
        Api(args.web, lead_key), network_id, codes, measure_id, lead_recipient["staff_id"],
        args.charts))
    return summary


def score_the_project(lead, project):
    """The projects service suggests an IHI progress score from what it has learned (the cycle
    adopted, the measure's special-cause improvement from measurement's events); the lead reads
    it and sets the score, which is never set by itself."""
    path = f"/projects/{project['id']}"
    suggestion = lead.call("GET", path)["progress_suggestion"]
    deadline = time.monotonic() + 60
    while suggestion["score"] < 3.0 and time.monotonic() < deadline:
        time.sleep(0.5)  # the signal reaches projects by an event
        suggestion = lead.call("GET", path)["progress_suggestion"]
    print(f"progress score suggested: {suggestion['score']}: {'; '.join(suggestion['reasons'])}")
    scored = lead.call("POST", f"{path}/progress-score", {
        "score": suggestion["score"], "note": "the lead agrees with the suggestion"})
    return {"progress score": f"{scored['progress_score']['score']} set by the lead "
                              f"(suggested {suggestion['score']})"}


def fill_the_huddle_board(practice):
    """The pharmacy team's board as the huddle leaves it: one item in Doing with its owner,
    one waiting in To do, one escalated to the leader with the reason."""
    doing = practice.call("POST", "/huddle-items", {
        "team": "pharmacy", "description": "SMR slots clash with the flu clinic",
        "raised_by": "nurse-12"})
    practice.call("POST", f"/huddle-items/{doing['id']}/assign", {"assignee": "pharm-01"})
    practice.call("POST", f"/huddle-items/{doing['id']}/move", {"column": "doing"})
    practice.call("POST", "/huddle-items", {
        "team": "pharmacy", "description": "Patients ask for SMR letters in large print",
        "raised_by": "lep-07"})
    blocked = practice.call("POST", "/huddle-items", {
        "team": "pharmacy", "description": "No room for the pharmacist on Thursdays",
        "raised_by": "nurse-12"})
    practice.call("POST", f"/huddle-items/{blocked['id']}/escalate", {
        "escalated_to": "pharm-01", "reason": "room bookings are the practice manager's"})
    print("huddle board of pharmacy: 1 doing, 1 to do, 1 escalated, 1 done")


def wait_for(check, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def subscribe_network_lead(args, lead_key, network_id):
    """The network lead (and the leader huddle items are escalated to) as recipients; the
    lead routes signals of improvement on the pooled series to themself, at once."""
    notifications = Api(args.notifications, lead_key)
    wait_for(lambda: requests.get(f"{args.notifications}/networks/{network_id}/routes",
                                  headers={"Authorization": f"Bearer {lead_key}"},
                                  timeout=10).ok, "the notifications service to learn the key")
    lead = notifications.call("POST", "/recipients", {
        "staff_id": "pcn-lead-01", "network_id": network_id, "role": "network_lead",
        "scope": {"kind": "network", "id": network_id},
        "email": "pcn.lead@demo-pcn.example.org"})
    notifications.call("POST", "/recipients", {
        "staff_id": "pharm-01", "network_id": network_id, "role": "leader",
        "scope": {"kind": "team", "id": "pharmacy"}, "email": "pharmacist@demo-pcn.example.org"})
    routes = notifications.call("GET", f"/networks/{network_id}/routes")["items"]
    (signals,) = [r for r in routes if r["event_type"] == "measurement.signal_detected"]
    concern = [rule for rule in signals["rules"] if rule["name"] == "concern"]
    notifications.call("PUT", f"/networks/{network_id}/routes", {
        "event_type": "measurement.signal_detected",
        "rules": concern + [{"name": "pooled_improvement", "mode": "immediate",
                             "when": {"kind": ["improvement"], "series": ["pooled"]},
                             "audience": ["network_lead", "project_team"]}]})
    print(f"network lead {lead['staff_id']} hears of improvement on the pooled series at once")
    return lead


def network_lead_hears(args, lead_key, lead, mailbox):
    """The network lead's inbox, read with their own person key, and the mail that reached
    the demo's SMTP server."""
    person_key = Api(args.projects, lead_key).call("POST", "/api-keys", {
        "role": "person", "network_id": lead["network_id"], "staff_id": lead["staff_id"],
        "label": "the network lead's own key"})["api_key"]
    own = Api(args.notifications, person_key)
    wait_for(lambda: requests.get(f"{args.notifications}/inbox/unread", timeout=10, headers={
        "Authorization": f"Bearer {person_key}"}).ok, "the notifications service to learn "
             "the person key")
    wait_for(lambda: own.call("GET", "/inbox")["total"] > 0, "the network lead's inbox")
    inbox = own.call("GET", "/inbox")
    print(f"inbox of {lead['staff_id']}, read with their own person key "
          f"({inbox['unread']} unread):")
    for item in inbox["items"]:
        print(f"  {'*' if item['unread'] else ' '} {item['summary']}")
    first = inbox["items"][0]
    own.call("POST", f"/inbox/{first['notification_id']}/read")
    deadline = time.monotonic() + 15  # the mail leaves at once, or after an SMTP retry
    while not mailbox.messages and time.monotonic() < deadline:
        time.sleep(0.2)
    print(f"mail received by the demo's SMTP server on port {mailbox.port}:")
    for message in mailbox.messages:
        chart = any(part.get_content_type() == "image/png" for part in message.walk())
        print(f"  to {message['To']}: {message['Subject']}"
              f"{' [chart attached inline]' if chart else ''}"
              f"{' [one-click unsubscribe]' if message['List-Unsubscribe-Post'] else ''}")
    if not mailbox.messages:
        print("  none: the services were already running and mail through their own SMTP "
              "server (make up: Mailpit, http://127.0.0.1:8025)")
    return {"network lead": f"{inbox['total']} inbox item(s), {len(mailbox.messages)} "
                            f"mail(s) on the demo's SMTP server"}


def register_smr_team(args, lead_key, network_id, codes):
    """The SMR team in the training service's staff registry (pseudonymous ids): the
    pharmacist who leads it, a lived-experience partner and a practice manager."""
    training = Api(args.training, lead_key)
    wait_for(lambda: requests.get(f"{args.training}/offerings", timeout=10, headers={
        "Authorization": f"Bearer {lead_key}"}).ok, "the training service to learn the key")
    started = (date.today() - timedelta(days=200)).isoformat()
    rows = [{"staff_id": "pharm-01", "practice_id": codes[0], "team": "pharmacy",
             "role": "clinical_pharmacist", "leader": True},
            {"staff_id": "lep-07", "practice_id": codes[0], "team": "pharmacy",
             "role": "lived_experience_partner", "lived_experience_partner": True},
            {"staff_id": "pm-02", "practice_id": codes[1], "team": "management",
             "role": "practice_manager", "leader": True}]
    body = {"rows": [{"network_id": network_id, "started_on": started, **row} for row in rows]}
    imported = []

    def import_once_training_knows_the_practices():
        # The registry reaches training by events: a practice registered a moment ago may
        # not be known there yet (422 saying so); anything else ends the demo.
        response = requests.post(f"{args.training}/staff-imports", json=body, timeout=10,
                                 headers={"Authorization": f"Bearer {lead_key}"})
        if response.status_code == 422 and "registered in the last few seconds" in response.text:
            return False
        imported.append(training.answer_of("POST", "/staff-imports", response))
        return True
    wait_for(import_once_training_knows_the_practices,
             "the training service to hear of the practices")
    print(f"training registry: {len(imported[0]['items'])} people of the SMR team imported")


def train_the_lead(args, lead_key, network_id, project):
    """The project left planning: its lead lacks foundations; they enrol on a course, attend,
    complete, and the gap closes."""
    training = Api(args.training, lead_key)

    def lead_gap():
        record = training.call("GET", "/staff/pharm-01")
        return next((r for r in record["requirements"]
                     if r["requirement_id"] == "project_lead_foundations"
                     and r["project_id"] == project["id"] and r["overdue"]), None)
    wait_for(lead_gap, "the training service to find the project lead's gap")
    gap = lead_gap()
    print(f"training: pharm-01 leads a project in testing without foundations "
          f"(gap {gap['gap_id']}, held {gap['held_level']})")
    offering = training.call("POST", "/offerings", {
        "network_id": network_id, "kind": "course", "title": "QI foundations (one day)",
        "awards_level": "foundations", "duration_hours": 6, "capacity": 16})
    cohort = training.call("POST", "/cohorts", {"offering_id": offering["offering_id"],
                                                "session_dates": [date.today().isoformat()]})
    enrolled = training.call("POST", f"/cohorts/{cohort['cohort_id']}/enrolments",
                             {"staff_id": "pharm-01"})
    training.call("POST", f"/cohorts/{cohort['cohort_id']}/sessions/s1/register",
                  {"csv": "staff_id,status\npharm-01,present\n"})
    record = training.call("POST", f"/cohorts/{cohort['cohort_id']}/completions",
                           {"staff_id": "pharm-01"})
    still_open = [r for r in record["requirements"] if r["gap_id"] == gap["gap_id"]]
    print(f"training: pharm-01 {enrolled['state']} on {offering['title']}, attended, completed: "
          f"holds {record['held_level']}; gap {'still open' if still_open else 'closed'}")
    report = training.call("GET", f"/reports/capability?network_id={network_id}")
    return {"training": f"project lead pharm-01 lacked foundations; enrolled, completed, gap "
                        f"{gap['gap_id']} {'still open' if still_open else 'closed'} "
                        f"({report['staff']} people in the registry)"}


def measure_network(args, project, lead_key, codes, weeks):
    """Define the shared measure, submit each practice's ``weeks``, show the network picture.
    Returns the measure's id and the summary lines."""
    lead = Api(args.measurement, lead_key)
    wait_for(lambda: requests.get(f"{args.measurement}/projects/{project['id']}/measures",
                                  headers={"Authorization": f"Bearer {lead_key}"},
                                  timeout=10).ok, "the measurement service to learn the project")
    measure = lead.call("POST", f"/projects/{project['id']}/measures", {
        "name": "SMRs completed to the standard template", "type": "process",
        "value_kind": "proportion", "unit": "share of SMRs", "frequency": "week",
        "operational_definition": "SMRs in the week with every template section completed, "
                                  "over all SMRs in the week", "improvement": "increase",
        "target": 0.8})
    for index, week in enumerate(weeks):
        rate = 0.88 if index >= ADOPTED else 0.42
        rows = [{"measure_id": measure["id"], "practice_id": code, "period": week.isoformat(),
                 "denominator": 20 + 4 * n,
                 "numerator": round((20 + 4 * n) * (rate + ((index * 3 + n) % 5 - 2) / 100))}
                for n, code in enumerate(codes)]
        lead.call("POST", "/submissions/batch", {"rows": rows})
        wait_for(lambda: len([p for p in lead.call("GET", f"/measures/{measure['id']}/pooled")
                              ["periods"] if p["practices_submitted"] == 3]) == index + 1,
                 "the pooled series")
    pooled = lead.call("GET", f"/measures/{measure['id']}/pooled")["periods"]
    print("pooled network series (Σ completed / Σ SMRs):")
    for period in pooled[-10:]:
        print(f"  {period['period']}: {period['numerator']:.0f}/{period['denominator']:.0f} "
              f"= {period['value']:.2f}")
    analysis = lead.call("GET", f"/measures/{measure['id']}/spc")
    print(f"SPC: variation {analysis['variation_type']}, assurance {analysis['assurance_type']}")
    # The template was adopted in week 17: the lead starts a new baseline there.
    lead.call("POST", f"/measures/{measure['id']}/rebase",
              {"date": weeks[ADOPTED].isoformat()})
    analysis = lead.call("GET", f"/measures/{measure['id']}/spc")
    print(f"after rebasing at {weeks[ADOPTED]}: variation {analysis['variation_type']}, "
          f"assurance {analysis['assurance_type']}")
    charts = pathlib.Path(args.charts)
    charts.mkdir(parents=True, exist_ok=True)
    saved = []
    for series in (None, *codes):
        chart = requests.get(f"{args.measurement}/measures/{measure['id']}/chart.svg",
                             params={"practice_id": series} if series else None, timeout=30,
                             headers={"Authorization": f"Bearer {lead_key}"})
        if chart.status_code != 200:
            sys.exit(f"the chart of {series or 'the network'} answered {chart.status_code}: "
                     f"{chart.text}")
        path = charts / f"smr-{series or 'network'}-chart.svg"
        path.write_bytes(chart.content)
        saved.append(str(path))
    print(f"Making Data Count charts saved: {', '.join(saved)}")
    latest = pooled[-1]
    return measure["id"], {
        "submitted": f"{len(weeks)} weeks x {len(codes)} practices to measure {measure['id']}",
        "pooled latest week": f"{latest['period']}: {latest['value']:.2f} "
                              f"(target {measure['target']})",
        "SPC after the rebase": f"variation {analysis['variation_type']}, "
                                f"assurance {analysis['assurance_type']}",
        "charts": ", ".join(saved)}


if __name__ == "__main__":
    sys.exit(main())
