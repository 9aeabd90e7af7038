"""Tests of analytics.spc against NHSRplotthedots v0.2.2 semantics.

Expected numbers are literal: worked out by hand from the R code
(R/ptd_spc_standard.R, R/ptd_calculate_point_type.R,
R/ptd_calculate_assurance_type.R), or copied from the R package's own test
snapshots (tests/testthat/_snaps/ptd_spc_standard.md, _snaps/ptd_spc.md).
At the end, a property test compares ``analyse`` with a line-by-line
transliteration of the R functions written in this file.

Limits used by hand below: lpl/upl = mean -/+ 2.66 * amr, near limits
mean -/+ 1.77333 * amr, moving ranges >= 3.267 * amr screened out once.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import FrozenInstanceError
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import spc
from analytics.spc import limits, rules
from analytics.spc import (
    RULE_OUTSIDE_LIMITS,
    RULE_RUN,
    RULE_TREND,
    RULE_TWO_IN_THREE,
    RULES,
    SHORT_GROUP_WARNING,
    SpcAnalysis,
    SpcInputError,
    SpcPoint,
    analyse,
    decisive_rule,
    special_cause_rules,
)

START = date(2024, 1, 1)


def weeks(n, start=START):
    return [start + timedelta(weeks=i) for i in range(n)]


def run(values, **kwargs):
    return analyse(weeks(len(values)), values, **kwargs)


def types(analysis):
    return [p.point_type for p in analysis.points]


def special_indices(analysis):
    return [i for i, p in enumerate(analysis.points) if p.rules]


CC = "common_cause"
IMP = "special_cause_improvement"
CON = "special_cause_concern"
HIGH = "special_cause_neutral_high"
LOW = "special_cause_neutral_low"

# --------------------------------------------------------------------------- #
# Ported from the R package's tests: set.seed(123); rnorm(20), dates 2020-01-02..
# --------------------------------------------------------------------------- #
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774,
    1.71506499, 0.46091621, -1.26506123, -0.68685285, -0.44566197,
    1.22408180, 0.35981383, 0.40077145, 0.11068272, -0.55584113,
    1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip
R_DATES = weeks(20)  # the R test uses daily dates; only the order matters


def test_r_snapshot_limits_and_relative_to_mean():
    # _snaps/ptd_spc_standard.md, r1: mean 0.1416238, lpl -3.01138, upl 3.294627
    a = analyse(R_DATES, RNORM_123)
    for p in a.points:
        assert p.mean == pytest.approx(0.1416238, abs=5e-8)
        assert p.lpl == pytest.approx(-3.01138, abs=5e-6)
        assert p.upl == pytest.approx(3.294627, abs=5e-7)
    assert [p.relative_to_mean for p in a.points][:15] == [
        -1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1,
    ]  # fmt: skip
    assert not any(p.outside_limits for p in a.points)
    assert [p.close_to_limits for p in a.points][:8] == [False] * 8
    # _snaps/ptd_spc.md summary: n 20, common_cause 20, no special cause
    assert types(a) == [CC] * 20
    assert a.variation_type == CC


def test_r_snapshot_screen_outliers_on_and_off():
    y = list(RNORM_123)
    y[14] = 10  # data$y[15] <- 10
    r2 = analyse(R_DATES, y)  # screening on
    r3 = analyse(R_DATES, y, screen_outliers=False)
    assert r2.points[0].mean == pytest.approx(0.6694159, abs=5e-8)
    assert r2.points[0].lpl == pytest.approx(-2.383666, abs=5e-7)
    assert r2.points[0].upl == pytest.approx(3.722497, abs=5e-7)
    assert r3.points[0].mean == pytest.approx(0.6694159, abs=5e-8)
    assert r3.points[0].lpl == pytest.approx(-4.596625, abs=5e-7)
    assert r3.points[0].upl == pytest.approx(5.935457, abs=5e-7)
    expected_rtm = [-1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1, -1, -1]
    assert [p.relative_to_mean for p in r2.points][:14] == expected_rtm
    assert [p.relative_to_mean for p in r3.points][:14] == expected_rtm


def test_r_snapshot_groups_are_computed_independently():
    # _snaps/ptd_spc.md: facet 0 (first 10) mean 0.0746 lpl -2.60 upl 2.75,
    # facet 1 (last 10) mean 0.209 lpl -3.28 upl 3.70.  A rebase on the 11th
    # date must give the same numbers per group.
    a = analyse(R_DATES, RNORM_123, rebase_dates=[R_DATES[10]])
    first, second = a.points[0], a.points[10]
    assert [p.rebase_group for p in a.points] == [0] * 10 + [1] * 10
    assert first.mean == pytest.approx(0.0746, abs=5e-5)
    assert first.lpl == pytest.approx(-2.60, abs=5e-3)
    assert first.upl == pytest.approx(2.75, abs=5e-3)
    assert second.mean == pytest.approx(0.209, abs=5e-4)
    assert second.lpl == pytest.approx(-3.28, abs=5e-3)
    assert second.upl == pytest.approx(3.70, abs=5e-3)
    assert types(a) == [CC] * 20
    # both groups have 10 < 13 points: R's short-group warning
    assert a.warnings == (SHORT_GROUP_WARNING,)
    assert a.short_groups == (0, 1)


def test_r_snapshot_target_gives_inconsistent_assurance():
    a = analyse(R_DATES, RNORM_123, target=0.5)  # -3.01 < 0.5 < 3.29
    assert a.assurance_type == "inconsistent"


def test_r_two_in_three_on_opposite_sides_is_common_cause():
    # test-ptd_spc_standard.R (issue #143): rep(c(1, -1), 8), [15] = 5.5, [16] = -5.5
    # mean 0; MRs 13 x 2, 6.5, 11 -> amr 2.9, 11 >= 3.267 * 2.9 screened ->
    # amr 32.5 / 14 = 2.3214: nupl 4.117 < 5.5 < upl 6.175 (and mirrored)
    y = [1, -1] * 8
    y[14], y[15] = 5.5, -5.5
    a = run(y)
    assert a.points[0].mean == 0
    assert a.points[0].upl == pytest.approx(2.66 * 32.5 / 14)
    assert [p.close_to_limits for p in a.points[-2:]] == [True, True]
    assert [p.point_type for p in a.points[-2:]] == [CC, CC]


# --------------------------------------------------------------------------- #
# Outside the limits, each improvement direction
# --------------------------------------------------------------------------- #
# 19 points alternating 10/12, then 30: mean 238 / 20 = 11.9; MRs 18 x 2 and
# 20; 20 >= 3.267 * 56 / 19 = 9.63 is screened, amr 2 -> limits 6.58 / 17.22
ABOVE = [10, 12] * 9 + [10, 30]
# its mirror image (22 - y): mean 10.1, limits 4.78 / 15.42
BELOW = [12, 10] * 9 + [12, -8]


@pytest.mark.parametrize(
    "improvement, expected", [("increase", IMP), ("decrease", CON), ("neutral", HIGH)]
)
def test_point_above_upper_limit(improvement, expected):
    a = run(ABOVE, improvement=improvement)
    last = a.points[-1]
    assert last.mean == pytest.approx(11.9)
    assert last.lpl == pytest.approx(6.58)
    assert last.upl == pytest.approx(17.22)
    assert last.outside_limits is True
    assert last.close_to_limits is False
    assert last.relative_to_mean == 1
    assert last.special_cause_type == "Above UCL"
    assert last.rules == (RULE_OUTSIDE_LIMITS,)
    assert last.point_type == expected
    assert types(a)[:-1] == [CC] * 19
    assert a.variation_type == expected


@pytest.mark.parametrize(
    "improvement, expected", [("increase", CON), ("decrease", IMP), ("neutral", LOW)]
)
def test_point_below_lower_limit(improvement, expected):
    a = run(BELOW, improvement=improvement)
    last = a.points[-1]
    assert last.mean == pytest.approx(10.1)
    assert last.lpl == pytest.approx(4.78)
    assert last.upl == pytest.approx(15.42)
    assert last.special_cause_type == "Below LCL"
    assert last.relative_to_mean == -1
    assert last.point_type == expected
    assert types(a)[:-1] == [CC] * 19
    assert a.variation_type == expected


# --------------------------------------------------------------------------- #
# Screening of moving ranges
# --------------------------------------------------------------------------- #
# 9 points alternating 10/12 then 19.135: mean 11.7135; MRs 8 x 2 and 9.135;
# amr 25.135 / 9 = 2.79278 and 9.135 >= 3.267 * 2.79278 = 9.124.
SCREEN = [10, 12, 10, 12, 10, 12, 10, 12, 10, 19.135]


def test_screening_drops_the_large_moving_range():
    a = run(SCREEN)  # amr 2 -> limits 11.7135 -/+ 5.32
    last = a.points[-1]
    assert last.mean == pytest.approx(11.7135)
    assert last.lpl == pytest.approx(6.3935)
    assert last.upl == pytest.approx(17.0335)
    assert last.special_cause_type == "Above UCL"
    assert a.variation_type == IMP


def test_screening_off_keeps_the_large_moving_range():
    a = run(SCREEN, screen_outliers=False)  # amr 2.79278
    last = a.points[-1]
    assert last.lpl == pytest.approx(11.7135 - 2.66 * 25.135 / 9)  # 4.28471
    assert last.upl == pytest.approx(11.7135 + 2.66 * 25.135 / 9)  # 19.1423
    assert last.outside_limits is False
    assert last.close_to_limits is True  # above the near limit 16.666
    assert last.special_cause_type == "Common Cause"  # only 1 close point
    assert types(a) == [CC] * 10


# --------------------------------------------------------------------------- #
# Runs of 7 on one side of the mean
# --------------------------------------------------------------------------- #
RUN7 = [8, 12, 8, 12, 8, 12, 8] + [11, 12, 11, 12, 11, 12, 11]  # mean 148/14


@pytest.mark.parametrize(
    "improvement, expected", [("increase", IMP), ("decrease", CON), ("neutral", HIGH)]
)
def test_run_of_seven_above_the_mean(improvement, expected):
    a = run(RUN7, improvement=improvement)
    assert a.points[0].mean == pytest.approx(148 / 14)  # 10.571
    assert special_indices(a) == list(range(7, 14))
    for p in a.points[7:]:
        assert p.special_cause_type == "7 Points Above CL"
        assert p.rules == (RULE_RUN,)
        assert p.point_type == expected


def test_run_of_seven_below_the_mean_decrease_is_improvement():
    y = [22 - v for v in RUN7]  # mirror: mean 22 - 10.571
    a = run(y, improvement="decrease")
    assert special_indices(a) == list(range(7, 14))
    assert {p.special_cause_type for p in a.points[7:]} == {"7 Points Below CL"}
    assert {p.point_type for p in a.points[7:]} == {IMP}
    assert {p.point_type for p in run(y, improvement="neutral").points[7:]} == {LOW}


def test_six_points_on_one_side_are_not_a_run():
    a = run(RUN7[:-1])
    assert types(a) == [CC] * 13


def test_a_point_exactly_on_the_mean_breaks_a_run():
    # sum 140 -> mean exactly 10.0; the 10 at index 10 has relative_to_mean 0
    y = [6, 14, 6, 14, 6, 14, 6] + [10.5, 11, 10.5, 10, 10.5, 11, 10.5]
    a = run(y)
    assert a.points[0].mean == 10.0
    assert a.points[10].relative_to_mean == 0
    assert [p.relative_to_mean for p in a.points[7:]] == [1, 1, 1, 0, 1, 1, 1]
    assert types(a) == [CC] * 14
    # control: 10.25 instead of 10 is above the mean 10.018 -> a run of 7
    y[10] = 10.25
    b = run(y)
    assert b.points[0].mean == pytest.approx(140.25 / 14)
    assert special_indices(b) == list(range(7, 14))


# --------------------------------------------------------------------------- #
# Trends of 7 points (6 steps of the same sign)
# --------------------------------------------------------------------------- #
# mean 156 / 15 = 10.4, amr 24 / 14, limits 5.84 / 14.96, near 7.36 / 13.44
TREND_UP = [10, 12, 10, 12, 10, 7, 8, 9, 10, 11, 12, 13, 10, 12, 10]


@pytest.mark.parametrize(
    "improvement, expected", [("increase", IMP), ("decrease", CON), ("neutral", HIGH)]
)
def test_increasing_trend_crossing_the_mean(improvement, expected):
    a = run(TREND_UP, improvement=improvement)
    assert a.points[0].mean == pytest.approx(10.4)
    assert a.points[0].upl == pytest.approx(14.96)
    assert special_indices(a) == list(range(5, 12))
    for p in a.points[5:12]:
        # 7, 8, 9, 10 are below the mean: the trend's direction decides (#171)
        assert p.special_cause_type == "7 Point Trend (Increasing)"
        assert p.rules == (RULE_TREND,)
        assert p.point_type == expected
    assert a.points[5].close_to_limits is True  # 7 < 7.36, but alone


@pytest.mark.parametrize(
    "improvement, expected", [("increase", CON), ("decrease", IMP), ("neutral", LOW)]
)
def test_decreasing_trend(improvement, expected):
    a = run(TREND_UP[::-1], improvement=improvement)
    assert special_indices(a) == list(range(3, 10))
    for p in a.points[3:10]:
        assert p.special_cause_type == "7 Point Trend (Decreasing)"
        assert p.point_type == expected


def test_equal_neighbours_break_a_trend():
    # 7, 8, 9, 9, 10, 11, 12, 13: the flat step has sign 0, so the longest
    # stretch of rising steps is 4 -> no trend (R: all(d == 1) is FALSE)
    y = [10, 12, 10, 12, 10, 7, 8, 9, 9, 10, 11, 12, 13, 10, 12, 10]
    a = run(y)
    assert a.points[0].mean == pytest.approx(165 / 16)
    assert types(a) == [CC] * 16


@pytest.mark.parametrize(
    "y, trend_points",
    [
        ([1, 2, 3, 4, 5, 6], []),  # ptd_seven_point_trend(1:6): too short
        ([1, 2, 3, 3, 4, 5, 6], []),  # c(1:3, 3:6)
        ([1, 2, 3, 4, 5, 6, 7], list(range(7))),  # 1:7
        ([2, 1, 2, 3, 4, 5, 6, 7, 3], list(range(1, 8))),  # c(2, 1:7, 3)
        ([7, 6, 5, 4, 3, 2, 1], list(range(7))),  # 7:1
        ([2, 7, 6, 5, 4, 3, 2, 1, 3], list(range(1, 8))),  # c(2, 7:1, 3)
    ],
)
def test_r_seven_point_trend_cases(y, trend_points):
    a = run([float(v) for v in y])
    assert [i for i, p in enumerate(a.points) if RULE_TREND in p.rules] == trend_points


def test_adjacent_trends_take_the_direction_of_the_step_to_the_right():
    # 101..107 then 107..101: the flat step between the two 107s joins two
    # trends; R's ptd_special_cause_type() takes the right-hand step of a
    # point whose successor is also in a trend, and ifelse(sdy == 1, "In",
    # "De") makes a flat step "Decreasing" -> the top of the rising trend is
    # labelled Decreasing.  Noise 80/120 keeps everything inside the limits.
    y = [80, 120] * 6 + list(range(101, 108)) + list(range(107, 100, -1)) + [120, 80] * 6
    a = run(y)
    assert a.points[0].mean == pytest.approx(3856 / 38)
    assert special_indices(a) == list(range(12, 26))
    sct = [p.special_cause_type for p in a.points[12:26]]
    assert sct == ["7 Point Trend (Increasing)"] * 6 + ["7 Point Trend (Decreasing)"] * 8
    assert types(a)[12:26] == [IMP] * 6 + [CON] * 8
    assert {decisive_rule(p) for p in a.points[12:26]} == {RULE_TREND}


def test_trend_takes_precedence_over_run():
    # 8/12 noise, then 11, 11.5, ..., 14 (rising, all above the mean 10.775)
    y = [8, 12] * 5 + [11, 11.5, 12, 12.5, 13, 13.5, 14] + [8, 12, 8]
    a = run(y)
    assert a.points[0].mean == pytest.approx(10.775)
    assert special_indices(a) == list(range(9, 17))
    assert a.points[9].rules == (RULE_RUN,)  # the 12 before the trend
    assert a.points[9].special_cause_type == "7 Points Above CL"
    for p in a.points[10:17]:
        assert p.rules == (RULE_TREND, RULE_RUN)
        assert special_cause_rules(p) == (RULE_TREND, RULE_RUN)
        assert decisive_rule(p) == RULE_TREND
        assert p.special_cause_type == "7 Point Trend (Increasing)"


def test_falling_trend_above_the_mean_is_concern_when_increase_is_good():
    y = [8, 12] * 5 + [14, 13.5, 13, 12.5, 12, 11.5, 11] + [8, 12, 8]
    a = run(y, improvement="increase")
    assert special_indices(a) == list(range(9, 18))  # 11 -> 8 extends the trend
    assert a.points[9].point_type == IMP  # run only: above the mean
    assert types(a)[10:18] == [CON] * 8  # trend down beats side of mean
    assert a.points[17].rules == (RULE_TREND,)  # the 8 is below the mean


# --------------------------------------------------------------------------- #
# Two of three points beyond a near-limit line
# --------------------------------------------------------------------------- #
BASE30 = [10, 12] * 15


def test_two_in_three_on_the_same_side():
    y = list(BASE30)
    y[13:16] = [16, 12, 16]  # mean 340 / 30, amr 70 / 29: near 15.614, upl 17.754
    a = run(y)
    assert a.points[0].mean == pytest.approx(340 / 30)
    assert a.points[0].upl == pytest.approx(340 / 30 + 2.66 * 70 / 29)
    assert [p.close_to_limits for p in a.points[13:16]] == [True, False, True]
    assert special_indices(a) == [13, 15]  # the middle point is not close itself
    for i in (13, 15):
        assert a.points[i].special_cause_type == "2 in 3 Above CL"
        assert a.points[i].rules == (RULE_TWO_IN_THREE,)
    assert a.points[13].point_type == IMP
    assert run(y, improvement="decrease").points[13].point_type == CON
    assert run(y, improvement="neutral").points[15].point_type == HIGH


def test_two_in_three_below():
    y = [22 - v for v in BASE30]
    y[13:16] = [6, 10, 6]  # mirror of the case above
    a = run(y, improvement="decrease")
    assert special_indices(a) == [13, 15]
    assert a.points[13].special_cause_type == "2 in 3 Below CL"
    assert a.points[13].point_type == IMP
    assert run(y, improvement="neutral").points[15].point_type == LOW


def test_two_in_three_needs_all_three_on_the_same_side():
    y = list(BASE30)
    y[13:16] = [16, 10, 16]  # the middle point is below the mean (issue #143)
    a = run(y)
    assert [p.close_to_limits for p in a.points[13:16]] == [True, False, True]
    assert types(a) == [CC] * 30


def test_a_point_outside_the_limits_is_not_close_to_them():
    y = list(BASE30)
    y[13:16] = [16, 12, 30]  # 30 is outside: only 1 of 3 is "close"
    a = run(y)  # mean 11.8, amr 60 / 27 (18 and 20 screened), near 15.741
    assert a.points[0].mean == pytest.approx(11.8)
    assert a.points[0].upl == pytest.approx(11.8 + 2.66 * 60 / 27)
    assert a.points[13].close_to_limits is True
    assert a.points[15].outside_limits is True
    assert a.points[15].close_to_limits is False
    assert special_indices(a) == [15]
    assert a.points[15].rules == (RULE_OUTSIDE_LIMITS,)


@pytest.mark.parametrize(
    "close, rtm, expected",
    [
        # from tests/testthat/test-ptd_calculate_point_type.R (part_of_two_in_three)
        ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
        ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
        ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 0, 1, 1, 0, 0, 0]),
        ([1, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]),
        ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
        ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
        ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
    ],
)
def test_r_two_in_three_unit_cases(close, rtm, expected):
    flags = rules.mark_two_in_three(rtm, [bool(c) for c in close], len(close))
    assert flags == [bool(e) for e in expected]


@pytest.mark.parametrize(
    "rtm, expected",
    [
        # ptd_part_of_seven_trend(ptd_seven_point_one_side_mean(v)) from the R tests
        ([1] * 6, [0] * 6),
        ([1] * 6 + [-1], [0] * 7),
        ([1] * 8 + [-1], [1] * 8 + [0]),
        ([-1] * 8 + [1], [1] * 8 + [0]),
        ([0] * 7, [0] * 7),
        ([1, 1, 1, 0, 1, 1, 1], [0] * 7),
    ],
)
def test_r_seven_point_one_side_mean_unit_cases(rtm, expected):
    assert rules.mark_runs(rtm, len(rtm)) == [bool(e) for e in expected]


# --------------------------------------------------------------------------- #
# Zero moving ranges, short series
# --------------------------------------------------------------------------- #
def test_constant_series_with_screening_has_no_limits():
    # every MR is 0 and 0 < 3.267 * 0 is FALSE: all screened -> amr NaN -> NA limits
    a = run([5.0] * 15, target=4)
    for p in a.points:
        assert (p.mean, p.lpl, p.upl) == (5.0, None, None)
        assert p.relative_to_mean == 0
        assert p.outside_limits is None
        assert p.close_to_limits is None
        assert p.point_type == CC
    assert a.assurance_type == "inconsistent"  # target vs NA limits
    d = a.to_dict()["points"][0]
    assert (d["lpl"], d["upl"], d["outside_limits"]) == (None, None, None)


def test_constant_series_without_screening_has_zero_width_limits():
    a = run([5.0] * 15, screen_outliers=False, target=5)
    for p in a.points:
        assert (p.mean, p.lpl, p.upl) == (5.0, 5.0, 5.0)
        assert (p.outside_limits, p.close_to_limits) == (False, False)
        assert p.relative_to_mean == 0
    assert types(a) == [CC] * 15
    assert a.assurance_type == "inconsistent"  # strict: 5 is neither > nor < 5
    assert run([5.0] * 15, screen_outliers=False, target=5.5).assurance_type == (
        "consistent_fail"
    )
    assert run([5.0] * 15, screen_outliers=False, target=4.5).assurance_type == (
        "consistent_pass"
    )


def test_zero_average_moving_range_after_screening():
    # MRs: 13 zeros and 1; 1 >= 3.267 / 14 is screened -> amr 0: limits = mean,
    # so every point off the mean is outside them
    a = run([5.0] * 14 + [6.0])
    mean = 76 / 15
    assert a.points[0].mean == pytest.approx(mean)
    assert a.points[0].lpl == a.points[0].upl == a.points[0].mean
    assert {p.special_cause_type for p in a.points[:14]} == {"Below LCL"}
    assert a.points[0].rules == (RULE_OUTSIDE_LIMITS, RULE_RUN)
    assert a.points[14].special_cause_type == "Above UCL"
    assert types(a) == [CON] * 14 + [IMP]


def test_single_point():
    a = run([3.0], target=1)
    (p,) = a.points
    assert (p.mean, p.lpl, p.upl) == (3.0, None, None)
    assert p.relative_to_mean == 0
    assert (p.outside_limits, p.close_to_limits) == (None, None)
    assert p.special_cause_type == "Common Cause"
    assert a.variation_type == CC
    assert a.assurance_type == "inconsistent"
    assert a.warnings == (SHORT_GROUP_WARNING,)


def test_two_points():
    a = run([1.0, 3.0])  # mean 2, one MR of 2 (2 < 6.534 kept)
    assert [p.relative_to_mean for p in a.points] == [-1, 1]
    assert a.points[0].lpl == pytest.approx(2 - 5.32)
    assert a.points[0].upl == pytest.approx(2 + 5.32)
    assert types(a) == [CC, CC]


def test_short_group_warning_threshold_is_13():
    assert run([10, 12] * 6).warnings == (SHORT_GROUP_WARNING,)  # 12 points
    assert run([10, 12] * 6 + [10]).warnings == ()  # 13 points


def test_empty_series():
    a = analyse([], [])
    assert a.points == ()
    assert a.variation_type is None and a.assurance_type is None
    assert a.to_dict() == {"points": [], "variation_type": None, "assurance_type": None}


# --------------------------------------------------------------------------- #
# Rebase groups and fix_after_n_points
# --------------------------------------------------------------------------- #
REBASE = [10, 14, 10, 14, 9, 10, 11, 12] + [13, 14, 15, 11, 15, 11, 15, 11]


def test_without_rebase_the_series_has_a_trend():
    a = run(REBASE)  # 9, 10, ..., 15 at indices 4..10
    assert [i for i, p in enumerate(a.points) if RULE_TREND in p.rules] == list(
        range(4, 11)
    )
    assert a.points[0].mean == pytest.approx(195 / 16)


def test_rebase_groups_are_computed_independently():
    d = weeks(16)
    a = analyse(d, REBASE, rebase_dates=[d[8]])
    assert [p.rebase_group for p in a.points] == [0] * 8 + [1] * 8
    g0, g1 = a.points[0], a.points[8]
    assert g0.mean == 11.25  # 90 / 8; MRs 20 / 7
    assert g0.lpl == pytest.approx(11.25 - 7.6)
    assert g0.upl == pytest.approx(11.25 + 7.6)
    assert g1.mean == 13.125  # 105 / 8; MRs 22 / 7
    assert g1.lpl == pytest.approx(13.125 - 8.36)
    assert g1.upl == pytest.approx(13.125 + 8.36)
    assert all(p.mean == 11.25 for p in a.points[:8])
    # the trend no longer exists: rules never cross a rebase
    assert types(a) == [CC] * 16
    assert a.short_groups == (0, 1)


def test_rebase_group_numbering_follows_cumsum():
    d = weeks(16)
    # a rebase on the first date makes the first group 1 (R: cumsum(rebase));
    # a rebase date that is not in the data is ignored
    a = analyse(d, REBASE, rebase_dates=[d[0], d[8], date(2000, 1, 1)])
    assert [p.rebase_group for p in a.points] == [1] * 8 + [2] * 8
    b = analyse(d, REBASE, rebase_dates=[date(1999, 1, 1)])
    assert [p.rebase_group for p in b.points] == [0] * 16
    c = analyse(d, REBASE, rebase_dates=d[8])  # a single date is accepted
    assert [p.rebase_group for p in c.points] == [0] * 8 + [1] * 8


def test_assurance_uses_the_last_group():
    d = weeks(16)
    # last group: lpl 4.765, upl 21.485 (first group: 3.65 / 18.85)
    assert analyse(d, REBASE, rebase_dates=[d[8]], target=20).assurance_type == (
        "inconsistent"
    )
    assert analyse(d, REBASE, rebase_dates=[d[8]], target=4.0).assurance_type == (
        "consistent_pass"
    )


def test_fix_after_n_points():
    # first 12 alternate 10/12: mean 11, amr 2 -> limits 5.68 / 16.32 for all
    y = [10, 12] * 6 + [20, 20]
    a = run(y, fix_after_n_points=12)
    for p in a.points:
        assert p.mean == 11.0
        assert p.lpl == pytest.approx(5.68)
        assert p.upl == pytest.approx(16.32)
    assert types(a) == [CC] * 12 + [IMP, IMP]
    b = run(y)  # not fixed: mean 172 / 14, MR 8 screened -> amr 22 / 12
    assert b.points[0].mean == pytest.approx(172 / 14)
    assert b.points[0].upl == pytest.approx(172 / 14 + 2.66 * 22 / 12)
    # a non-integer n fixes on floor(n) points; n beyond the group is no fix
    assert run(y, fix_after_n_points=12.9).points[0].mean == 11.0
    assert run(y, fix_after_n_points=100).points[0].mean == b.points[0].mean


def test_fix_after_n_points_applies_per_rebase_group():
    y = [10, 12] * 6 + [20, 20] + [30, 34] * 6 + [40]
    d = weeks(len(y))
    a = analyse(d, y, fix_after_n_points=12, rebase_dates=[d[14]])
    assert {p.mean for p in a.points[:14]} == {11.0}
    assert {p.mean for p in a.points[14:]} == {32.0}  # first 12 of group 1
    assert a.points[14].upl == pytest.approx(32 + 2.66 * 4)  # 42.64
    # the 13th point of group 1 (40) is judged against the fixed limits:
    # inside 42.64 but beyond the near limit 32 + 1.77333 * 4 = 39.09
    assert a.points[-1].outside_limits is False
    assert a.points[-1].close_to_limits is True


# --------------------------------------------------------------------------- #
# Missing values (R's NA)
# --------------------------------------------------------------------------- #
def test_missing_values_are_left_out_of_mean_and_moving_ranges():
    # MRs 2, NA, NA, 2, 2, 2, 2 -> amr 2; mean 78 / 7
    for missing in (None, float("nan")):
        a = run([10, 12, missing, 12, 10, 12, 10, 12])
        p = a.points[2]
        assert p.value is None
        assert p.mean == pytest.approx(78 / 7)
        assert p.upl == pytest.approx(78 / 7 + 5.32)
        assert (p.relative_to_mean, p.outside_limits, p.close_to_limits) == (
            None,
            None,
            None,
        )
        assert p.special_cause_type == "Common Cause"
        assert a.points[3].relative_to_mean == 1
        assert a.to_dict()["points"][2]["value"] is None


def test_missing_value_breaks_a_run():
    y = [12, 8, 12, 8] + [11, 11, 11, None, 11, 11, 11] + [8, 12, 8]
    a = run(y)
    assert types(a) == [CC] * 14
    y[7] = 11
    assert special_indices(run(y)) == list(range(4, 11))


def test_all_values_missing():
    a = run([None, None, None])
    assert all(p.mean is None and p.lpl is None for p in a.points)
    assert all(p.relative_to_mean is None for p in a.points)
    assert a.variation_type == CC


def test_missing_value_inside_a_monotone_window_stops_like_r():
    # R: if (all(d == 1)) with d = c(1, 1, NA, NA, 1, 1) -> "missing value
    # where TRUE/FALSE needed"
    with pytest.raises(SpcInputError, match="missing value"):
        run([1, 2, 3, None, 5, 6, 7])
    # a window whose known steps disagree is evaluated (FALSE) by R
    a = run([1, 2, 3, None, 5, 4, 7])
    assert not any(RULE_TREND in p.rules for p in a.points)


# --------------------------------------------------------------------------- #
# Input validation
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "dates, values, kwargs, message",
    [
        ([date(2024, 1, 8), date(2024, 1, 1)], [1, 2], {}, "sorted ascending"),
        ([date(2024, 1, 1), date(2024, 1, 1)], [1, 2], {}, "duplicate date 2024-01-01"),
        ([date(2024, 1, 1)], [1, 2], {}, "same length"),
        ([datetime(2024, 1, 1)], [1], {}, r"dates\[0\] must be a datetime.date"),
        (["2024-01-01"], [1], {}, r"dates\[0\] must be a datetime.date"),
        ([date(2024, 1, 1)], ["1"], {}, r"values\[0\] must be a number"),
        ([date(2024, 1, 1)], [True], {}, r"values\[0\] must be a number"),
        ([date(2024, 1, 1)], [math.inf], {}, "infinite"),
        ([date(2024, 1, 1)], [1], {"improvement": "up"}, "improvement must be one of"),
        ([date(2024, 1, 1)], [1], {"fix_after_n_points": 11}, "at least|greater"),
        ([date(2024, 1, 1)], [1], {"fix_after_n_points": math.nan}, "greater"),
        ([date(2024, 1, 1)], [1], {"target": "5"}, "target must be a number"),
        ([date(2024, 1, 1)], [1], {"screen_outliers": 1}, "screen_outliers"),
        ([date(2024, 1, 1)], [1], {"rebase_dates": "2024-01-01"}, "not a string"),
        ([date(2024, 1, 1)], [1], {"rebase_dates": [1]}, r"rebase_dates\[0\]"),
    ],
)
def test_invalid_input(dates, values, kwargs, message):
    with pytest.raises(ValueError, match=message):
        analyse(dates, values, **kwargs)


def test_numeric_types_are_accepted():
    a = analyse(weeks(3), [1, np.float64(2.5), np.int64(4)])
    assert [p.value for p in a.points] == [1.0, 2.5, 4.0]
    assert all(type(p.value) is float for p in a.points)


# --------------------------------------------------------------------------- #
# Result objects
# --------------------------------------------------------------------------- #
def test_to_dict_shape_and_json():
    a = run(ABOVE, target=5)
    d = a.to_dict()
    assert set(d) == {"points", "variation_type", "assurance_type"}
    assert d["variation_type"] == IMP and d["assurance_type"] == "consistent_pass"
    p = d["points"][-1]
    assert list(p) == [
        "date", "value", "mean", "lpl", "upl", "rebase_group", "relative_to_mean",
        "outside_limits", "close_to_limits", "special_cause_type", "point_type", "rules",
    ]  # fmt: skip
    assert p["date"] == (START + timedelta(weeks=19)).isoformat()
    assert p["rules"] == ["outside_limits"]
    assert p["rebase_group"] == 0
    json.dumps(d, allow_nan=False)
    assert spc.POINT_FIELDS == tuple(p)


def test_points_are_frozen_dataclasses():
    a = run(ABOVE)
    p = a.points[-1]
    assert type(p) is SpcPoint
    assert list(SpcPoint._fields) == list(spc.POINT_FIELDS)
    with pytest.raises(AttributeError):
        p.value = 1.0
    with pytest.raises(FrozenInstanceError):
        a.variation_type = "x"
    assert isinstance(a, SpcAnalysis) and isinstance(a.points, tuple)
    rebuilt = SpcPoint(**p._asdict())
    assert rebuilt == p and hash(rebuilt) == hash(p)
    assert p.special_cause_flag is True
    assert a.points[0].special_cause_flag is False


def test_rule_constants():
    assert RULES == ("outside_limits", "trend", "two_in_three", "run")
    assert decisive_rule(run(ABOVE).points[0]) is None
    assert special_cause_rules(run(ABOVE).points[0]) == ()


# --------------------------------------------------------------------------- #
# mean(): bit-for-bit R (long double accumulation + correction pass)
# --------------------------------------------------------------------------- #
def _r_real_mean(xs):
    """R's real_mean() written out with numpy long double scalars."""
    s = np.longdouble(0)
    for x in xs:
        s += np.longdouble(x)
    s /= np.longdouble(len(xs))
    t = np.longdouble(0)
    for x in xs:
        t += np.longdouble(x) - s
    s += t / np.longdouble(len(xs))
    return float(s)


