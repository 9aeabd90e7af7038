"""Property-based fuzzing of both services from their own ``/openapi.json`` (schemathesis 4),
on the real broker: every check, admin, lead and practice keys (and none, through the
``ignored_auth`` check), real ids seeded, hostile boundary values (±1.8e308, 2^63, years 1 and
9999). A bounded number of examples keeps the run to a couple of minutes; 0 failures expected.

The figures (requests per service and key) are printed: run with ``-s`` to see them.
"""
from datetime import date, timedelta

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.engine import Status, from_schema
from schemathesis.engine import events as engine_events

from services.measurement.domain import align_period
from tests.integration.conftest import network_project, practice_project
from tests.helpers import wait_until

SEED = 20261128
# Values a hostile client sends to number and integer fields: the float's ends, beyond BSON's
# integers. (1.8e308 itself is no Python float: tests/integration/test_hostile_input.py sends
# it as JSON text.) Few values, often, so that whole valid requests carry them.
HOSTILE_NUMBERS = [1.7976931348623157e308, -1.79e308, 1e308, 2 ** 63, 2 ** 64, -(2 ** 63),
                   1e-300, -1]
# Dates: the calendar's ends and the bounds' edges, among recent weeks that a submission may
# really have, so that accepted rows (and the reads they feed) are fuzzed too.
HOSTILE_DATES = ["0001-01-01", "9999-12-31", "1999-12-31", "2000-01-01"]
RECENT_WEEKS = [(align_period(date.today(), "week") - timedelta(weeks=w)).isoformat()
                for w in range(1, 9)]
DATE_FIELDS = ("period", "date", "started_on", "completed_on")
# positive_data_acceptance, with 422 among its expected statuses: OpenAPI 3.0 cannot say that
# a period lies between 2000 and next year, that a proportion's numerator is at most its
# denominator, or that an id exists, so such schema-valid requests are refused with 422.
POSITIVE_DATA_STATUSES = ["2XX", 401, 403, 404, 409, 422]
# schemathesis's own list less 5xx (never right: not_a_server_error says so too), plus 414: a
# value past maxLength can make the URL longer than the web server takes.
NEGATIVE_DATA_STATUSES = [400, 401, 403, 404, 405, 406, 409, 414, 415, 422, 428, 429]
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance",
          "negative_data_rejection", "missing_required_header", "unsupported_method",
          "allow_header_conformance", "ignored_auth")


def fuzz_config(base_url, api_key, ids, max_examples):
    """A schemathesis configuration: every check listed, ``api_key`` on every request, real
    ids in path parameters (the first of ``ids``: so that the boundary values of the coverage
    phase reach real resources too) and most of the time in query and body fields, hostile
    numbers and dates often in any field."""
    dictionaries = {"hostile_numbers": {"values": HOSTILE_NUMBERS},
                    "dates": {"values": HOSTILE_DATES + RECENT_WEEKS}}
    parameters = {f"{where}.{name}": {"dictionary": "dates", "probability": 0.7}
                  for name in DATE_FIELDS for where in ("query", "body", "body.rows[*]")}
    parameters["body.aim.by_when"] = {"dictionary": "dates", "probability": 0.5}
    for name, values in ids.items():
        dictionaries[name] = {"values": values}
        parameters[f"path.{name}"] = values[0]
        for where in (f"query.{name}", f"body.{name}", f"body.rows[*].{name}"):
            parameters[where] = {"dictionary": name, "probability": 0.8}
    dictionaries["practice_ids"] = {"values": ids["practice_id"]}
    parameters["body.practice_ids[*]"] = {"dictionary": "practice_ids", "probability": 0.8}
    generation = {"max-examples": max_examples, "mode": "all", "deterministic": False,
                  "dictionaries": {
                      "number": {"dictionary": "hostile_numbers", "probability": 0.25},
                      "integer": {"dictionary": "hostile_numbers", "probability": 0.25}}}
    return SchemathesisConfig.from_dict({
        "seed": SEED, "workers": 1, "base-url": base_url,
        "headers": {"Authorization": f"Bearer {api_key}"},
        "request-timeout": 20, "continue-on-failure": True,
        "suppress-health-check": ["all"], "dictionaries": dictionaries,
        "parameters": parameters, "generation": generation,
        "checks": {**{name: {"enabled": True} for name in CHECKS},
                   "positive_data_acceptance": {"enabled": True,
                                                "expected-statuses": POSITIVE_DATA_STATUSES},
                   "negative_data_rejection": {"enabled": True,
                                               "expected-statuses": NEGATIVE_DATA_STATUSES}},
        "phases": {"stateful": {"enabled": False}},
    })


