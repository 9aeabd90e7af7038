"""Regressions of the hostile input issue 6 reproduced, on the real broker: each refused with a
4xx naming the field, and values stored before the bounds existed never make a read answer
500 or non-JSON. The pooled-series handler retries (then dead-letters) a failed analysis
instead of skipping it as a duplicate."""
import json
from datetime import date, timedelta

import pytest

from services.measurement import domain
from services.measurement.domain import align_period, submission_id
from shared.messaging import dead_letter_queue_name
from shared.storage import open_database
from tests.helpers import queue_messages, wait_until
from tests.integration.conftest import network_project

THIS_WEEK = align_period(date.today(), "week")
WEEKS = [THIS_WEEK - timedelta(weeks=w) for w in range(12, 0, -1)]


@pytest.fixture
def hostile(admin, network, measurement, measurement_config):
    """A network project of F84001 and F84002 with a count, a proportion and a rate measure,
    twelve weeks of counts from both practices, and the measurement service's database."""
    lead = network["lead"]
    project = network_project(lead).json()
    clients = {name: measurement.as_key(client.key) for name, client in network.items()}
    assert wait_until(lambda: clients["lead"].get(
        f"/projects/{project['id']}/measures").status_code == 200)
    measures = {}
    for kind in ("count", "proportion", "rate"):
        response = clients["lead"].post(f"/projects/{project['id']}/measures", {
            "name": f"A {kind}", "type": "process", "value_kind": kind, "frequency": "week",
            "operational_definition": "as counted", "improvement": "increase"})
        assert response.status_code == 201, response.text
        measures[kind] = response.json()["id"]
    rows = [{"measure_id": measures["count"], "practice_id": code,
             "period": week.isoformat(), "value": 10 + i % 3}
            for i, week in enumerate(WEEKS) for code in ("F84001", "F84002")]
    assert clients["lead"].post("/submissions/batch", {"rows": rows}).status_code == 200
    database = open_database(measurement_config, "measurement")
    assert wait_until(lambda: database["pooled_periods"].count_documents(
        {"measure_id": measures["count"], "practices": 2}) == len(WEEKS))
    return {"project": project, "measures": measures, "clients": clients,
            "projects_clients": network, "database": database}


def refused(response, status, field):
    assert response.status_code == status, response.text
    body = response.json()
    assert any(name == field or name.endswith(f".{field}") for name in body["fields"]), body
    return body


def test_dates_near_year_1_and_9999_are_refused(hostile):
    lead, measures = hostile["clients"]["lead"], hostile["measures"]
    projects_lead = hostile["projects_clients"]["lead"]
    project_id = hostile["project"]["id"]
    for day in ("0001-01-01", "9999-12-31", "1999-12-31"):
        refused(lead.post("/submissions", {"measure_id": measures["count"], "period": day,
                                           "practice_id": "F84001", "value": 1}), 422, "period")
        refused(lead.post(f"/projects/{project_id}/feedback", {
            "source": "staff", "rating": 3, "period": day, "practice_id": "F84001"}),
            422, "period")
        refused(lead.post(f"/measures/{measures['count']}/rebase", {"date": day}), 422, "date")
        refused(projects_lead.post(f"/projects/{project_id}/pdsa-cycles", {
            "change_idea": "x", "plan": "p", "practice_id": "F84001", "started_on": day}),
            422, "started_on")
        refused(network_project(projects_lead, aim={"what": "w", "how_much": "h",
                                                     "by_when": day}), 422, "by_when")
    far = date(date.today().year + 2, 1, 1).isoformat()
    refused(projects_lead.post(f"/projects/{project_id}/pdsa-cycles", {
        "change_idea": "x", "plan": "p", "practice_id": "F84001", "started_on": far}),
        422, "started_on")
    cycle = projects_lead.post(f"/projects/{project_id}/pdsa-cycles", {
        "change_idea": "x", "plan": "p", "practice_id": "F84001"}).json()
    refused(projects_lead.patch(f"/pdsa-cycles/{cycle['id']}", {
        "act": "adopt", "completed_on": "9999-12-31"}), 422, "completed_on")


def test_charts_survive_stored_dates_near_year_1_and_9999(hostile):
    """Cycles stored before the bounds existed are left off the chart (outside the series);
    a stored period out of bounds answers 409 naming it, never 500."""
    lead, measures, database = (hostile["clients"]["lead"], hostile["measures"],
                                hostile["database"])
    project_id = hostile["project"]["id"]
    for cycle_id, day in (("pdsa_year1", "0001-01-01"), ("pdsa_year9999", "9999-12-31")):
        database["annotations"].insert_one({"_id": cycle_id, "project_id": project_id,
                                            "practice_id": "F84001", "change_idea": "far away",
                                            "started_on": day})
    for path in ("chart.svg", "chart.png", "chart.svg?practice_id=F84001"):
        response = lead.get(f"/measures/{measures['count']}/{path}")
        assert response.status_code == 200, response.text
    assert b"far away" not in lead.get(f"/measures/{measures['count']}/chart.svg").content
    database["pooled_periods"].insert_one({
        "_id": f"{measures['count']}|9999-12-27", "measure_id": measures["count"],
        "period": "9999-12-27", "total": 5.0, "weight": 2.0, "numerator": 0.0,
        "denominator": 0.0, "practices": 2})
    for path in ("chart.svg", "chart.png", "spc", "pooled"):
        body = refused(lead.get(f"/measures/{measures['count']}/{path}"), 409, "period")
        assert "9999-12-27" in body["fields"]["period"][0]


