"""The training service on the real broker, with the projects service feeding it: a network of
three practices and 40 staff; gaps raised once on the broker however often the overdue check
runs; a project lead without foundations found when the project moves to testing through the
projects service's API; the course that closes the gap; access and refusals."""
from datetime import date, timedelta

import pytest
from nameko.testing.services import entrypoint_hook

from services.registry import CONFIG_PATH
from shared.storage import open_database
from tests.helpers import EventObserver, promtool_check_metrics, started, wait_until
from tests.integration.conftest import network_project

PRACTICES = ("F84001", "F84002", "F84003")
TODAY = date.today()
GAP = "training.capability_gap_identified"


def days_ago(days):
    return (TODAY - timedelta(days=days)).isoformat()


def person(staff_id, practice_id, started_days_ago, team="smr", role="clinical_pharmacist",
           leader=False):
    return {"staff_id": staff_id, "network_id": "north-pcn", "practice_id": practice_id,
            "team": team, "role": role, "leader": leader, "started_on": days_ago(started_days_ago)}


def forty_staff():
    """37 who started a month ago (nothing due), two starters 100 days in without
    ``introduction`` and a practice manager 400 days in without ``improvement_leader``."""
    rows = [person(f"s{n:02d}", PRACTICES[n % 3], 30) for n in range(1, 38)]
    rows += [person("new01", "F84002", 100), person("new02", "F84003", 100),
             person("mgr01", "F84001", 400, team="management", role="practice_manager",
                    leader=True)]
    return rows


@pytest.fixture
def keys(admin, network, training, training_heard_of):
    """Training clients for the lead and each practice's key, once training has the keys."""
    assert admin.post("/practices", {"ods_code": "F84003", "name": "Practice F84003",
                                     "network_id": "north-pcn"}).status_code == 201
    network["F84003"] = admin.as_key(
        admin.post("/api-keys", {"role": "practice", "practice_id": "F84003"}).json()["api_key"])
    clients = {name: training.as_key(client.key) for name, client in network.items()}
    training_heard_of(*PRACTICES)
    for client in clients.values():
        assert wait_until(lambda: client.get("/offerings").status_code == 200)
    return clients


@pytest.fixture
def registry(keys):
    response = keys["lead"].post("/staff-imports", {"rows": forty_staff()})
    assert response.status_code == 201, response.text
    assert len(response.json()["items"]) == 40
    # The manager holds introduction already (prior training): only the leaders' gap is due.
    response = keys["lead"].post("/levels", {"staff_id": "mgr01", "level": "introduction",
                                             "evidence": "induction course at a previous trust"})
    assert response.status_code == 201, response.text
    return keys


def observe(service_config, routing_key):
    return EventObserver(service_config["AMQP_URI"], "training.events", routing_key)


def handled(training_config, handler, count):
    applied = open_database(training_config, "training")["applied_events"]
    return wait_until(lambda: applied.count_documents({"handler": handler}) >= count,
                      timeout=15)


def test_overdue_gaps_reach_the_broker_once_however_often_the_check_runs(
        registry, training, training_service, service_config):
    observer = observe(service_config, GAP)
    try:
        with entrypoint_hook(training_service, "check_overdue") as check:
            passes = [check() for _ in range(3)]
        assert [p["gaps"] for p in passes] == [3, 0, 0]
        # Only the three falling due are read, then nobody (the check does not scan 40).
        assert passes[0]["read"] == 3 and passes[1]["read"] == passes[2]["read"] == 0
        gaps = observer.collect(3, timeout=15, settle=2)
    finally:
        observer.close()
    found = sorted((body["data"]["staff_id"], body["data"]["requirement_id"])
                   for body, _ in gaps)
    assert found == [("mgr01", "leader_improvement_leader"), ("new01", "starter_introduction"),
                     ("new02", "starter_introduction")]
    record = registry["F84002"].get("/staff/new01").json()
    assert [(r["required_level"], r["overdue"]) for r in record["requirements"]] == [
        ("introduction", True)]
    text = training.as_key(service_config["PCN_OPS_KEY"]).get("/metrics").text
    assert "pcn_training_overdue_pass_documents_read 0.0" in text  # the last pass read nobody
    assert 'pcn_training_gaps_total{change="opened",reason="overdue"}' in text
    assert 'service="training"' in text
    promtool_check_metrics(text)


