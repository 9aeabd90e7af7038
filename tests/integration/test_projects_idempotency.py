"""The projects service honours Idempotency-Key (shared/idempotency.py) on the real broker: a
PDSA cycle started again after a timeout with the same key and body is started once (one
cycle stored, one ``pdsa.cycle_started`` on the broker, the first answer replayed with
``Idempotent-Replayed: true``); the key with another body is refused 409 naming the header;
no key starts a cycle each time, as before. Huddle items and projects take a key too."""
from shared.storage import open_database
from tests.helpers import EventObserver
from tests.integration.conftest import practice_project

CYCLE = {"change_idea": "call back the same day", "plan": "for a week",
         "prediction": "fewer repeat calls"}


def test_a_cycle_started_again_with_its_key_is_started_once(network, service_config):
    observer = EventObserver(service_config["AMQP_URI"], "projects.events",
                             "pdsa.cycle_started")
    own = network["F84001"]
    project_id = practice_project(own, "F84001").json()["id"]
    path, key = f"/projects/{project_id}/pdsa-cycles", {"Idempotency-Key": "start-cycle-1"}

    first = own.post(path, CYCLE, headers=key)
    replay = own.post(path, CYCLE, headers=key)
    assert first.status_code == replay.status_code == 201, first.text
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Location"] == first.headers["Location"] == \
        f"/pdsa-cycles/{first.json()['id']}"

    reused = own.post(path, {**CYCLE, "plan": "for a month"}, headers=key)
    assert reused.status_code == 409
    assert "Idempotency-Key" in reused.json()["fields"], reused.json()

    listed = own.get(path).json()
    assert listed["total"] == 1 and listed["items"][0]["plan"] == "for a week"
    database = open_database(service_config, "projects")
    assert database["pdsa_cycles"].count_documents({"project_id": project_id}) == 1
    started = observer.collect(2, timeout=3.0)  # waits for a second one that must not come
    assert [m[0]["data"]["cycle_id"] for m in started] == [first.json()["id"]]
    observer.close()

    # No key: each request starts a cycle, as before.
    assert own.post(path, CYCLE).status_code == own.post(path, CYCLE).status_code == 201
    assert own.get(path).json()["total"] == 3


def test_huddle_items_and_projects_take_a_key_too(network):
    own = network["F84001"]
    item = {"team": "reception", "description": "phones down at 8am", "raised_by": "rec-2"}
    key = {"Idempotency-Key": "raise-1"}
    first, replay = (own.post("/huddle-items", item, headers=key) for _ in range(2))
    assert first.status_code == replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert own.get("/huddle-items").json()["total"] == 1

    key = {"Idempotency-Key": "create-1"}
    first, replay = (practice_project(own, "F84001", headers=key) for _ in range(2))
    assert first.status_code == replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["Location"] == f"/projects/{first.json()['id']}"
    assert own.get("/projects").json()["total"] == 1
    other = practice_project(own, "F84001", headers=key, title="Another title")
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["fields"]
    # The same key of another caller is theirs: nothing of F84001's answer is given to them.
    theirs = practice_project(network["F84002"], "F84002", headers=key)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
