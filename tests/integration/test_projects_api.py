"""The projects service's HTTP API on the real broker: flows, authorization, refusals."""

import pytest

from shared.storage import open_database
from tests.helpers import ServiceClient, promtool_check_metrics
from tests.integration.conftest import network_project, practice_project

COLLECTIONS = ("networks", "practices", "api_keys", "projects", "pdsa_cycles", "huddle_items")


def snapshot(service_config):
    database = open_database(service_config, "projects")
    # The relay changes outbox fields meanwhile; the state is everything else.
    return {name: sorted(map(str, database[name].find({}, {"outbox": 0, "outbox_since": 0})))
            for name in COLLECTIONS}


def test_no_key_or_unknown_key_is_401(admin):
    anonymous = admin.as_key(None)
    response = anonymous.get("/projects")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert admin.as_key("pcn_0123456789abcdef_forged").get("/projects").status_code == 401
    assert admin.as_key("not-even-shaped-like-a-key").get("/projects").status_code == 401


def test_practice_key_cannot_read_or_write_another_practices_objects(network):
    own, other, foreign = network["F84001"], network["F84002"], network["Y00001"]
    project_id = practice_project(own, "F84001").json()["id"]
    item_id = own.post("/huddle-items", {"team": "nurses", "description": "printer jams",
                                         "raised_by": "nurse-1"}).json()["id"]
    cycle_id = own.post(f"/projects/{project_id}/pdsa-cycles", {
        "change_idea": "call back", "plan": "p", "prediction": "q"}).json()["id"]
    for intruder in (other, foreign):
        assert intruder.get(f"/projects/{project_id}").status_code == 404
        assert intruder.post(f"/projects/{project_id}/stage",
                             {"stage": "planning"}).status_code == 404
        assert intruder.post(f"/projects/{project_id}/members",
                             {"staff_id": "x-1", "role": "member"}).status_code == 404
        assert intruder.post(f"/projects/{project_id}/pdsa-cycles",
                             {"change_idea": "c", "plan": "p"}).status_code == 404
        assert intruder.get(f"/pdsa-cycles/{cycle_id}").status_code == 404
        assert intruder.patch(f"/pdsa-cycles/{cycle_id}", {"do_notes": "x"}).status_code == 404
        assert intruder.get(f"/huddle-items/{item_id}").status_code == 404
        assert intruder.post(f"/huddle-items/{item_id}/escalate",
                             {"escalated_to": "lead-1", "reason": "r"}).status_code == 404
        assert intruder.get("/projects").json()["total"] == 0
        assert intruder.get("/huddle-items").json()["total"] == 0
    # Creating for another practice is refused too.
    assert practice_project(own, "F84002").status_code == 403
    assert own.post("/huddle-items", {"practice_id": "F84002", "team": "t", "description": "d",
                                      "raised_by": "nurse-1"}).status_code == 404
    # A lead of another network sees nothing of this one.
    assert network["lead"].get(f"/projects/{project_id}").status_code == 200


def test_network_lead_runs_a_network_project_that_practices_join(network):
    lead, own, other = network["lead"], network["F84001"], network["F84002"]
    response = network_project(lead, ("F84001",), members=[
        {"staff_id": "pharm-1", "role": "lead"},
        {"staff_id": "lep-1", "role": "lived_experience_partner"}])
    assert response.status_code == 201, response.text
    project = response.json()
    assert project["stage"] == "idea" and project["lived_experience_partners"] == 1
    assert other.get(f"/projects/{project['id']}").status_code == 404
    joined = lead.post(f"/projects/{project['id']}/practices", {"practice_id": "F84002"})
    assert joined.status_code == 200 and joined.json()["practice_ids"] == ["F84001", "F84002"]
    assert lead.post(f"/projects/{project['id']}/practices",
                     {"practice_id": "F84002"}).status_code == 409
    assert other.get(f"/projects/{project['id']}").status_code == 200
    # A participating practice may not move a network project's stage, but adds its members.
    assert own.post(f"/projects/{project['id']}/stage", {"stage": "planning"}).status_code == 403
    added = own.post(f"/projects/{project['id']}/members", {"staff_id": "gp-7", "role": "member"})
    assert added.status_code == 201
    assert {"staff_id": "gp-7", "role": "member", "practice_id": "F84001"}.items() <= \
        added.json()["members"][-1].items()
    assert own.post(f"/projects/{project['id']}/members",
                    {"staff_id": "gp-7", "role": "member"}).status_code == 409