def test_mean_is_rs_not_the_naive_one():
    # found by the property test below: the exact mean of these values is
    # 0.1000000000000000009..., which R (long double) rounds to 0.1, so the
    # point 0.1 lies exactly on the mean; fsum(x) / n gives 0.09999999999999999
    values = [0.0, 0.0, 0.0, 0.0, 0.1, 0.5]
    assert math.fsum(values) / 6 != 0.1
    a = run(values)
    assert a.points[0].mean == 0.1
    assert a.points[4].relative_to_mean == 0


def test_mean_matches_r_long_double_algorithm():
    rng = random.Random(20240101)
    for _ in range(400):
        n = rng.randint(1, 120)
        xs = [rng.gauss(rng.uniform(-1e3, 1e3), rng.choice([1e-3, 1.0, 1e3])) for _ in range(n)]
        if rng.random() < 0.3:
            xs = [round(x, 2) for x in xs]
        assert limits.r_mean(xs) == _r_real_mean(xs)
    assert limits.r_mean([0.1, 0.2, 0.3]) == _r_real_mean([0.1, 0.2, 0.3])


# --------------------------------------------------------------------------- #
# Property test against a transliteration of the R functions
# --------------------------------------------------------------------------- #
def _sign(x):
    return (x > 0) - (x < 0)


