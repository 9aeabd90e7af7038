"""The measurement service on the real broker, with the projects service feeding it: the SMR
project across three practices, pooled series, SPC signals, charts, refusals."""
import csv
import io
import json
import xml.etree.ElementTree as ElementTree
from datetime import date, timedelta

import pytest

from analytics import cli
from services.measurement.domain import align_period
from shared.storage import open_database
from tests.helpers import EventObserver, promtool_check_metrics, wait_until
from tests.integration.conftest import network_project

PRACTICES = ("F84001", "F84002", "F84003")
WEEKS = 30
SHIFT_WEEKS = 8


@pytest.fixture
def smr(admin, network, measurement, measurement_config):
    """The network SMR project with three practices, known to the measurement service, and a
    proportion measure on it."""
    assert admin.post("/practices", {"ods_code": "F84003", "name": "Practice F84003",
                                     "network_id": "north-pcn"}).status_code == 201
    network["F84003"] = admin.as_key(
        admin.post("/api-keys", {"role": "practice", "practice_id": "F84003"}).json()["api_key"])
    project = network_project(network["lead"], PRACTICES).json()
    keys = {name: measurement.as_key(client.key) for name, client in network.items()}
    lead = keys["lead"]
    assert wait_until(lambda: lead.get(f"/projects/{project['id']}/measures").status_code == 200)
    measure = lead.post(f"/projects/{project['id']}/measures", {
        "name": "SMRs completed to the standard template", "type": "process",
        "value_kind": "proportion", "unit": "share of SMRs", "frequency": "week",
        "operational_definition": "SMRs in the week using every section of the template, over "
                                  "all SMRs in the week", "improvement": "increase",
        "target": 0.6})
    assert measure.status_code == 201, measure.text
    return {"project": project, "measure": measure.json(), "keys": keys}


def weeks_back(count):
    this_week = align_period(date.today(), "week")
    return [this_week - timedelta(weeks=count - i) for i in range(count)]


def smr_counts(week_index, practice_index):
    """Completed and total SMRs: about 40 % for 22 weeks, then about 85 % (the change)."""
    total = 20 + practice_index * 5 + (week_index * 7 + practice_index * 3) % 4
    rate = 0.85 if week_index >= WEEKS - SHIFT_WEEKS else 0.40
    wobble = ((week_index * 5 + practice_index * 11) % 5 - 2) / 100
    return round(total * (rate + wobble)), total


def pooled_applied(lead, measure_id, period_count):
    body = lead.get(f"/measures/{measure_id}/pooled").json()
    periods = body["periods"]
    return len(periods) == period_count and all(p["practices_submitted"] == len(PRACTICES)
                                                for p in periods) and body


