"""The verdict in words: Making Data Count's vocabulary, dates in the en-GB long form."""

from datetime import date, timedelta

import pytest

from analytics.spc import SpcAnalysis, analyse
from analytics.spc.verdict import (
    assurance_in_words, long_date, number_in_words, since, variation_in_words, verdict,
)

# 14 weeks about 0.57, then 7 weeks above the mean from Monday 13 April 2026: a run
START = date(2026, 1, 5)
SMR = [0.52, 0.58, 0.55, 0.61, 0.54, 0.57, 0.53, 0.6, 0.56, 0.55, 0.59, 0.54, 0.57, 0.56,
       0.64, 0.62, 0.65, 0.63, 0.66, 0.64, 0.65]


def weeks(n):
    return [START + timedelta(weeks=i) for i in range(n)]


def smr(improvement="increase", target=0.6, values=SMR):
    return analyse(weeks(len(values)), values, improvement=improvement, target=target)


def test_the_issues_example():
    assert verdict(smr(), 0.6) == ("special-cause improvement since 13 April 2026; "
                                   "assurance: hit and miss against the target 0.6")


def test_the_web_pages_form_from_the_parts():
    analysis = smr(target=0.3, values=SMR[:14] + [0.9] * 3)
    assert analysis.assurance_type == "consistent_pass"
    assert (f"{variation_in_words(analysis)}; "
            f"{assurance_in_words(analysis.assurance_type)}") == (
        "special-cause improvement since 13 April 2026; consistently passing the target")


@pytest.mark.parametrize("improvement, target, expected", [
    ("decrease", 0.6, "special-cause concern since 13 April 2026; "
                      "assurance: hit and miss against the target 0.6"),
    ("neutral", None, "special-cause variation (high, neither improvement nor concern) "
                      "since 13 April 2026"),
    ("neutral", 0.6, "special-cause variation (high, neither improvement nor concern) "
                     "since 13 April 2026; assurance: not applicable (no direction is an "
                     "improvement)"),
    ("increase", None, "special-cause improvement since 13 April 2026"),
    ("increase", 0.9, "special-cause improvement since 13 April 2026; "
                      "assurance: consistently failing the target 0.9"),
])
def test_each_variation_and_assurance(improvement, target, expected):
    assert verdict(smr(improvement, target), target) == expected


def test_common_cause_has_no_since():
    analysis = smr(target=0.3, values=SMR[:14])
    assert verdict(analysis, 0.3) == ("common cause variation; "
                                      "assurance: consistently passing the target 0.3")


def test_since_is_the_start_of_the_last_stretch_of_the_last_points_type():
    # a point below the lower limit after the run: the concern starts there, not in April
    analysis = smr(target=None, values=SMR + [0.45])
    assert analysis.points[-1].point_type == "special_cause_concern"  # below the limit
    assert since(analysis) == date(2026, 6, 1)
    assert verdict(analysis) == "special-cause concern since 1 June 2026"


def test_no_points():
    assert verdict(SpcAnalysis((), None, None), 0.6) == "no data yet"
    assert verdict(analyse([], [], target=0.6)) == "no data yet"


def test_the_services_json_reads_back_into_the_same_verdict():
    analysis = smr()
    served = {"measure_id": "msr_1", "series": "pooled", **analysis.to_dict()}
    assert SpcAnalysis.from_dict(served).points == analysis.points
    assert verdict(SpcAnalysis.from_dict(served), 0.6) == verdict(analysis, 0.6)


@pytest.mark.parametrize("day, expected", [
    (date(2026, 10, 5), "5 October 2026"), (date(2026, 4, 13), "13 April 2026"),
    (date(2027, 1, 1), "1 January 2027"), (date(2026, 12, 31), "31 December 2026"),
])
def test_long_dates_have_no_leading_zero(day, expected):
    assert long_date(day) == expected


@pytest.mark.parametrize("x, expected", [
    (0.6, "0.6"), (0.58857, "0.5886"), (11.9, "11.9"), (280.0, "280"), (1234.5, "1,234"),
    (-2.5, "-2.5"), (0, "0"), (1e-7, "0.0000001"), (3_000_000, "3,000,000"),
])
def test_numbers_as_a_person_writes_them(x, expected):
    assert number_in_words(x) == expected