def r_seven_point_one_side_mean(v):
    vp = [0] * 6 + v
    return [
        1 if all(vp[i] == vp[i - k] for k in range(1, 7)) and vp[i] != 0 else 0
        for i in range(6, len(vp))
    ]


def r_part_of_seven_trend(v):
    vp = v + [0] * 6
    return [1 if any(abs(vp[i + k]) == 1 for k in range(7)) else 0 for i in range(len(v))]


def r_seven_point_trend(y):
    if len(y) < 7:
        return [0] * len(y)
    out = [0] * 6
    for i in range(6, len(y)):
        w = [y[i - k] for k in range(7)]  # y[i - 0:6]
        d = [-_sign(w[k + 1] - w[k]) for k in range(6)]  # sign(diff(.)) * -1
        out.append(1 if all(x == 1 for x in d) else (-1 if all(x == -1 for x in d) else 0))
    return out


def r_two_in_three(v, rtm):
    vp, rp = [0, 0] + v + [0, 0], [0, 0] + rtm + [0, 0]
    return [
        1
        if any(sum(vp[i + a : i + a + 3]) >= 2 and abs(sum(rp[i + a : i + a + 3])) == 3 for a in (0, 1, 2))
        else 0
        for i in range(len(v))
    ]


def r_special_cause_type(y, rtm, close, outside):
    n = len(y)
    p7t = r_part_of_seven_trend(r_seven_point_trend(y))
    p23 = [1 if t == 1 and abs(c) == 1 else 0 for t, c in zip(r_two_in_three(close, rtm), close)]
    p7m = r_part_of_seven_trend(r_seven_point_one_side_mean(rtm))
    sdy = [_sign(b - a) for a, b in zip(y, y[1:])]
    test = [bool(a) and bool(b) for a, b in zip(p7t[1:] + [0], p7t)]
    yes, no = sdy + sdy[-1:], [0] + sdy
    sdy = [yes[i] if test[i] else no[i] for i in range(n)]
    out = []
    for i in range(n):
        side = "Above" if rtm[i] > 0 else "Below"
        if outside[i]:
            out.append("Above UCL" if rtm[i] == 1 else "Below LCL")
        elif p7t[i]:
            out.append(f"7 Point Trend ({'In' if sdy[i] == 1 else 'De'}creasing)")
        elif p23[i]:
            out.append(f"2 in 3 {side} CL")
        elif p7m[i]:
            out.append(f"7 Points {side} CL")
        else:
            out.append("Common Cause")
    return out


