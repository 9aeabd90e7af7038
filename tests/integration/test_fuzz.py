"""Property-based fuzzing of both services from their own ``/openapi.json`` (schemathesis 4),
on the real broker: every check, admin, lead and practice keys (and none, through the
``ignored_auth`` check), real ids seeded, hostile boundary values (±1.8e308, 2^63, years 1 and
9999). A bounded number of examples keeps the run to a couple of minutes; 0 failures expected.

The figures (requests per service and key) are printed: run with ``-s`` to see them.
"""
from datetime import date, timedelta

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, from_schema
from schemathesis.engine import events as engine_events

from services.measurement.domain import align_period
from tests.integration.conftest import network_project, practice_project
from tests.helpers import wait_until

SEED = 20261128
# Values a hostile client sends to number, integer and date fields: the float's ends, beyond
# BSON's integers, and the calendar's ends. (1.8e308 itself is no Python float: it is sent as
# JSON text by tests/integration/test_hostile_input.py.)
HOSTILE_NUMBERS = [1.7976931348623157e308, -1.7976931348623157e308, 1.79e308, 2 ** 63, 2 ** 63 - 1, -(2 ** 63), 1e-300,
                   1e308, 0, -1]
HOSTILE_STRINGS = ["0001-01-01", "9999-12-31", "1999-12-31", "2000-01-01", "F84001", ""]
# positive_data_acceptance, with 422 among its expected statuses: OpenAPI 3.0 cannot say that
# a period lies between 2000 and next year, that a proportion's numerator is at most its
# denominator, or that an id exists, so such schema-valid requests are refused with 422.
POSITIVE_DATA_STATUSES = ["2XX", 401, 403, 404, 409, 422]
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance",
          "negative_data_rejection", "missing_required_header", "unsupported_method",
          "allow_header_conformance", "ignored_auth")


def fuzz_config(api_key, ids, max_examples):
    """A schemathesis configuration: every check listed, ``api_key`` on every request, real
    ids most of the time in id parameters, hostile values now and then in any field."""
    dictionaries = {"hostile_numbers": {"values": HOSTILE_NUMBERS},
                    "hostile_strings": {"values": HOSTILE_STRINGS}}
    parameters = {}
    for name, values in ids.items():
        dictionaries[name] = {"values": values}
        for where in (f"path.{name}", f"query.{name}", f"body.{name}",
                      f"body.rows[*].{name}"):
            parameters[where] = {"dictionary": name, "probability": 0.8}
    dictionaries["practice_ids"] = {"values": ids["practice_id"]}
    parameters["body.practice_ids[*]"] = {"dictionary": "practice_ids", "probability": 0.8}
    generation = {"max-examples": max_examples, "mode": "all", "deterministic": False,
                  "dictionaries": {
                      "number": {"dictionary": "hostile_numbers", "probability": 0.1},
                      "integer": {"dictionary": "hostile_numbers", "probability": 0.1},
                      "string": {"dictionary": "hostile_strings", "probability": 0.05}}}
    return SchemathesisConfig.from_dict({
        "seed": SEED, "workers": 1, "headers": {"Authorization": f"Bearer {api_key}"},
        "request-timeout": 20, "continue-on-failure": True,
        "suppress-health-check": ["all"], "dictionaries": dictionaries,
        "parameters": parameters, "generation": generation,
        "checks": {**{name: {"enabled": True} for name in CHECKS},
                   "positive_data_acceptance": {"enabled": True,
                                                "expected-statuses": POSITIVE_DATA_STATUSES}},
        "phases": {"stateful": {"enabled": False}},
    })