def test_stage_transitions_only_sensible_ones(network):
    own = network["F84001"]
    project_id = practice_project(own, "F84001").json()["id"]
    refused = own.post(f"/projects/{project_id}/stage", {"stage": "sustaining"})
    assert refused.status_code == 409
    assert "stage" in refused.json()["fields"]
    for stage in ("planning", "testing", "planning", "testing", "implementing", "closed"):
        response = own.post(f"/projects/{project_id}/stage", {"stage": stage})
        assert response.status_code == 200, (stage, response.text)
    assert own.post(f"/projects/{project_id}/stage", {"stage": "idea"}).status_code == 409
    history = own.get(f"/projects/{project_id}").json()["stage_history"]
    assert [h["to_stage"] for h in history] == ["idea", "planning", "testing", "planning",
                                                "testing", "implementing", "closed"]


def test_pdsa_cycle_without_prediction_is_flagged_and_completes_with_act(network):
    own = network["F84001"]
    project_id = practice_project(own, "F84001").json()["id"]
    cycle = own.post(f"/projects/{project_id}/pdsa-cycles",
                     {"change_idea": "text reminders", "plan": "send for a week"}).json()
    assert cycle["flags"] == ["no_prediction"] and cycle["status"] == "running"
    assert cycle["practice_id"] == "F84001"
    refused = own.patch(f"/pdsa-cycles/{cycle['id']}", {"act": "adopt"})
    assert refused.status_code == 422 and "study_notes" in refused.json()["fields"]
    done = own.patch(f"/pdsa-cycles/{cycle['id']}", {
        "prediction": "fewer DNAs", "study_notes": "DNAs fell from 9 to 4", "act": "adapt"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["flags"] == []
    assert own.patch(f"/pdsa-cycles/{cycle['id']}", {"do_notes": "late"}).status_code == 409
    listed = own.get(f"/projects/{project_id}/pdsa-cycles").json()
    assert listed["total"] == 1 and listed["items"][0]["act"] == "adapt"


def test_huddle_item_escalates_and_resolves_with_time_to_unblock(network):
    own, lead = network["F84001"], network["lead"]
    item = own.post("/huddle-items", {"team": "reception", "description": "phones down at 8am",
                                      "raised_by": "rec-2"}).json()
    assert item["status"] == "open" and item["practice_id"] == "F84001"
    without_reason = own.post(f"/huddle-items/{item['id']}/escalate", {"escalated_to": "pm-1"})
    assert without_reason.status_code == 422 and "reason" in without_reason.json()["fields"]
    escalated = own.post(f"/huddle-items/{item['id']}/escalate",
                         {"escalated_to": "pm-1", "reason": "needs a second line"})
    assert escalated.status_code == 200 and escalated.json()["escalated_to"] == "pm-1"
    assert escalated.json()["escalation_reason"] == "needs a second line"
    assert own.post(f"/huddle-items/{item['id']}/escalate",
                    {"escalated_to": "pm-1", "reason": "again"}).status_code == 409
    resolved = lead.post(f"/huddle-items/{item['id']}/resolve", {"resolution": "new line"})
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved" and resolved.json()["column"] == "done"
    assert resolved.json()["time_to_unblock_seconds"] >= 0
    assert lead.get("/huddle-items?status=resolved").json()["total"] == 1
    assert lead.get("/huddle-items?status=open").json()["total"] == 0


@pytest.mark.parametrize("path, body, status, field", [
    ("/projects", {"title": "t"}, 422, "aim"),
    ("/projects", {"title": "t", "scope": "galaxy", "practice_ids": ["F84001"],
                   "aim": {"what": "w", "how_much": "h", "by_when": "2027-01-01"}}, 422, "scope"),
    ("/projects", {"title": "t", "scope": "practice", "practice_ids": ["F84001"],
                   "aim": {"what": "w", "how_much": "h", "by_when": "soon"}}, 422, "aim.by_when"),
    ("/projects", {"title": "t", "scope": "practice", "practice_ids": ["bad"],
                   "aim": {"what": "w", "how_much": "h", "by_when": "2027-01-01"}}, 422,
     "practice_ids.0"),
    ("/projects", {"title": "t", "scope": "practice", "practice_ids": ["F84001"], "colour": 1,
                   "aim": {"what": "w", "how_much": "h", "by_when": "2027-01-01"}}, 422, "colour"),
    ("/projects", {"title": "Patient 943 476 5919 review", "scope": "practice",
                   "practice_ids": ["F84001"],
                   "aim": {"what": "w", "how_much": "h", "by_when": "2027-01-01"}}, 422, "title"),
    ("/huddle-items", {"team": "t", "description": "d", "raised_by": "a b c"}, 422, "raised_by"),
    ("/huddle-items", [1, 2], 422, "_schema"),
])
def test_bad_input_names_the_field_and_writes_nothing(network, service_config, path, body,
                                                      status, field):
    before = snapshot(service_config)
    response = network["F84001"].post(path, body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error"] == "validation_failed" and field in payload["fields"], payload
    assert snapshot(service_config) == before


def test_malformed_json_is_400_and_writes_nothing(network, service_config):
    before = snapshot(service_config)
    response = network["F84001"].request("POST", "/projects", data="{not json",
                                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"body": [response.json()["fields"]["body"][0]]}
    assert snapshot(service_config) == before


def test_registry_refusals(admin, network):
    duplicate = admin.post("/networks", {"id": "north-pcn", "name": "again"})
    assert duplicate.status_code == 409
    unknown_network = admin.post("/practices", {"ods_code": "F84009", "name": "x",
                                                "network_id": "nowhere"})
    assert unknown_network.status_code == 422 and "network_id" in unknown_network.json()["fields"]
    lead = network["lead"]
    assert lead.post("/networks", {"id": "mine-pcn", "name": "x"}).status_code == 403
    assert lead.post("/api-keys", {"role": "practice", "practice_id": "Y00001"}).status_code == 403
    assert lead.post("/api-keys", {"role": "admin"}).status_code == 403
    assert lead.post("/api-keys", {"role": "practice", "practice_id": "F84002"}).status_code == 201
    assert network["F84001"].post("/api-keys", {"role": "practice",
                                                "practice_id": "F84001"}).status_code == 403
    listed = lead.get("/api-keys").json()
    assert listed["total"] == 4 and all(k["network_id"] == "north-pcn" for k in listed["items"])
    assert all("key_hash" not in k and "api_key" not in k for k in listed["items"])


def test_unknown_paths_and_methods_answer_in_the_error_shape(admin):
    missing = admin.get("/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong_method = admin.request("DELETE", "/projects")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"


def test_lists_paginate(network):
    own = network["F84001"]
    for number in range(5):
        own.post("/huddle-items", {"team": "t", "description": f"item {number}",
                                   "raised_by": "nurse-1"})
    first = own.get("/huddle-items?page=1&page_size=2").json()
    third = own.get("/huddle-items?page=3&page_size=2").json()
    assert (first["total"], len(first["items"]), len(third["items"])) == (5, 2, 1)
    assert own.get("/huddle-items?page_size=500").status_code == 422


def test_health_ready_openapi_and_metrics(admin, network, service_config):
    assert admin.as_key(None).get("/health").json()["status"] == "ok"
    ready = admin.as_key(None).get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"broker": True, "storage": True}
    document = admin.as_key(None).get("/openapi.json").json()
    assert document["openapi"].startswith("3.") and "/projects/{project_id}/stage" in document["paths"]
    assert "ProjectIn" in document["components"]["schemas"]
    assert network["F84001"].get("/metrics").status_code == 403
    ops_key = admin.post("/api-keys", {"role": "ops"}).json()["api_key"]
    assert ServiceClient(service_config["WEB_SERVER_ADDRESS"], ops_key).get("/projects").status_code == 403
    response = ServiceClient(service_config["WEB_SERVER_ADDRESS"], ops_key).get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'pcn_entrypoint_calls_total{entrypoint="create_practice",outcome="success",service="projects"}' in text
    assert 'pcn_http_requests_total{method="POST",service="projects",status="201"}' in text
    assert "pcn_outbox_backlog" in text and "pcn_outbox_oldest_age_seconds" in text
    static_ops = ServiceClient(service_config["WEB_SERVER_ADDRESS"], service_config["PCN_OPS_KEY"])
    assert static_ops.get("/metrics").status_code == 200
    assert static_ops.get("/projects").status_code == 403
    promtool_check_metrics(text)
