"""The boundary schemas name each bad field; the report and its pyramid chart."""
from datetime import date

import pytest
from marshmallow import ValidationError

from services.training import schemas
from services.training.commands import cohorts, registry, reports
from services.training.charts import render_pyramid
from services.training.domain.framework import AWARDABLE_LEVELS
from shared.domain import NotFoundError
from shared.events.envelope import Trace
from tests.unit.training.conftest import (ADMIN, LEAD, NETWORK, OTHER_LEAD, PRACTICES, at,
                                          practice_key, register, staff_row)

NOW = at(2026, 3, 2, 9)


def errors(schema, payload):
    with pytest.raises(ValidationError) as excinfo:
        schema.load(payload)
    return excinfo.value.messages


@pytest.mark.parametrize("schema, payload, field", [
    (schemas.AwardIn(), {"staff_id": "ab1", "level": "guru", "evidence": "x"}, "level"),
    (schemas.AwardIn(), {"staff_id": "ab1", "level": "coach", "evidence": "943 476 5919"},
     "evidence"),
    (schemas.AssessmentIn(), {"assessed_level": "expert"}, "assessed_level"),
    (schemas.AssessmentIn(), {"assessed_level": "coach",
                              "training_need": {"offering_id": "o", "by": "2999-01-01"}},
     "training_need"),
    (schemas.AttendanceIn(), {"staff_id": "ab1", "status": "asleep"}, "status"),
    (schemas.OfferingIn(), {"network_id": NETWORK, "kind": "lecture", "title": "t",
                            "duration_hours": 1, "capacity": 5}, "kind"),
    (schemas.OfferingIn(), {"network_id": NETWORK, "kind": "course", "title": "t",
                            "duration_hours": 1, "capacity": 0}, "capacity"),
    (schemas.CohortIn(), {"offering_id": "o", "session_dates": []}, "session_dates"),
    (schemas.CohortIn(), {"offering_id": "o", "session_dates": ["1999-01-01"]},
     "session_dates"),
    (schemas.FrameworkChangeIn(), {"refresh_days": {"wizard": 365}}, "refresh_days"),
    (schemas.FrameworkChangeIn(), {"requirements": [{
        "requirement_id": "r1", "applies_to": "everyone", "level": "introduction",
        "anchor": "start", "within_days": -1}]}, "requirements"),
    (schemas.StaffIn(), {**staff_row("ab1"), "phone": "020 7946 0018"}, "phone"),
    (schemas.StaffUpdateIn(), {"left_on": "tomorrow"}, "left_on"),
    (schemas.ScopeQuery(), {}, "practice_id"),
    (schemas.CohortQuery(), {}, "offering_id"),
    (schemas.CohortQuery(), {"offering_id": "o", "network_id": NETWORK}, "offering_id"),
    (schemas.ScopeQuery(), {"network_id": NETWORK, "team": "admin"}, "practice_id"),
])
def test_bad_input_names_its_field(schema, payload, field):
    assert field in errors(schema, payload)


def test_a_need_date_is_bounded_and_read_as_a_date():
    loaded = schemas.AssessmentIn().load({"assessed_level": "coach", "training_need": {
        "offering_id": "off_1", "by": "2026-06-01"}})
    assert loaded["training_need"]["by"] == date(2026, 6, 1)
    assert schemas.AssessmentIn().load({"assessed_level": "coach",
                                        "training_need": None})["training_need"] is None
    assert schemas.AssessmentIn().load({"assessed_level": "coach"})["training_need"] is None
    assert "by" in errors(schemas.AssessmentIn(), {"assessed_level": "coach",
                                                   "training_need": {"offering_id": "o"}})[
        "training_need"]


def test_refresh_periods_are_keyed_by_level_and_nothing_else():
    loaded = schemas.FrameworkChangeIn().load({"refresh_days": {"foundations": 365,
                                                                "board": 730}})
    assert loaded["refresh_days"] == {"foundations": 365, "board": 730}
    assert schemas.FrameworkChangeIn().load({"refresh_days": {}})["refresh_days"] == {}
    refused = errors(schemas.FrameworkChangeIn(), {"refresh_days": {"wizard": 365,
                                                                    "coach": 10}})
    assert refused["refresh_days"]["wizard"] == [
        "not a level: give one of introduction, foundations, improvement_leader, coach, board"]
    assert set(refused["refresh_days"]) == {"coach", "wizard"}