def fuzz(base_url, api_key, ids, max_examples):
    """Run the schemathesis engine against one service: (requests sent, failure texts)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json",
                                           config=fuzz_config(api_key, ids, max_examples))
    requests_sent, failures, errors = 0, [], []
    for event in from_schema(schema).execute():
        if isinstance(event, engine_events.ScenarioFinished):
            recorder = event.recorder
            requests_sent += len(recorder.interactions)
            for checks in recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE:
                        info = check.failure_info
                        failures.append(f"{recorder.label}: {check.name}: "
                                        f"{info.failure.title}: {info.failure.message}"[:600]
                                        + f"\n  {info.code_sample}"[:600])
        elif isinstance(event, (engine_events.NonFatalError, engine_events.FatalError)):
            errors.append(repr(event)[:800])
    return requests_sent, sorted(set(failures)), errors


@pytest.fixture
def seeded(admin, network, measurement, measurement_config):
    """Real ids on both services: the network, its practices, a network project with a
    proportion measure and submissions, a practice project with a count measure, a PDSA
    cycle, a huddle item; and the keys to use them."""
    lead = network["lead"]
    project = network_project(lead).json()
    own_project = practice_project(network["F84001"], "F84001").json()
    cycle = network["F84001"].post(f"/projects/{own_project['id']}/pdsa-cycles", {
        "change_idea": "nurse-led review", "plan": "p", "prediction": "fewer visits"}).json()
    item = network["F84001"].post("/huddle-items", {"team": "nurses", "description": "rota",
                                                    "raised_by": "nurse.1"}).json()
    measurement_lead = measurement.as_key(lead.key)
    assert wait_until(lambda: measurement_lead.get(
        f"/projects/{project['id']}/measures").status_code == 200)
    proportion = measurement_lead.post(f"/projects/{project['id']}/measures", {
        "name": "SMRs to template", "type": "process", "value_kind": "proportion",
        "frequency": "week", "operational_definition": "completed over all",
        "improvement": "increase", "target": 0.6}).json()
    practice_key = measurement.as_key(network["F84001"].key)
    assert wait_until(lambda: practice_key.get(
        f"/projects/{own_project['id']}/measures").status_code == 200)
    count = practice_key.post(f"/projects/{own_project['id']}/measures", {
        "name": "Repeat attendances", "type": "outcome", "value_kind": "count",
        "frequency": "week", "operational_definition": "visits by frequent attenders",
        "improvement": "decrease"}).json()
    this_week = align_period(date.today(), "week")
    rows = [{"measure_id": proportion["id"], "practice_id": code,
             "period": (this_week - timedelta(weeks=w)).isoformat(),
             "numerator": 10 + w % 3, "denominator": 20}
            for w in range(1, 16) for code in ("F84001", "F84002")]
    rows += [{"measure_id": count["id"], "practice_id": "F84001",
              "period": (this_week - timedelta(weeks=w)).isoformat(), "value": 20 - w % 4}
             for w in range(1, 16)]
    response = measurement_lead.post("/submissions/batch", {"rows": rows})
    assert response.status_code == 200, response.text
    keys = {"lead": lead.key, "practice": network["F84001"].key}
    ids = {"project_id": [project["id"], own_project["id"]],
           "measure_id": [proportion["id"], count["id"]],
           "from_measure_id": [proportion["id"], count["id"]],
           "cycle_id": [cycle["id"]], "item_id": [item["id"]],
           "practice_id": ["F84001", "F84002"], "network_id": ["north-pcn"]}
    return {"keys": keys, "ids": ids, "projects": admin.base,
            "measurement": measurement.base}


@pytest.mark.timeout(600)
def test_fuzz_both_services_no_failures(seeded, admin):
    figures, all_failures = [], []
    # The admin run comes last: it may revoke the other keys.
    runs = (("measurement", "lead", seeded["keys"]["lead"], 10),
            ("measurement", "practice", seeded["keys"]["practice"], 6),
            ("projects", "practice", seeded["keys"]["practice"], 6),
            ("projects", "admin", admin.key, 10))
    for service, who, key, max_examples in runs:
        sent, failures, errors = fuzz(seeded[service], key, seeded["ids"], max_examples)
        figures.append(f"{service} as {who}: {sent} requests, {len(failures)} failures")
        all_failures += [f"[{service} as {who}] {f}" for f in failures + errors]
    print("\nfuzzed: " + "; ".join(figures))
    # One example of each kind of failure (operation and check), so a run names them all.
    kinds = {}
    for failure in all_failures:
        kinds.setdefault(failure.split(": ")[0] + ": " + failure.split(": ")[1], failure)
    assert not all_failures, f"{len(all_failures)} failures:\n\n" + "\n\n".join(kinds.values())
