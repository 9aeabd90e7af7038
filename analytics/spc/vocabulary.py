"""The words of an SPC analysis, as NHSRplotthedots spells them.

Improvement directions, point types, assurance types, R's special-cause type strings and the
names of the special-cause rules, with the two tables of ``ptd_point_type()`` that turn a
special-cause type and an improvement direction into a point type
(R/ptd_calculate_point_type.R).
"""

INCREASE, DECREASE, NEUTRAL = "increase", "decrease", "neutral"
IMPROVEMENT_DIRECTIONS = (INCREASE, DECREASE, NEUTRAL)
DIRECTION_SIGN = {INCREASE: 1, NEUTRAL: 0, DECREASE: -1}

COMMON_CAUSE = "common_cause"
SPECIAL_CAUSE_IMPROVEMENT = "special_cause_improvement"
SPECIAL_CAUSE_CONCERN = "special_cause_concern"
SPECIAL_CAUSE_NEUTRAL_HIGH = "special_cause_neutral_high"
SPECIAL_CAUSE_NEUTRAL_LOW = "special_cause_neutral_low"
POINT_TYPES = (
    COMMON_CAUSE,
    SPECIAL_CAUSE_IMPROVEMENT,
    SPECIAL_CAUSE_CONCERN,
    SPECIAL_CAUSE_NEUTRAL_HIGH,
    SPECIAL_CAUSE_NEUTRAL_LOW,
)

CONSISTENT_PASS = "consistent_pass"
CONSISTENT_FAIL = "consistent_fail"
INCONSISTENT = "inconsistent"
ASSURANCE_TYPES = (CONSISTENT_PASS, CONSISTENT_FAIL, INCONSISTENT)

SCT_ABOVE_UCL = "Above UCL"
SCT_BELOW_LCL = "Below LCL"
SCT_TREND_UP = "7 Point Trend (Increasing)"
SCT_TREND_DOWN = "7 Point Trend (Decreasing)"
SCT_TWO_IN_THREE_ABOVE = "2 in 3 Above CL"
SCT_TWO_IN_THREE_BELOW = "2 in 3 Below CL"
SCT_RUN_ABOVE = "7 Points Above CL"
SCT_RUN_BELOW = "7 Points Below CL"
SCT_COMMON_CAUSE = "Common Cause"
SPECIAL_CAUSE_TYPES = (
    SCT_ABOVE_UCL,
    SCT_BELOW_LCL,
    SCT_TREND_UP,
    SCT_TREND_DOWN,
    SCT_TWO_IN_THREE_ABOVE,
    SCT_TWO_IN_THREE_BELOW,
    SCT_RUN_ABOVE,
    SCT_RUN_BELOW,
    SCT_COMMON_CAUSE,
)

# rule names, in R's precedence order (case_when in ptd_special_cause_type)
RULE_OUTSIDE_LIMITS = "outside_limits"
RULE_TREND = "trend"
RULE_TWO_IN_THREE = "two_in_three"
RULE_RUN = "run"
RULES = (RULE_OUTSIDE_LIMITS, RULE_TREND, RULE_TWO_IN_THREE, RULE_RUN)

# ptd_point_type(): "Above|Increasing" -> +1, "Below|Decreasing" -> -1
SPECIAL_CAUSE_SIGN = {
    SCT_ABOVE_UCL: 1,
    SCT_TREND_UP: 1,
    SCT_TWO_IN_THREE_ABOVE: 1,
    SCT_RUN_ABOVE: 1,
    SCT_BELOW_LCL: -1,
    SCT_TREND_DOWN: -1,
    SCT_TWO_IN_THREE_BELOW: -1,
    SCT_RUN_BELOW: -1,
    SCT_COMMON_CAUSE: 0,
}
# point type per (direction sign, special cause sign)
POINT_TYPE = {
    (1, 1): SPECIAL_CAUSE_IMPROVEMENT,
    (1, -1): SPECIAL_CAUSE_CONCERN,
    (-1, 1): SPECIAL_CAUSE_CONCERN,
    (-1, -1): SPECIAL_CAUSE_IMPROVEMENT,
    (0, 1): SPECIAL_CAUSE_NEUTRAL_HIGH,
    (0, -1): SPECIAL_CAUSE_NEUTRAL_LOW,
    (1, 0): COMMON_CAUSE,
    (-1, 0): COMMON_CAUSE,
    (0, 0): COMMON_CAUSE,
}