def r_point_type(sct, direction):
    v = 1 if ("Above" in sct or "Increasing" in sct) else (-1 if ("Below" in sct or "Decreasing" in sct) else 0)
    if direction == 0:
        return {1: HIGH, -1: LOW, 0: CC}[v]
    return {1: IMP, -1: CON, 0: CC}[v * direction]


def r_spc(dates, y, improvement, fix, rebase, screen):
    direction = {"increase": 1, "neutral": 0, "decrease": -1}[improvement]
    groups, g = [], 0
    for d in dates:
        g += d in rebase
        groups.append(g)
    rows = []
    for grp in sorted(set(groups)):
        idx = [i for i, gg in enumerate(groups) if gg == grp]
        gy = [y[i] for i in idx]
        fy = gy[: (fix or len(gy))]
        mean = _r_real_mean(fy)
        mr = [abs(b - a) for a, b in zip(fy, fy[1:])]
        amr = _r_real_mean(mr) if mr else math.nan
        if screen:
            mr = [r for r in mr if r < 3.267 * amr]
        amr = _r_real_mean(mr) if mr else math.nan
        lpl, upl = mean - 2.66 * amr, mean + 2.66 * amr
        nlpl, nupl = mean - 2 * (2.66 / 3) * amr, mean + 2 * (2.66 / 3) * amr
        na = math.isnan(amr)
        outside = [None if na else (v > upl or v < lpl) for v in gy]
        close = [None if na else ((not o) and (v < nlpl or v > nupl)) for v, o in zip(gy, outside)]
        rtm = [_sign(v - mean) for v in gy]
        sct = r_special_cause_type(gy, rtm, [bool(c) for c in close], [bool(o) for o in outside])
        for k in range(len(gy)):
            rows.append(
                dict(
                    rebase_group=grp, mean=mean, lpl=None if na else lpl, upl=None if na else upl,
                    relative_to_mean=rtm[k], outside_limits=outside[k], close_to_limits=close[k],
                    special_cause_type=sct[k], point_type=r_point_type(sct[k], direction),
                )
            )
    return rows