def test_smr_network_project_pools_signals_once_and_charts(smr, service_config):
    measure_id, keys = smr["measure"]["id"], smr["keys"]
    observer = EventObserver(service_config["AMQP_URI"], "measurement.events",
                             "measurement.signal_detected")
    weeks = weeks_back(WEEKS)
    for week_index, week in enumerate(weeks):
        for practice_index, code in enumerate(PRACTICES):
            numerator, denominator = smr_counts(week_index, practice_index)
            response = keys[code].post("/submissions/batch", {"rows": [
                {"measure_id": measure_id, "period": week.isoformat(),
                 "numerator": numerator, "denominator": denominator}]})
            assert response.status_code == 200, response.text
        # Practices submit week by week; the next week comes after this one is pooled.
        assert wait_until(lambda: pooled_applied(keys["lead"], measure_id, week_index + 1))

    pooled = pooled_applied(keys["lead"], measure_id, WEEKS)
    for week_index, period in enumerate(pooled["periods"]):
        counts = [smr_counts(week_index, p) for p in range(len(PRACTICES))]
        assert period["numerator"] == sum(n for n, _ in counts)
        assert period["denominator"] == sum(d for _, d in counts)
        assert period["value"] == pytest.approx(sum(n for n, _ in counts) /
                                                sum(d for _, d in counts))
        assert set(period["by_practice"]) == set(PRACTICES)

    analysis = keys["lead"].get(f"/measures/{measure_id}/spc").json()
    types = [p["point_type"] for p in analysis["points"]]
    assert all(t == "special_cause_improvement" for t in types[-SHIFT_WEEKS + 1:])
    assert analysis["variation_type"] == "special_cause_improvement"

    signals = [m[0] for m in observer.collect(4, timeout=10, settle=1.0)]
    pooled_signals = [s for s in signals if s["data"]["series"] == "pooled"]
    assert len(pooled_signals) == 1, pooled_signals
    assert pooled_signals[0]["data"]["kind"] == "improvement"
    assert pooled_signals[0]["data"]["period"] in {w.isoformat() for w in weeks[-SHIFT_WEEKS:]}
    assert {s["data"]["series"] for s in signals} <= {"pooled", *PRACTICES}

    chart = keys["lead"].get(f"/measures/{measure_id}/chart.svg")
    assert chart.status_code == 200 and chart.headers["Content-Type"].startswith("image/svg")
    svg = chart.text.lower()
    ElementTree.fromstring(chart.content)
    assert "#289de0" in svg  # improvement points are blue
    png = keys["F84001"].get(f"/measures/{measure_id}/chart.png?practice_id=F84001")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

    # The analysts' command line gives the same analysis from the same series.
    csv_text = io.StringIO()
    writer = csv.writer(csv_text)
    writer.writerow(["date", "value"])
    for period in pooled["periods"]:
        writer.writerow([period["period"], repr(period["value"])])
    path = f"/tmp/pooled-{measure_id}.csv"
    with open(path, "w") as handle:
        handle.write(csv_text.getvalue())
    output = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(output):
        assert cli.main(["spc", path, "--improvement", "increase", "--target", "0.6",
                         "--format", "json"]) == 0
    from_cli = json.loads(output.getvalue())
    assert from_cli["points"] == analysis["points"]
    assert (from_cli["variation_type"], from_cli["assurance_type"]) == (
        analysis["variation_type"], analysis["assurance_type"])


def test_corrections_are_audited_and_repooled(smr, service_config, measurement_config):
    measure_id, keys = smr["measure"]["id"], smr["keys"]
    observer = EventObserver(service_config["AMQP_URI"], "measurement.events",
                             "measurement.corrected")
    week = weeks_back(1)[0].isoformat()
    row = {"measure_id": measure_id, "period": week, "numerator": 5, "denominator": 10}
    first = keys["F84001"].post("/submissions", row)
    assert first.status_code == 201 and first.json()["outcome"] == "created"
    again = keys["F84001"].post("/submissions", row)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    corrected = keys["F84001"].post("/submissions", {**row, "numerator": 7})
    assert corrected.json()["outcome"] == "corrected" and corrected.json()["version"] == 2
    audit = corrected.json()["corrections"]
    assert len(audit) == 1 and audit[0]["old"]["numerator"] == 5 and \
        audit[0]["new"]["numerator"] == 7 and audit[0]["by"]
    keys["F84002"].post("/submissions", {**row, "numerator": 1, "denominator": 10})
    assert wait_until(lambda: (keys["lead"].get(f"/measures/{measure_id}/pooled").json()
                               ["periods"] or [{}])[0].get("numerator") == 8)
    period = keys["lead"].get(f"/measures/{measure_id}/pooled").json()["periods"][0]
    assert (period["numerator"], period["denominator"], period["practices_submitted"]) == \
        (8, 20, 2)
    corrections = observer.collect(1)
    assert len(corrections) == 1 and corrections[0][0]["data"]["new"]["numerator"] == 7
    coverage = keys["lead"].get(f"/measures/{measure_id}/coverage?period={week}").json()
    assert coverage["missing"] == ["F84003"]