def test_huge_values_are_refused_with_the_field_named(hostile):
    lead, measures = hostile["clients"]["lead"], hostile["measures"]
    week = WEEKS[-1].isoformat()
    for code in ("F84001", "F84002"):
        refused(lead.post("/submissions", {"measure_id": measures["count"], "period": week,
                                           "practice_id": code, "value": 1.79e308}),
                422, "value")
    # 1.8e308 is beyond a float: JSON parsers read it as infinity.
    response = lead.request("POST", "/submissions", headers={
        "Content-Type": "application/json"}, data=(
            '{"measure_id": "%s", "period": "%s", "practice_id": "F84001", "value": 1.8e308}'
            % (measures["count"], week)))
    refused(response, 422, "value")
    refused(lead.post("/submissions", {"measure_id": measures["rate"], "period": week,
                                       "practice_id": "F84001", "numerator": 1e308,
                                       "denominator": 1e-10}), 422, "numerator")
    refused(lead.post("/submissions", {"measure_id": measures["rate"], "period": week,
                                       "practice_id": "F84001", "numerator": 1e12,
                                       "denominator": 1e-10}), 422, "denominator")
    # Within each bound, but the ratio is beyond one: the denominator is named.
    refused(lead.post("/submissions", {"measure_id": measures["rate"], "period": week,
                                       "practice_id": "F84001", "numerator": 1e12,
                                       "denominator": 1e-3}), 422, "denominator")
    refused(lead.post("/submissions", {"measure_id": measures["count"], "period": week,
                                       "practice_id": "F84001", "value": 2.5}), 422, "value")
    refused(lead.post("/submissions", {"measure_id": measures["proportion"], "period": week,
                                       "practice_id": "F84001", "numerator": 3,
                                       "denominator": 2}), 422, "numerator")
    project_id = hostile["project"]["id"]
    for bad in (2 ** 63, 2 ** 64, 10 ** 6, 11, 12.5):
        refused(lead.post(f"/projects/{project_id}/measures", {
            "name": "n", "type": "process", "value_kind": "count", "frequency": "week",
            "operational_definition": "d", "improvement": "increase",
            "fix_after_n_points": bad}), 422, "fix_after_n_points")
    refused(lead.post(f"/projects/{project_id}/measures", {
        "name": "n", "type": "process", "value_kind": "count", "frequency": "week",
        "operational_definition": "d", "improvement": "increase", "target": 1.79e308}),
        422, "target")
    for query in (f"page={2 ** 63}", "page=0", "page_size=201", "page=1.5"):
        refused(lead.get(f"/measures/{measures['count']}/submissions?{query}"), 422,
                query.split("=")[0])
    refused(hostile["projects_clients"]["lead"].get(f"/projects?page={2 ** 63}"), 422, "page")