def _rule_of(sct):
    if sct in ("Above UCL", "Below LCL"):
        return RULE_OUTSIDE_LIMITS
    if sct.startswith("7 Point Trend"):
        return RULE_TREND
    if sct.startswith("2 in 3"):
        return RULE_TWO_IN_THREE
    if sct.startswith("7 Points"):
        return RULE_RUN
    return None


@st.composite
def series(draw):
    n = draw(st.integers(min_value=1, max_value=45))
    scale = draw(st.sampled_from([1, 10]))
    values = [v / scale for v in draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))]
    d = weeks(n)
    rebase = draw(st.sets(st.sampled_from(d), max_size=3))
    return d, values, rebase


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=series(),
    improvement=st.sampled_from(["increase", "decrease", "neutral"]),
    fix=st.one_of(st.none(), st.integers(12, 20)),
    screen=st.booleans(),
)
def test_matches_transliteration_of_r_functions(data, improvement, fix, screen):
    dates, values, rebase = data
    a = analyse(
        dates, values, improvement=improvement, fix_after_n_points=fix,
        rebase_dates=rebase, screen_outliers=screen,
    )  # fmt: skip
    expected = r_spc(dates, values, improvement, fix, rebase, screen)
    assert len(a.points) == len(expected)
    for p, e in zip(a.points, expected):
        for key in ("rebase_group", "relative_to_mean", "outside_limits", "close_to_limits",
                    "special_cause_type", "point_type"):  # fmt: skip
            assert getattr(p, key) == e[key], (key, p, e)
        for key in ("mean", "lpl", "upl"):
            if e[key] is None:
                assert getattr(p, key) is None
            else:
                assert getattr(p, key) == pytest.approx(e[key], rel=1e-12, abs=1e-12)
        assert bool(p.rules) == (e["special_cause_type"] != "Common Cause")
        assert decisive_rule(p) == _rule_of(e["special_cause_type"])
    assert a.variation_type == expected[-1]["point_type"]