def test_idempotency_key_makes_a_retried_post_safe(smr):
    measure_id, key = smr["measure"]["id"], smr["keys"]["F84001"]
    row = {"measure_id": measure_id, "period": weeks_back(1)[0].isoformat(),
           "numerator": 3, "denominator": 4}
    headers = {"Idempotency-Key": "retry-1"}
    first = key.post("/submissions", row, headers=headers)
    replay = key.post("/submissions", row, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers.get("Idempotent-Replayed") == "true"
    other = key.post("/submissions", {**row, "numerator": 2}, headers=headers)
    assert other.status_code == 409


@pytest.mark.parametrize("row, field", [
    ({"numerator": 11, "denominator": 10}, "numerator"),
    ({"numerator": -1, "denominator": 10}, "numerator"),
    ({"numerator": 1, "denominator": 0}, "denominator"),
    ({"value": 3}, "value"),
    ({"numerator": 1, "denominator": 2, "period": "2999-01-04"}, "period"),
    ({"numerator": 1, "denominator": 2, "practice_id": "F84002"}, "practice_id"),
    ({"numerator": 1, "denominator": 2, "practice_id": "Y00001"}, "practice_id"),
])
def test_a_bad_row_refuses_the_whole_batch_naming_it(smr, measurement_config, row, field):
    measure_id, key = smr["measure"]["id"], smr["keys"]["F84001"]
    good = {"measure_id": measure_id, "period": weeks_back(2)[0].isoformat(),
            "numerator": 1, "denominator": 2}
    bad = {**good, "period": weeks_back(1)[0].isoformat(), **row}
    response = key.post("/submissions/batch", {"rows": [good, bad]})
    assert response.status_code == 422, response.text
    assert f"rows.1.{field}" in response.json()["fields"], response.json()
    database = open_database(measurement_config, "measurement")
    assert database["submissions"].count_documents({}) == 0


def test_batch_limits_and_repeated_rows(smr):
    measure_id, key = smr["measure"]["id"], smr["keys"]["F84001"]
    row = {"measure_id": measure_id, "period": weeks_back(1)[0].isoformat(),
           "numerator": 1, "denominator": 2}
    too_many = key.post("/submissions/batch", {"rows": [row] * 1001})
    assert too_many.status_code == 422 and "rows" in too_many.json()["fields"]
    repeated = key.post("/submissions/batch", {"rows": [row, row]})
    assert repeated.status_code == 422 and "rows.1.period" in repeated.json()["fields"]


def test_other_practices_cannot_read_or_submit(smr, network, measurement):
    measure_id = smr["measure"]["id"]
    foreign = measurement.as_key(network["Y00001"].key)
    assert wait_until(lambda: foreign.get("/measures/x").status_code == 404)
    assert foreign.get(f"/measures/{measure_id}").status_code == 404
    assert foreign.get(f"/measures/{measure_id}/spc").status_code == 404
    refused = foreign.post("/submissions", {"measure_id": measure_id,
                                            "period": weeks_back(1)[0].isoformat(),
                                            "numerator": 1, "denominator": 2})
    assert refused.status_code == 422 and "rows.0.measure_id" in refused.json()["fields"]
    own = smr["keys"]["F84001"]
    assert own.get(f"/measures/{measure_id}/spc?practice_id=F84002").status_code == 404
    own.post("/submissions", {"measure_id": measure_id, "period": weeks_back(1)[0].isoformat(),
                              "numerator": 1, "denominator": 2})
    periods = wait_until(lambda: own.get(f"/measures/{measure_id}/pooled").json()["periods"])
    assert "by_practice" not in periods[0]


def test_feedback_becomes_a_mean_rating_series_and_refuses_nhs_numbers(smr):
    project_id, key = smr["project"]["id"], smr["keys"]["F84001"]
    month = date.today().replace(day=1).isoformat()
    for rating in (4, 5, 3):
        response = key.post(f"/projects/{project_id}/feedback", {
            "source": "lived_experience", "rating": rating, "period": month,
            "comment": "the review explained my medicines"})
        assert response.status_code == 201, response.text
    refused = key.post(f"/projects/{project_id}/feedback", {
        "source": "staff", "rating": 2, "period": month, "comment": "pt 943 476 5919 upset"})
    assert refused.status_code == 422 and "comment" in refused.json()["fields"]
    measures = smr["keys"]["lead"].get(f"/projects/{project_id}/measures").json()["items"]
    rating = next(m for m in measures if m["feedback_source"] == "lived_experience")
    # the pooled series follows each rating's event: wait for all three, not the first
    def pooled_of_all_three():
        periods = smr["keys"]["lead"].get(f"/measures/{rating['id']}/pooled").json()["periods"]
        return periods if periods and periods[0]["n"] == 3 else None
    series = wait_until(pooled_of_all_three) or smr["keys"]["lead"].get(
        f"/measures/{rating['id']}/pooled").json()["periods"]
    assert series[0]["value"] == pytest.approx(4.0) and series[0]["n"] == 3
    assert len(key.get(f"/projects/{project_id}/feedback").json()["items"]) == 3


def test_rebase_is_explicit_and_lead_only(smr):
    measure_id = smr["measure"]["id"]
    assert smr["keys"]["F84001"].post(f"/measures/{measure_id}/rebase",
                                      {"date": "2026-03-04"}).status_code == 403
    rebased = smr["keys"]["lead"].post(f"/measures/{measure_id}/rebase", {"date": "2026-03-04"})
    assert rebased.status_code == 200 and rebased.json()["rebase_dates"] == ["2026-03-02"]
    assert smr["keys"]["lead"].post(f"/measures/{measure_id}/rebase",
                                    {"date": "2026-03-05"}).status_code == 409


def test_pdsa_cycles_become_chart_annotations(smr, network, measurement_config):
    project_id = smr["project"]["id"]
    cycle = network["F84001"].post(f"/projects/{project_id}/pdsa-cycles", {
        "change_idea": "template in the EMIS", "plan": "p", "prediction": "more complete"})
    assert cycle.status_code == 201
    database = open_database(measurement_config, "measurement")
    assert wait_until(lambda: database["annotations"].find_one({"_id": cycle.json()["id"]}))
    svg = smr["keys"]["lead"].get(f"/measures/{smr['measure']['id']}/chart.svg")
    assert svg.status_code == 200 and "template in the emis" in svg.text.lower()


def test_overdue_practices_are_raised_once(smr, measurement_service, service_config,
                                           measurement_config):
    from nameko.testing.services import entrypoint_hook

    database = open_database(measurement_config, "measurement")
    # The measure was defined a while ago: three weeks have passed their due date since.
    database["measures"].update_one({"_id": smr["measure"]["id"]}, {"$set": {
        "created_at": database["measures"].find_one()["created_at"] - timedelta(weeks=4)}})
    observer = EventObserver(service_config["AMQP_URI"], "measurement.events",
                             "measurement.submission_overdue")
    with entrypoint_hook(measurement_service, "check_overdue_submissions") as check:
        first = check()
    with entrypoint_hook(measurement_service, "check_overdue_submissions") as check:
        second = check()
    assert first > 0 and second == 0
    notices = observer.collect(first)
    assert len(notices) == first
    assert {n[0]["data"]["practice_id"] for n in notices} == set(PRACTICES)


def test_measurement_ops_endpoints(measurement, measurement_config):
    anonymous = measurement.as_key(None)
    assert anonymous.get("/ready").json()["checks"] == {"broker": True, "storage": True}
    assert "/measures/{measure_id}/spc" in anonymous.get("/openapi.json").json()["paths"]
    text = measurement.as_key(measurement_config["PCN_OPS_KEY"]).get("/metrics").text
    assert 'service="measurement"' in text
    promtool_check_metrics(text)
