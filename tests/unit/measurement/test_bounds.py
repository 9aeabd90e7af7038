"""The bounds of what the measurement service takes (shared.validation), and the checks that
keep reads total over whatever is stored: no 500 and no non-finite JSON."""
import json
import math
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from services.measurement import domain, schemas
from services.measurement.service import MeasurementService
from shared.domain import ConflictError
from shared.errors import Conflict
from shared.validation import (
    EARLIEST_DATE, MAX_MAGNITUDE, MAX_SERIES_MAGNITUDE, latest_date,
)
from shared.web import PageQuery, api_error_of, json_response
from tests.unit.measurement.test_domain import MEASURE

ROW = {"period": "2026-11-02", "practice_id": "F84001"}
DEFINITION = {"name": "n", "type": "process", "value_kind": "count", "frequency": "week",
              "operational_definition": "d", "improvement": "increase"}


def errors_of(schema, payload):
    try:
        schema.load(payload)
    except ValidationError as exc:
        return exc.messages
    return {}


@pytest.mark.parametrize("period", ["0001-01-01", "9999-12-31", "1999-12-31",
                                    f"{date.today().year + 2}-01-01"])
def test_periods_out_of_bounds_are_refused(period):
    assert "period" in errors_of(schemas.SubmissionRow(), {**ROW, "period": period,
                                                           "value": 1})
    assert "date" in errors_of(schemas.RebaseIn(), {"date": period})
    assert "period" in errors_of(schemas.CoverageQuery(), {"period": period})


@pytest.mark.parametrize("period", [EARLIEST_DATE.isoformat(), latest_date().isoformat()])
def test_periods_at_the_bounds_are_taken(period):
    assert errors_of(schemas.SubmissionRow(), {**ROW, "period": period, "value": 1}) == {}


@pytest.mark.parametrize("field,value", [
    ("value", 1.79e308), ("value", -1.0000001e12), ("numerator", -1), ("numerator", 1e308),
    ("denominator", 0), ("denominator", 1e-10), ("denominator", 1e13),
    ("value", float("inf")), ("value", float("nan"))])
def test_numbers_out_of_bounds_are_refused(field, value):
    assert field in errors_of(schemas.SubmissionRow(), {**ROW, field: value})


@pytest.mark.parametrize("value", [2 ** 63, 2 ** 64, 10 ** 6, 11, 12.5, "12"])
def test_fix_after_n_points_is_a_sensible_integer(value):
    assert "fix_after_n_points" in errors_of(schemas.MeasureIn(), {
        **DEFINITION, "fix_after_n_points": value})


def test_target_and_page_are_bounded():
    assert "target" in errors_of(schemas.MeasureIn(), {**DEFINITION, "target": 1.79e308})
    assert errors_of(schemas.MeasureIn(), {**DEFINITION, "target": MAX_MAGNITUDE,
                                           "fix_after_n_points": 12}) == {}
    assert "page" in errors_of(PageQuery(), {"page": str(2 ** 63)})
    assert PageQuery().load({"page": "3"})["page"] == 3


def test_a_rate_beyond_the_float_bound_names_the_denominator():
    contribution, errors = domain.contribution_of(
        "rate", {"numerator": 1e12, "denominator": 1e-3})
    assert contribution is None and "denominator" in errors
    contribution, errors = domain.contribution_of(
        "rate", {"numerator": 1e6, "denominator": 1e-6})
    assert errors == {} and contribution["value"] == pytest.approx(1e12)


@given(st.lists(st.tuples(
    st.sampled_from(["numerator", "denominator", "value"]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-MAX_MAGNITUDE,
              max_value=MAX_MAGNITUDE)), min_size=1, max_size=3))
def test_any_accepted_contribution_is_finite_and_bounded(fields):
    """Whatever the schema and the domain accept stays within ±MAX_MAGNITUDE (a rate's ratio
    too), so the sums of a thousand practices are still readable (±MAX_SERIES_MAGNITUDE)."""
    row = dict(fields)
    for kind in domain.VALUE_KINDS:
        contribution, errors = domain.contribution_of(kind, row)
        if not errors:
            assert all(v is None or (math.isfinite(v) and abs(v) <= MAX_MAGNITUDE)
                       for v in contribution.values())
            assert abs(contribution["value"]) <= MAX_MAGNITUDE


@pytest.mark.parametrize("points,bad", [
    ([("2026-01-05", 1.0), ("2026-01-12", float("inf"))], ["2026-01-12"]),
    ([("2026-01-05", float("nan"))], ["2026-01-05"]),
    ([("2026-01-05", 1.79e308), ("2026-01-12", 2.0)], ["2026-01-05"]),
    ([("0001-01-01", 1.0), ("9999-12-27", 2.0)], ["0001-01-01", "9999-12-27"]),
    ([("2026-01-05", None), ("2026-01-12", -MAX_SERIES_MAGNITUDE)], []),
])
def test_unreadable_periods_are_named(points, bad):
    assert domain.unreadable_periods(points) == bad
    if bad:
        with pytest.raises(ConflictError) as refused:
            domain.check_readable(points, "pooled")
        assert api_error_of(refused.value).status == 409 and bad[0] in refused.value.fields["period"][0]


def test_analysis_of_a_damaged_series_or_target_is_a_409_not_an_error():
    day = date(2026, 1, 5)
    points = [(day + timedelta(weeks=i), 1e308 * (i + 1)) for i in range(3)]
    with pytest.raises(ConflictError):
        domain.analyse_series(MEASURE, points)
    with pytest.raises(ConflictError) as refused:
        domain.analyse_series({**MEASURE, "target": 1.79e308}, [(day, 0.5)])
    assert "target" in refused.value.fields


def test_json_answers_never_carry_infinity_or_nan():
    with pytest.raises(Conflict):
        json_response(200, {"value": float("inf")})
    with pytest.raises(Conflict):
        json_response(200, {"value": float("nan")})
    assert json.loads(json_response(200, {"value": 1.79e308}).get_data()) == {"value": 1.79e308}


def test_the_document_shows_bounds_pages_statuses_and_nullables():
    document = MeasurementService.openapi_document
    components, paths = document["components"]["schemas"], document["paths"]
    submission = components["SubmissionIn"]["properties"]
    assert (submission["value"]["minimum"], submission["value"]["maximum"]) == (
        -MAX_MAGNITUDE, MAX_MAGNITUDE)
    assert submission["denominator"]["minimum"] > 0
    assert "2000-01-01" in submission["period"]["description"]
    fix = components["MeasureIn"]["properties"]["fix_after_n_points"]
    assert fix["minimum"] == 12 and fix["maximum"] < 2 ** 63
    assert set(paths["/submissions"]["post"]["responses"]) >= {"200", "201", "422"}
    listed = paths["/measures/{measure_id}/submissions"]["get"]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"]["$ref"].endswith(
        "SubmissionOutPage")
    assert components["SpcPointOut"]["properties"]["outside_limits"]["nullable"] is True
    chart = paths["/measures/{measure_id}/chart.png"]["get"]["responses"]["200"]
    assert set(chart["content"]) == {"image/png"}
    body = paths["/projects/{project_id}/measures"]["post"]["requestBody"]
    assert len(body["content"]["application/json"]["schema"]["oneOf"]) == 2