# --------------------------------------------------------------------------- #
# Exhaustive small cases: the rule scanners against the R transliterations
# --------------------------------------------------------------------------- #
def test_two_in_three_scanner_exhaustive():
    import itertools

    for n in range(1, 7):
        for close in itertools.product((0, 1), repeat=n):
            for rtm in itertools.product((-1, 0, 1), repeat=n):
                expected = [
                    t == 1 and c == 1 for t, c in zip(r_two_in_three(list(close), list(rtm)), close)
                ]
                got = rules.mark_two_in_three(list(rtm), [bool(c) for c in close], n)
                assert got == expected, (close, rtm)


def test_run_scanner_exhaustive():
    import itertools

    for n in range(1, 10):
        for rtm in itertools.product((-1, 0, 1), repeat=n):
            expected = [bool(v) for v in r_part_of_seven_trend(r_seven_point_one_side_mean(list(rtm)))]
            assert rules.mark_runs(list(rtm), n) == expected, rtm


def test_trend_scanner_exhaustive():
    import itertools

    # every pattern of step signs (rise / flat / fall) up to 10 points
    d = weeks(10)
    seen_trend = 0
    for n in range(1, 11):
        for steps in itertools.product((-1.0, 0.0, 1.0), repeat=n - 1):
            y = [0.0]
            for s in steps:
                y.append(y[-1] + s)
            expected = [bool(v) for v in r_part_of_seven_trend(r_seven_point_trend(y))]
            assert rules.mark_trends(y, n, False, d, 0)[0] == expected, y
            seen_trend += any(expected)
    assert seen_trend > 100