def test_stored_huge_values_answer_409_never_500_or_infinity(hostile):
    """Two practices × 1.79e308 stored before the bounds existed: their sum is infinite."""
    lead, measures, database = (hostile["clients"]["lead"], hostile["measures"],
                                hostile["database"])
    measure_id, week = measures["count"], WEEKS[-1].isoformat()
    for code in ("F84001", "F84002"):
        database["submissions"].update_one(
            {"_id": submission_id(measure_id, code, WEEKS[-1])},
            {"$set": {"contribution.value": 1.79e308}})
    database["pooled_periods"].update_one({"_id": f"{measure_id}|{week}"},
                                          {"$set": {"total": float("inf")}})
    for path in ("pooled", "spc", "chart.svg", "chart.png", "spc?practice_id=F84001",
                 "chart.svg?practice_id=F84002"):
        response = lead.get(f"/measures/{measure_id}/{path}")
        body = refused(response, 409, "period")
        assert week in body["fields"]["period"][0]
        assert "Infinity" not in response.text and "NaN" not in response.text
    listed = lead.get(f"/measures/{measure_id}/submissions?practice_id=F84001")
    assert listed.status_code == 200
    json.loads(listed.text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


def test_405_names_the_allowed_methods(hostile, measurement):
    for client, path in ((measurement, f"/measures/{hostile['measures']['count']}"),
                         (hostile["projects_clients"]["lead"], "/networks")):
        response = client.request("DELETE", path)
        assert response.status_code == 405
        assert response.headers["Content-Type"] == "application/json"
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert "GET" in allowed and "DELETE" not in allowed
        assert response.json()["error"] == "method_not_allowed"


def test_documents_describe_pages_nullables_and_repeat_submissions(hostile, measurement):
    lead, measures = hostile["clients"]["lead"], hostile["measures"]
    projects_document = hostile["projects_clients"]["lead"].get("/openapi.json").json()
    measurement_document = measurement.get("/openapi.json").json()
    listed = projects_document["paths"]["/projects/{project_id}/pdsa-cycles"]["get"]
    page = listed["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page == "#/components/schemas/PdsaCycleOutPage"
    assert set(projects_document["components"]["schemas"]["PdsaCycleOutPage"][
        "properties"]) == {"items", "page", "page_size", "total"}
    answered = hostile["projects_clients"]["lead"].get(
        f"/projects/{hostile['project']['id']}/pdsa-cycles").json()
    assert set(answered) == {"items", "page", "page_size", "total"}
    spc_point = measurement_document["components"]["schemas"]["SpcPointOut"]["properties"]
    assert spc_point["outside_limits"]["nullable"] and spc_point["close_to_limits"]["nullable"]
    submit = measurement_document["paths"]["/submissions"]["post"]["responses"]
    assert {"200", "201"} <= set(submit)
    result = measurement_document["components"]["schemas"]["SubmissionResultOut"]
    assert "outcome" in result["properties"]
    row = {"measure_id": measures["count"], "period": WEEKS[0].isoformat(),
           "practice_id": "F84001", "value": 99}
    first, again = lead.post("/submissions", row), lead.post("/submissions", row)
    assert (first.status_code, first.json()["outcome"]) == (200, "corrected")
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    bounds = measurement_document["components"]["schemas"]["SubmissionIn"]["properties"]
    assert bounds["value"]["maximum"] == 1e12 and bounds["period"]["format"] == "date"


def handler_queue(container):
    return next(e.queue.name for e in container.entrypoints
                if e.method_name == "apply_to_network_series")


def test_a_failed_analysis_is_retried_not_skipped_as_duplicate(hostile, monkeypatch):
    """The pooled sums are applied, then the analysis fails once: the retry sees the sums as
    a duplicate and must still analyse (before the fix it returned, leaving no state)."""
    lead, measures, database = (hostile["clients"]["lead"], hostile["measures"],
                                hostile["database"])
    measure_id = measures["proportion"]
    analyse, calls = domain.analyse_series, []

    def fails_first(measure, points, series="pooled"):
        calls.append(series)
        if len(calls) == 1:
            raise RuntimeError("analysis failed once")
        return analyse(measure, points, series)

    monkeypatch.setattr(domain, "analyse_series", fails_first)
    response = lead.post("/submissions", {"measure_id": measure_id, "practice_id": "F84001",
                                          "period": WEEKS[-1].isoformat(), "numerator": 3,
                                          "denominator": 4})
    assert response.status_code == 201, response.text
    assert wait_until(lambda: database["series_state"].find_one(
        {"_id": f"{measure_id}|F84001"}), timeout=10)
    assert database["series_state"].find_one({"_id": f"{measure_id}|pooled"})
    pooled = database["pooled_periods"].find_one({"_id": f"{measure_id}|{WEEKS[-1]}"})
    assert (pooled["numerator"], pooled["denominator"], pooled["practices"]) == (3.0, 4.0, 1)
    assert len(calls) >= 3  # the failed call, then both series on the retry


def test_an_analysis_that_always_fails_is_dead_lettered(hostile, monkeypatch,
                                                        measurement_service,
                                                        measurement_config):
    lead, measures, database = (hostile["clients"]["lead"], hostile["measures"],
                                hostile["database"])
    measure_id = measures["rate"]

    def always_fails(measure, points, series="pooled"):
        raise RuntimeError("analysis always fails")

    monkeypatch.setattr(domain, "analyse_series", always_fails)
    response = lead.post("/submissions", {"measure_id": measure_id, "practice_id": "F84002",
                                          "period": WEEKS[-1].isoformat(), "numerator": 5,
                                          "denominator": 2})
    assert response.status_code == 201, response.text
    queue = dead_letter_queue_name(handler_queue(measurement_service))
    dead = wait_until(lambda: queue_messages(measurement_config["AMQP_URI"], queue), timeout=15)
    assert len(dead) == 1
    body, headers = dead[0]
    assert body["data"]["measure_id"] == measure_id
    assert "analysis always fails" in headers["x-pcn-dead-letter-reason"]
    assert database["series_state"].find_one({"_id": f"{measure_id}|F84002"}) is None
    assert database["applied_events"].count_documents(
        {"handler": "measurement.apply_to_network_series",
         "event_id": body["event_id"]}) == 0
