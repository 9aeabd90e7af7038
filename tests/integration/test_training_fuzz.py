"""The training service fuzzed from its own ``/openapi.json`` as ``test_fuzz`` fuzzes the
others (schemathesis: every check, hostile numbers and dates, real ids seeded), as the network
lead and as a practice key; 0 failures expected. Run with ``-s`` for the figures."""
from datetime import date, timedelta

import pytest

from tests.helpers import wait_until
from tests.integration.test_fuzz import fuzz


@pytest.fixture
def seeded(network, training):
    lead = training.as_key(network["lead"].key)
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
           "staff_id": ["st.0", "st.2", "st.1"], "practice_id": ["F84001"]}
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
        figures.append(f"training as {who}: {sent} requests ({hostile} with hostile values), "
                       f"{len(failures)} failures")
        assert hostile > 0, f"training as {who}: no hostile value was sent"
        all_failures += [f"[training as {who}] {f}" for f in failures + errors]
    print("\nfuzzed: " + "; ".join(figures))
    kinds = {}
    for failure in all_failures:
        kinds.setdefault(failure.split(": ")[0] + ": " + failure.split(": ")[1], failure)
    assert not all_failures, f"{len(all_failures)} failures:\n\n" + "\n\n".join(kinds.values())