def with_examples(document, examples):
    """The service's document with ``examples`` (property name → value) set on the request
    properties of those names: the coverage phase varies each field around them, one at a
    time, so that its boundary values reach requests that are otherwise valid."""
    for schema in document["components"]["schemas"].values():
        for name, prop in schema.get("properties", {}).items():
            if name in examples:
                prop["example"] = examples[name]
    return document


HOSTILE_MARKERS = ("e+308", str(2 ** 63), "0001-01-01", "9999-12-31")


def is_hostile(request):
    """The request carries one of the hostile numbers or dates (in its URL or body)."""
    text = request.uri + (request.body or b"").decode("utf-8", "replace")
    return any(marker in text for marker in HOSTILE_MARKERS)


def request_properties(document, schema):
    """The properties of a request body schema (the first of a ``oneOf``)."""
    schema = schema.get("oneOf", [schema])[0]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema.get("properties", {})


def hostile_variants(properties, examples):
    """(field, body) pairs: the example body with one number, integer or date field set to
    each hostile value; a batch's rows get the same treatment, one row."""
    base = {name: examples[name] for name in properties if name in examples}
    for name, prop in properties.items():
        values = (HOSTILE_NUMBERS if prop.get("type") in ("number", "integer")
                  else HOSTILE_DATES if prop.get("format") == "date" else ())
        for value in values:
            yield name, {**base, name: value}


def send_hostile(schema, document, api_key, ids, examples):
    """The hostile values in otherwise valid requests of every operation (bodies and query
    strings), each answer checked as the fuzzing checks it: (requests sent, failure texts)."""
    sent, failures = 0, []
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            operation = schema[path][method.upper()]
            path_parameters = {p["name"]: ids.get(p["name"], ["unknown"])[0]
                               for p in spec.get("parameters", []) if p["in"] == "path"}
            cases = []
            body_schema = spec.get("requestBody", {}).get("content", {}).get(
                "application/json", {}).get("schema")
            if body_schema is not None:
                properties = request_properties(document, body_schema)
                if "rows" in properties:  # a batch: the variants of one row
                    rows = request_properties(document, properties["rows"]["items"])
                    cases += [operation.Case(path_parameters=path_parameters,
                                             body={"rows": [row]})
                              for _, row in hostile_variants(rows, examples)]
                else:
                    cases += [operation.Case(path_parameters=path_parameters, body=body)
                              for _, body in hostile_variants(properties, examples)]
            for parameter in spec.get("parameters", []):
                kind = parameter.get("schema", {})
                values = (HOSTILE_NUMBERS if kind.get("type") == "integer"
                          else HOSTILE_DATES if kind.get("format") == "date" else ())
                cases += [operation.Case(path_parameters=path_parameters,
                                         query={parameter["name"]: value})
                          for value in values if parameter["in"] == "query"]
            for case in cases:
                sent += 1
                try:
                    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})
                except (AssertionError, FailureGroup) as failure:
                    failures.append(f"{method.upper()} {path}: hostile: {failure}"[:800])
    return sent, failures