def test_the_document_describes_needs_refresh_periods_and_imports_exactly():
    """The fuzzer generates from these: a need is TrainingNeedIn or null (not any object),
    refresh periods are keyed by the levels only, an import is rows or csv, not both."""
    from services.training.service import TrainingService

    document = TrainingService.openapi_document
    components = document["components"]["schemas"]
    assert components["AssessmentIn"]["properties"]["training_need"] == {
        "allOf": [{"$ref": "#/components/schemas/TrainingNeedIn"}], "nullable": True,
        "default": None}
    assert components["FrameworkChangeIn"]["properties"]["refresh_days"] == {
        "$ref": "#/components/schemas/RefreshDaysIn"}
    refresh = components["RefreshDaysIn"]
    assert list(refresh["properties"]) == list(AWARDABLE_LEVELS)
    assert refresh["additionalProperties"] is False
    body = document["paths"]["/staff-imports"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert body == {"oneOf": [{"$ref": "#/components/schemas/StaffRowsIn"},
                              {"$ref": "#/components/schemas/StaffCsvIn"}]}
    assert components["StaffRowsIn"]["required"] == ["rows"]
    assert components["StaffRowsIn"]["properties"]["rows"]["items"] == {
        "$ref": "#/components/schemas/StaffIn"}
    assert components["StaffCsvIn"]["required"] == ["csv"]
    assert "StaffImportIn" not in components


def test_the_report_is_scoped_and_drawn(repository):
    register(repository, NOW, staff_row("aa1", started_on="2025-01-01"),
             staff_row("aa2", started_on="2025-01-01", team="clinical"),
             staff_row("bb1", PRACTICES[1], started_on="2025-01-01", leader=True))
    registry.award_level(repository, LEAD, {"staff_id": "aa1", "level": "foundations",
                                            "evidence": "course"}, NOW, Trace())
    report = reports.capability_report(repository, practice_key(PRACTICES[0]),
                                       {"practice_id": PRACTICES[0]}, NOW)
    assert report["staff"] == 2
    assert [(r["level"], r["holding"]) for r in report["pyramid"]][:2] == [
        ("introduction", 1), ("foundations", 1)]
    team = reports.capability_report(repository, ADMIN, {"practice_id": PRACTICES[0],
                                                         "team": "clinical"}, NOW)
    assert team["staff"] == 1
    network = reports.capability_report(repository, LEAD, {"network_id": NETWORK}, NOW)
    assert network["staff"] == 3 and network["dosage"]["leaders_on_programme"]["leaders"] == 1
    assert schemas.ReportOut().dump(network)["pyramid"][0]["level"] == "introduction"
    for principal, query in [(practice_key(PRACTICES[0]), {"practice_id": PRACTICES[1]}),
                             (practice_key(PRACTICES[0]), {"network_id": NETWORK}),
                             (OTHER_LEAD, {"network_id": NETWORK}),
                             (OTHER_LEAD, {"practice_id": PRACTICES[0]})]:
        with pytest.raises(NotFoundError):
            reports.capability_report(repository, principal, query, NOW)
    svg = render_pyramid(network, "svg")
    assert svg.startswith(b"<?xml") and b"Improvement leader" in svg
    assert render_pyramid(network, "svg") == svg  # deterministic, as the SPC charts
    assert render_pyramid(network, "png").startswith(b"\x89PNG")
    with pytest.raises(ValueError):
        render_pyramid(network, "gif")


def test_listings_are_scoped_to_what_the_key_may_see(repository):
    register(repository, NOW, staff_row("aa1"), staff_row("aa2", team="clinical"),
             staff_row("bb1", PRACTICES[1]), staff_row("ww1", "F84009", network_id="net_west"))
    query = schemas.StaffQuery().load({})
    ids = [s["_id"] for s in registry.list_staff(repository, practice_key(PRACTICES[0]),
                                                 query)["items"]]
    assert ids == ["aa1", "aa2"]
    page = registry.list_staff(repository, LEAD, schemas.StaffQuery().load({"page_size": "2"}))
    assert page["total"] == 3 and len(page["items"]) == 2
    team = registry.list_staff(repository, LEAD, schemas.StaffQuery().load(
        {"practice_id": PRACTICES[0], "team": "clinical"}))
    assert [s["_id"] for s in team["items"]] == ["aa2"]
    course = cohorts.add_offering(repository, LEAD, schemas.OfferingIn().load({
        "network_id": NETWORK, "kind": "course", "title": "QI essentials",
        "awards_level": "introduction", "duration_hours": 2, "capacity": 10}), NOW, Trace())
    assert course["completion"] == {"attendance_share": 0.8, "requires_live_project": False}
    offerings = cohorts.list_offerings(repository, practice_key(PRACTICES[1]),
                                       schemas.OfferingQuery().load({}))
    assert [o["_id"] for o in offerings["items"]] == [course["_id"]]
    assert cohorts.list_offerings(repository, OTHER_LEAD,
                                  schemas.OfferingQuery().load({}))["total"] == 0
    cohorts.add_cohort(repository, LEAD, {"offering_id": course["_id"], "capacity": None,
                                          "session_dates": [date(2026, 4, 1)]}, NOW, Trace())
    listed = cohorts.list_cohorts(repository, practice_key(PRACTICES[0]),
                                  schemas.CohortQuery().load({"offering_id": course["_id"]}))
    assert listed["total"] == 1 and listed["items"][0]["places_left"] == 10
    with pytest.raises(NotFoundError):
        cohorts.list_cohorts(repository, OTHER_LEAD, {"offering_id": course["_id"],
                                                      "page": 1, "page_size": 50})
    # Every cohort of the network in one call (the catalogue page), by offering; another
    # network's lead finds no such network.
    webinar = cohorts.add_offering(repository, LEAD, schemas.OfferingIn().load({
        "network_id": NETWORK, "kind": "webinar", "title": "SPC in an hour",
        "refresher_for": "introduction",
        "duration_hours": 1, "capacity": 50}), NOW, Trace())
    cohorts.add_cohort(repository, LEAD, {"offering_id": webinar["_id"], "capacity": None,
                                          "session_dates": [date(2026, 4, 2)]}, NOW, Trace())
    network = schemas.CohortQuery().load({"network_id": NETWORK})
    of_network = cohorts.list_cohorts(repository, practice_key(PRACTICES[0]), network)
    assert of_network["total"] == 2
    assert [c["offering_id"] for c in of_network["items"]] == sorted(
        [course["_id"], webinar["_id"]])
    with pytest.raises(NotFoundError) as elsewhere:
        cohorts.list_cohorts(repository, OTHER_LEAD, network)
    assert "network_id" in elsewhere.value.fields