def test_a_project_lead_without_foundations_has_a_gap_when_the_project_moves_to_testing(
        registry, network, training_config, service_config):
    lead = network["lead"]  # the projects service, through its API
    project = network_project(lead, PRACTICES).json()
    response = lead.post(f"/projects/{project['id']}/members",
                         {"staff_id": "s01", "role": "lead", "practice_id": "F84002"})
    assert response.status_code == 201, response.text
    assert lead.post(f"/projects/{project['id']}/stage", {"stage": "planning"}).status_code == 200
    assert handled(training_config, "training.record_member_added", 1)
    assert handled(training_config, "training.record_stage_changed", 1)
    observer = observe(service_config, "training.#")
    try:
        response = lead.post(f"/projects/{project['id']}/stage", {"stage": "testing"})
        assert response.status_code == 200, response.text
        raised = observer.collect(1, timeout=15, settle=2)
        assert [(body["event_type"], body["data"]["staff_id"], body["data"]["reason"])
                for body, _ in raised] == [(GAP, "s01", "project_lead")]
        record = registry["F84002"].get("/staff/s01").json()
        assert record["practical_evidence"]["projects"][0]["project_id"] == project["id"]
        gap = [r for r in record["requirements"]
               if r["requirement_id"] == "project_lead_foundations"]
        assert gap and gap[0]["overdue"] and gap[0]["project_id"] == project["id"]

        # The lead enrols on a foundations course, attends, completes: the gap closes.
        trainer = registry["lead"]
        offering = trainer.post("/offerings", {
            "network_id": "north-pcn", "kind": "course", "title": "QI foundations",
            "awards_level": "foundations", "duration_hours": 6, "capacity": 12})
        assert offering.status_code == 201, offering.text
        cohort = trainer.post("/cohorts", {"offering_id": offering.json()["offering_id"],
                                           "session_dates": [TODAY.isoformat()]})
        assert cohort.status_code == 201, cohort.text
        cohort_id = cohort.json()["cohort_id"]
        practice = registry["F84002"]
        enrolled = practice.post(f"/cohorts/{cohort_id}/enrolments", {"staff_id": "s01"})
        assert enrolled.status_code == 201 and enrolled.json()["state"] == "enrolled"
        assert practice.post(f"/cohorts/{cohort_id}/sessions/s1/attendance",
                             {"staff_id": "s01", "status": "present"}).status_code == 200
        completed = practice.post(f"/cohorts/{cohort_id}/completions", {"staff_id": "s01"})
        assert completed.status_code == 200, completed.text
        assert completed.json()["held_level"] == "foundations"
        # The lead's gap is gone; what remains is the refresher due in three years.
        assert [(r["requirement_id"], r["overdue"]) for r in completed.json()["requirements"]
                if r["required_level"] == "foundations"] == [("refresh_foundations", False)]
        after = observer.collect(4, timeout=15, settle=2)
    finally:
        observer.close()
    types = [body["event_type"] for body, _ in after]
    assert sorted(types) == ["training.completed", "training.enrolled", "training.gap_closed",
                             "training.level_awarded"]
    closed = next(body for body, _ in after if body["event_type"] == "training.gap_closed")
    assert closed["data"]["staff_id"] == "s01"
    assert closed["data"]["gap_id"] == raised[0][0]["data"]["gap_id"]


