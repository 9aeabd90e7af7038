"""The training service fuzzed from its own ``/openapi.json`` as ``test_fuzz`` fuzzes the
others (schemathesis: every check, hostile numbers and dates, real ids seeded), as the network
lead and as a practice key; 0 failures expected. CSV bodies are also written as spreadsheets
write them (a bare ``\\r`` as older programs end lines, ``\\r\\n``, a byte-order mark, quoted
line breaks, and a file the csv module cannot read): among the generated values, and each
sent to both CSV operations. Run with ``-s`` for the figures."""
import uuid
from datetime import date, timedelta

import pytest
import requests
import schemathesis
from schemathesis.core.failures import FailureGroup

from tests.helpers import wait_until
from tests.integration.test_fuzz import fuzz, fuzz_config

CSV_OPERATIONS = ("/staff-imports", "/cohorts/{cohort_id}/sessions/{session_id}/register")
STAFF_HEADER = "staff_id,network_id,practice_id,team,role,leader,started_on"


def spreadsheet_csv(rows, ending="\r", bom=False):
    return ("\ufeff" if bom else "") + ending.join(rows) + ending


def spreadsheet_bodies(started):
    """CSV texts as spreadsheet programs write them, for both CSV operations: registers of
    the enrolled person, staff imports of new people (a fresh id each, so some are taken),
    and the hostile ones (a field over the csv module's limit, more values than columns,
    an unclosed quote, a lone header)."""
    def staff(team="nurses"):
        staff_id = f"csv.{uuid.uuid4().hex[:10]}"
        return f"{staff_id},north-pcn,F84001,{team},nurse,false,{started}"

    registers = [spreadsheet_csv(["staff_id,status", "st.0,present"], ending)
                 for ending in ("\r", "\r\n", "\n")]
    registers += [spreadsheet_csv(["staff_id,status", "st.0,late"], "\r\n", bom=True),
                  spreadsheet_csv(["staff_id,status", '"st.0","pres\rent"'], "\r"),
                  "staff_id,status\rst.0,present\n\rst.0,absent\r\n"]
    imports = [spreadsheet_csv([STAFF_HEADER, staff(), staff()], ending)
               for ending in ("\r", "\r\n", "\n")]
    imports += [spreadsheet_csv([STAFF_HEADER, staff('"night\r\nshift"')], "\r\n", bom=True)]
    hostile = [spreadsheet_csv(["staff_id,status", "st.0," + "x" * 140_000], "\r"),
               spreadsheet_csv(["staff_id,status", "st.0,present,again"], "\r"),
               spreadsheet_csv([STAFF_HEADER, staff() + ',"unclosed'], "\r"),
               spreadsheet_csv([STAFF_HEADER], "\r", bom=True), "\r\r\r"]
    return registers + imports + hostile


def send_spreadsheet_csv(seeded, who, bodies):
    """Each CSV body to both CSV operations as ``who``, each answer checked as the fuzzing
    checks it: (requests sent, failure texts)."""
    key = seeded["keys"][who]
    document = requests.get(f"{seeded['base']}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document, config=fuzz_config(
        seeded["base"], key, seeded["ids"], 1))
    path_parameters = {"cohort_id": seeded["ids"]["cohort_id"][0], "session_id": "s1"}
    sent, failures = 0, []
    for path in CSV_OPERATIONS:
        operation = schema[path]["POST"]
        for body in bodies:
            case = operation.Case(path_parameters=path_parameters if "{" in path else {},
                                  body={"csv": body})
            sent += 1
            try:
                response = case.call_and_validate(headers={"Authorization": f"Bearer {key}"})
                if response.status_code >= 500:
                    failures.append(f"POST {path}: {response.status_code} for {body[:80]!r}")
            except (AssertionError, FailureGroup) as failure:
                failures.append(f"POST {path}: spreadsheet csv {body[:80]!r}: {failure}"[:800])
    return sent, failures


@pytest.fixture
def seeded(network, training, training_heard_of):
    lead = training.as_key(network["lead"].key)
    training_heard_of("F84001", "F84002")
    assert wait_until(lambda: lead.get("/offerings").status_code == 200)
    started = (date.today() - timedelta(days=120)).isoformat()
    rows = [{"staff_id": f"st.{n}", "network_id": "north-pcn",
             "practice_id": ("F84001", "F84002")[n % 2], "team": "nurses", "role": "nurse",
             "leader": n == 0, "started_on": started} for n in range(6)]
    assert lead.post("/staff-imports", {"rows": rows}).status_code == 201
    offering = lead.post("/offerings", {
        "network_id": "north-pcn", "kind": "course", "title": "Introduction to QI",
        "awards_level": "introduction", "duration_hours": 2, "capacity": 3}).json()
    cohort = lead.post("/cohorts", {"offering_id": offering["offering_id"], "session_dates": [
        date.today().isoformat()]}).json()
    practice = training.as_key(network["F84001"].key)
    assert practice.post(f"/cohorts/{cohort['cohort_id']}/enrolments",
                         {"staff_id": "st.0"}).status_code == 201
    ids = {"network_id": ["north-pcn"], "offering_id": [offering["offering_id"]],
           "cohort_id": [cohort["cohort_id"]], "session_id": ["s1"],
           "staff_id": ["st.0", "st.2", "st.1"], "practice_id": ["F84001"],
           # Spreadsheet-style CSV among the generated values of every csv field.
           "csv": spreadsheet_bodies(started)}
    examples = {"network_id": "north-pcn", "practice_id": "F84001", "staff_id": "st.4",
                "team": "nurses", "role": "nurse", "started_on": started, "level": "introduction",
                "awards_level": "introduction", "kind": "course", "title": "t",
                "evidence": "certificate", "status": "present", "assessed_level": "foundations",
                "duration_hours": 1, "capacity": 2, "offering_id": offering["offering_id"]}
    return {"keys": {"lead": lead.key, "practice": practice.key}, "ids": ids,
            "examples": examples, "base": training.base}


@pytest.mark.timeout(600)
def test_fuzz_training_no_failures(seeded):
    figures, all_failures = [], []
    for who, max_examples in (("lead", 8), ("practice", 6)):
        sent, hostile, failures, errors = fuzz(seeded["base"], seeded["keys"][who],
                                               seeded["ids"], max_examples, seeded["examples"])
        csv_sent, csv_failures = send_spreadsheet_csv(seeded, who, spreadsheet_bodies(
            seeded["examples"]["started_on"]))
        figures.append(f"training as {who}: {sent} requests ({hostile} with hostile values), "
                       f"{len(failures)} failures; {csv_sent} spreadsheet CSV bodies, "
                       f"{len(csv_failures)} failures")
        assert hostile > 0, f"training as {who}: no hostile value was sent"
        all_failures += [f"[training as {who}] {f}" for f in failures + errors + csv_failures]
    print("\nfuzzed: " + "; ".join(figures))
    kinds = {}
    for failure in all_failures:
        kinds.setdefault(failure.split(": ")[0] + ": " + failure.split(": ")[1], failure)
    assert not all_failures, f"{len(all_failures)} failures:\n\n" + "\n\n".join(kinds.values())
