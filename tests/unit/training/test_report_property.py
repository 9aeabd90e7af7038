"""The capability report's numbers equal a recount from the staff and completions that made
them (hypothesis: random staff, enrolments, completions and project memberships)."""
import uuid
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.training.commands import cohorts, project_events, reports
from shared.events.envelope import Trace
from tests.unit.training.conftest import (ADMIN, LEAD, NETWORK, PRACTICES, cohort, offering,
                                          project_envelope, register, repository_of, staff_row)

REPORT_DAY = date(2026, 6, 1)
LEVEL_ORDER = ("introduction", "foundations", "improvement_leader", "coach")

person = st.fixed_dictionaries({
    "practice": st.sampled_from(PRACTICES),
    "leader": st.booleans(),
    "partner": st.booleans(),
    "started": st.dates(date(2023, 1, 1), date(2025, 5, 1)),
    "left": st.booleans(),
    "completions": st.dictionaries(st.sampled_from(LEVEL_ORDER),
                                   st.dates(date(2025, 5, 10), date(2026, 5, 15)), max_size=3),
    "active_on": st.none() | st.dates(date(2024, 1, 1), date(2026, 5, 31)),
})


def moment(day):
    return datetime(day.year, day.month, day.day, 10, tzinfo=timezone.utc)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(person, min_size=1, max_size=12), scope=st.sampled_from(
    [None] + list(PRACTICES)))
def test_report_numbers_equal_a_recount(storage_config, people, scope):
    # A database of its own per example, under the fixture's prefix (dropped afterwards).
    prefix = f"{storage_config['MONGO_DATABASE_PREFIX']}_{uuid.uuid4().hex[:8]}"
    config = {**storage_config, "MONGO_DATABASE_PREFIX": prefix}
    repository = repository_of(config)
    start = moment(date(2025, 5, 1))
    rows = [staff_row(f"st{n:03d}", p["practice"], started_on=p["started"].isoformat(),
                      leader=p["leader"], partner=p["partner"],
                      left_on="2026-05-20" if p["left"] else None)
            for n, p in enumerate(people)]
    register(repository, start, *rows)
    offerings = {level: offering(repository, start, level=level, capacity=1000)
                 for level in LEVEL_ORDER}
    cohort_of = {}
    for n, p in enumerate(people):
        staff_id = f"st{n:03d}"
        for level, on in sorted(p["completions"].items(), key=lambda item: item[1]):
            key = (level, on)
            if key not in cohort_of:
                cohort_of[key] = cohort(repository, start, offerings[level], on.isoformat())
            group = cohort_of[key]["_id"]
            cohorts.enrol(repository, ADMIN, group, {"staff_id": staff_id},
                          moment(on - timedelta(days=1)), Trace())
            cohorts.record_attendance(repository, ADMIN, group, "s1",
                                      {"staff_id": staff_id, "status": "present"}, moment(on),
                                      Trace())
            cohorts.complete(repository, ADMIN, group, {"staff_id": staff_id}, moment(on),
                             Trace())
        if p["active_on"]:
            project_events.on_member_added(repository, project_envelope("project.member_added", {
                "project_id": f"prj_{n}", "staff_id": staff_id, "role": "member"},
                moment(p["active_on"])), moment(p["active_on"]))

    query = {"practice_id": scope} if scope else {"network_id": NETWORK}
    report = reports.capability_report(repository, LEAD, query, moment(REPORT_DAY))

    present = [p for p in people if not p["left"] and (scope is None or p["practice"] == scope)]
    year_ago = REPORT_DAY - timedelta(days=365)

    def rank(p):
        return max((LEVEL_ORDER.index(level) for level in p["completions"]), default=-1)

    assert report["staff"] == len(present)
    pyramid = {row["level"]: row for row in report["pyramid"]}
    for index, level in enumerate(LEVEL_ORDER):
        assert pyramid[level]["holding"] == sum(1 for p in present if rank(p) >= index)
    assert pyramid["introduction"]["required"] == len(present)
    assert pyramid["improvement_leader"]["required"] == sum(1 for p in present if p["leader"])
    assert pyramid["improvement_leader"]["required_holding"] == sum(
        1 for p in present if p["leader"] and rank(p) >= 2)
    assert pyramid["foundations"]["required"] == 0 and pyramid["board"]["holding"] == 0
    dosage = report["dosage"]
    assert dosage["introduction_last_12_months"]["trained"] == sum(
        1 for p in present if "introduction" in p["completions"]
        and p["completions"]["introduction"] > year_ago)
    assert dosage["foundations_last_12_months"]["trained"] == sum(
        1 for p in present if "foundations" in p["completions"]
        and p["completions"]["foundations"] > year_ago)
    assert dosage["leaders_on_programme"]["leaders"] == sum(1 for p in present if p["leader"])
    assert dosage["leaders_on_programme"]["on_programme"] == sum(
        1 for p in present if p["leader"] and rank(p) >= 2)
    partners = [p for p in present if p["partner"]]
    assert report["lived_experience_partners"] == {
        "partners": len(partners), "trained": sum(1 for p in partners if rank(p) >= 0)}
    trained = [p for p in present if rank(p) >= 0]
    assert report["activation"]["trained"] == len(trained)
    assert report["activation"]["active_last_12_months"] == sum(
        1 for p in trained if p["active_on"] and p["active_on"] > year_ago)