def test_a_practice_key_sees_and_writes_only_its_own_staff(registry, training):
    other = registry["F84002"]  # s03 works at F84001 (PRACTICES[3 % 3])
    assert registry["F84001"].get("/staff/s03").status_code == 200
    assert other.get("/staff/s03").status_code == 404
    assert other.patch("/staff/s03", {"team": "dispensary"}).status_code == 404
    assert other.post("/staff/s03/assessments", {"assessed_level": "introduction",
                                                 "assessor_staff_id": "s02"}).status_code == 404
    listed = other.get("/staff", params={"page_size": 100}).json()
    assert listed["total"] == 14 and {s["practice_id"] for s in listed["items"]} == {"F84002"}
    report = other.get("/reports/capability", params={"practice_id": "F84001"})
    assert report.status_code == 404
    assert registry["lead"].get("/staff/s03").json()["staff_id"] == "s03"
    pyramid = registry["F84001"].get("/reports/capability/pyramid.svg",
                                     params={"practice_id": "F84001"})
    assert pyramid.status_code == 200 and pyramid.headers["Content-Type"].startswith(
        "image/svg+xml")
    assert other.get("/reports/capability/pyramid.png",
                     params={"practice_id": "F84001"}).status_code == 404
    report = registry["lead"].get("/reports/capability", params={"network_id": "north-pcn"})
    assert report.status_code == 200 and report.json()["staff"] == 40
    assert training.as_key(None).get("/ready").json()["checks"] == {"broker": True,
                                                                     "storage": True}


def test_bad_input_is_named_by_field_and_writes_nothing(registry):
    lead, practice = registry["lead"], registry["F84001"]
    rows = [person("x01", "F84001", 10), {**person("x02", "F84001", 10), "started_on": "soon"},
            {**person("x03", "F84001", 10), "email": "a@b.org"}]
    response = lead.post("/staff-imports", {"rows": rows})
    assert response.status_code == 422, response.text
    assert set(response.json()["fields"]) == {"rows.1.started_on", "rows.2.email"}
    assert lead.get("/staff/x01").status_code == 404

    response = lead.post("/levels", {"staff_id": "s03", "level": "wizard",
                                     "evidence": "a certificate"})
    assert response.status_code == 422 and "level" in response.json()["fields"]
    assert lead.get("/staff/s03").json()["levels"] == {}

    offering = lead.post("/offerings", {
        "network_id": "north-pcn", "kind": "workshop", "title": "Introduction to QI",
        "awards_level": "introduction", "duration_hours": 2, "capacity": 1}).json()
    cohort = lead.post("/cohorts", {"offering_id": offering["offering_id"], "session_dates": [
        days_ago(60), TODAY.isoformat()]}).json()
    path = f"/cohorts/{cohort['cohort_id']}"
    assert practice.post(f"{path}/enrolments", {"staff_id": "s03"}).json()["state"] == "enrolled"
    # Past capacity: the waiting list, not a refusal.
    assert practice.post(f"{path}/enrolments", {"staff_id": "s06"}).json()["state"] == "waiting"
    # A completion for someone not enrolled.
    response = practice.post(f"{path}/completions", {"staff_id": "s09"})
    assert response.status_code == 422 and "staff_id" in response.json()["fields"]
    # Attendance at a session before the person started (s03 started 30 days ago).
    response = practice.post(f"{path}/sessions/s1/attendance",
                             {"staff_id": "s03", "status": "present"})
    assert response.status_code == 422 and "session_id" in response.json()["fields"]
    assert lead.get(path).json()["enrolments"][0]["attendance"] == {}
    # A practice's leader assessing outside their team.
    response = registry["F84001"].post("/staff/s03/assessments", {
        "assessed_level": "foundations", "assessor_staff_id": "mgr01"})
    assert response.status_code == 403 and "assessor_staff_id" in response.json()["fields"]
    assert lead.get("/staff/s03").json()["assessments"] == []


def test_the_overdue_check_runs_as_often_as_the_config_says(container_factory, training_config):
    """Every 60 s unless TRAINING_OVERDUE_CHECK_SECONDS says otherwise."""
    from services.training.service import TrainingService

    with open(CONFIG_PATH) as config:
        assert "TRAINING_OVERDUE_CHECK_SECONDS: ${TRAINING_OVERDUE_CHECK_SECONDS:60}\n" in list(
            config)
    for setting, interval in ((7, 7.0), (None, 60.0)):
        config = {**training_config, "TRAINING_OVERDUE_CHECK_SECONDS": setting}
        container = started(container_factory, TrainingService, config)
        timer = next(e for e in container.entrypoints if e.method_name == "check_overdue")
        assert (timer.interval, timer.lease_seconds) == (interval, interval * 1.5 + 5)
        container.stop()
