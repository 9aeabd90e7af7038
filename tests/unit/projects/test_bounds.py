"""The bounds of the dates the projects service takes: PDSA cycles and aims."""
from datetime import date

import pytest
from marshmallow import ValidationError

from services.projects import schemas
from services.projects.service import ProjectsService

CYCLE = {"change_idea": "x", "plan": "p"}


def errors_of(schema, payload):
    try:
        schema.load(payload)
    except ValidationError as exc:
        return exc.messages
    return {}


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31",
                                 f"{date.today().year + 2}-01-01"])
def test_pdsa_cycle_dates_out_of_bounds_are_refused(day):
    assert "started_on" in errors_of(schemas.PdsaCycleIn(), {**CYCLE, "started_on": day})
    assert "completed_on" in errors_of(schemas.PdsaCyclePatch(), {"completed_on": day})


def test_an_aim_may_look_ten_years_ahead_but_not_to_9999():
    aim = {"what": "w", "how_much": "h"}
    in_ten_years = f"{date.today().year + 10}-12-31"
    assert errors_of(schemas.AimIn(), {**aim, "by_when": in_ten_years}) == {}
    for day in ("9999-12-31", "0001-01-01", f"{date.today().year + 11}-01-01"):
        assert "by_when" in errors_of(schemas.AimIn(), {**aim, "by_when": day})


def test_list_endpoints_are_documented_as_pages():
    document = ProjectsService.openapi_document
    for path in ("/networks", "/practices", "/api-keys", "/projects",
                 "/projects/{project_id}/pdsa-cycles", "/huddle-items"):
        schema = document["paths"][path]["get"]["responses"]["200"]["content"][
            "application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        page = document["components"]["schemas"][schema]
        assert set(page["properties"]) == {"items", "page", "page_size", "total"}, path
        assert page["properties"]["items"]["type"] == "array"
