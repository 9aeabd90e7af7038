"""The main job, end to end: the structured medication review (SMR) project of a PCN pharmacist
across three practices, driven through the projects API.

``python -m tools.demo --projects http://127.0.0.1:8001`` (PCN_ADMIN_KEY in the environment).
It registers a network and three practices, issues keys, creates the network project, adds the
team, runs a PDSA cycle and a huddle escalation, and prints what the services answered.
"""
import argparse
import os
import sys
import uuid

import requests


class Api:
    def __init__(self, base, key):
        self.base, self.key = base.rstrip("/"), key

    def call(self, method, path, body=None, expected=(200, 201)):
        response = requests.request(method, self.base + path, json=body, timeout=10,
                                    headers={"Authorization": f"Bearer {self.key}"})
        if response.status_code not in expected:
            sys.exit(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", default="http://127.0.0.1:8001")
    args = parser.parse_args(argv)
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
    project = lead.call("POST", "/projects", {
        "title": "Standardise structured medication reviews",
        "aim": {"what": "SMRs completed to the standard template",
                "how_much": "from 40% to 90%", "by_when": "2027-09-30"},
        "scope": "network", "practice_ids": codes,
        "change_ideas": ["shared SMR template", "pharmacist huddle slot"],
        "members": [{"staff_id": "pharm-01", "role": "lead"},
                    {"staff_id": "lep-07", "role": "lived_experience_partner"}]})
    print(f"project {project['id']} in {network_id}: practices {', '.join(codes)}")
    lead.call("POST", f"/projects/{project['id']}/stage", {"stage": "planning"})
    lead.call("POST", f"/projects/{project['id']}/stage", {"stage": "testing"})
    cycle = practice.call("POST", f"/projects/{project['id']}/pdsa-cycles", {
        "change_idea": "shared SMR template", "plan": "use the template for one week",
        "prediction": "8 of 10 SMRs complete every section"})
    cycle = practice.call("PATCH", f"/pdsa-cycles/{cycle['id']}", {
        "do_notes": "10 SMRs done", "study_notes": "9 of 10 complete; prediction met",
        "act": "adopt"})
    print(f"PDSA cycle {cycle['id']}: {cycle['status']}, act={cycle['act']}")
    item = practice.call("POST", "/huddle-items", {"team": "pharmacy",
                                                   "description": "template missing in EMIS",
                                                   "raised_by": "nurse-12"})
    practice.call("POST", f"/huddle-items/{item['id']}/escalate", {"escalated_to": "pharm-01"})
    item = lead.call("POST", f"/huddle-items/{item['id']}/resolve",
                     {"resolution": "template published to all three practices"})
    print(f"huddle item {item['id']}: {item['status']} after "
          f"{item['time_to_unblock_seconds']:.1f} s")
    refused = requests.get(f"{args.projects}/projects/{project['id']}", timeout=10,
                           headers={"Authorization": "Bearer pcn_nope_nope"})
    print(f"an unknown key gets {refused.status_code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