def fuzz(base_url, api_key, ids, max_examples, examples):
    """Run the schemathesis engine against one service: (requests sent, how many carried a
    hostile value, failure texts, engine errors)."""
    document = with_examples(requests.get(f"{base_url}/openapi.json", timeout=10).json(),
                             examples)
    schema = schemathesis.openapi.from_dict(
        document, config=fuzz_config(base_url, api_key, ids, max_examples))
    requests_sent, hostile, failures, errors = 0, 0, [], []
    for event in from_schema(schema).execute():
        if isinstance(event, engine_events.ScenarioFinished):
            recorder = event.recorder
            requests_sent += len(recorder.interactions)
            hostile += sum(1 for i in recorder.interactions.values() if is_hostile(i.request))
            for checks in recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE:
                        info = check.failure_info
                        failures.append(f"{recorder.label}: {check.name}: "
                                        f"{info.failure.title}: {info.failure.message}"[:600]
                                        + f"\n  {info.code_sample}"[:600])
        elif isinstance(event, (engine_events.NonFatalError, engine_events.FatalError)):
            errors.append(repr(event)[:800])
    sent, hostile_failures = send_hostile(schema, document, api_key, ids, examples)
    return requests_sent + sent, hostile + sent, sorted(set(failures + hostile_failures)), errors


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
    week = (this_week - timedelta(weeks=2)).isoformat()
    common_examples = {"period": week, "date": week, "started_on": week, "rating": 4,
                       "source": "staff", "practice_id": "F84001", "network_id": "north-pcn",
                       "practice_ids": ["F84001"], "staff_id": "nurse.1", "raised_by": "nurse.1",
                       "escalated_to": "lead.1", "team": "nurses", "ods_code": "F84009",
                       "name": "Hostile check", "type": "process", "value_kind": "count",
                       "frequency": "week", "operational_definition": "as counted",
                       "improvement": "increase", "change_idea": "x", "plan": "p"}
    examples = {"lead": {**common_examples, "measure_id": proportion["id"], "numerator": 3,
                         "denominator": 4, "practice_id": "F84002"},
                "practice": {**common_examples, "measure_id": count["id"], "value": 7}}
    common = {"cycle_id": [cycle["id"]], "item_id": [item["id"]],
              "from_measure_id": [proportion["id"], count["id"]],
              "network_id": ["north-pcn"]}
    # The lead works on the network project's proportion; the practice on its own count.
    ids = {"lead": {**common, "project_id": [project["id"], own_project["id"]],
                    "measure_id": [proportion["id"], count["id"]],
                    "practice_id": ["F84001", "F84002"]},
           "practice": {**common, "project_id": [own_project["id"], project["id"]],
                        "measure_id": [count["id"], proportion["id"]],
                        "practice_id": ["F84001"]}}
    return {"keys": {"lead": lead.key, "practice": network["F84001"].key, "admin": admin.key},
            "ids": ids, "examples": examples, "projects": admin.base,
            "measurement": measurement.base}


@pytest.mark.timeout(600)
def test_fuzz_both_services_no_failures(seeded):
    figures, all_failures = [], []
    # The admin run comes last: it may revoke the other keys.
    runs = (("measurement", "lead", 10), ("measurement", "practice", 8),
            ("projects", "practice", 6), ("projects", "admin", 10))
    for service, who, max_examples in runs:
        role = "practice" if who == "practice" else "lead"
        sent, hostile, failures, errors = fuzz(seeded[service], seeded["keys"][who],
                                               seeded["ids"][role], max_examples,
                                               seeded["examples"][role])
        figures.append(f"{service} as {who}: {sent} requests ({hostile} with hostile values), "
                       f"{len(failures)} failures")
        assert hostile > 0, f"{service} as {who}: no hostile value was sent"
        all_failures += [f"[{service} as {who}] {f}" for f in failures + errors]
    print("\nfuzzed: " + "; ".join(figures))
    # One example of each kind of failure (operation and check), so a run names them all.
    kinds = {}
    for failure in all_failures:
        kinds.setdefault(failure.split(": ")[0] + ": " + failure.split(": ")[1], failure)
    assert not all_failures, f"{len(all_failures)} failures:\n\n" + "\n\n".join(kinds.values())
