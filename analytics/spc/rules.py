"""The special-cause rules, each evaluated inside one rebase group
(R/ptd_calculate_point_type.R).

* ``outside_limits`` -- the point is outside the process limits;
* ``trend`` -- the point belongs to 7 consecutive points whose 6 steps all have
  ``sign(diff) == 1`` (or all ``-1``).  An equal neighbour has sign 0, so it
  *breaks* the trend (``ptd_seven_point_trend``).  Trends may cross the mean;
* ``two_in_three`` -- the point is itself close to a limit and belongs to a
  window of 3 consecutive points of which at least 2 are close to the limits
  and all 3 are on the same side of the mean (``ptd_two_in_three``,
  fixed for issue #143).  A point *outside* the limits is not "close";
* ``run`` -- the point belongs to 7 (or more) consecutive points with the same
  non-zero ``relative_to_mean`` (a point exactly on the mean is on neither side and breaks
  a run).

The precedence of ``ptd_special_cause_type()`` (``dplyr::case_when``) decides
``special_cause_type``: outside limits > trend > two-in-three > run, and ``ptd_point_type()``
orients it by the improvement direction (:mod:`analytics.spc.vocabulary`).

The direction of a trend point is the sign of the step to its right when the
next point is also part of a trend, otherwise the step to its left, and
``ifelse(sdy == 1, "In", "De")`` makes a 0 step "Decreasing".  So where two
separate trends touch (the last point of one trend is followed by the first
point of another) the shared boundary step decides the direction of the last
point of the first trend, even if that step is flat or goes the other way.
This is R's behaviour and is kept.

``rules`` (an extra field, not in R) lists every rule that holds for a point,
in the precedence order above; ``rules[0]`` is the rule R reports in
``special_cause_type``.  A point is special cause iff ``rules`` is not empty.

Missing values: no rule can be TRUE through a missing value (R's three-valued logic;
``case_when`` treats NA as not matched).  One case has no Python analogue: when a 7-point
window contains an NA step and all its other steps have the same non-zero sign, R's
``if (all(d == 1))`` stops with "missing value where TRUE/FALSE needed"; this port raises
:class:`~analytics.spc.inputs.SpcInputError` naming the date, as R fails there too.
"""

from __future__ import annotations

from analytics.spc.inputs import SpcInputError
from analytics.spc.vocabulary import (
    COMMON_CAUSE, POINT_TYPE, RULE_OUTSIDE_LIMITS, RULE_RUN, RULE_TREND, RULE_TWO_IN_THREE,
    SCT_ABOVE_UCL, SCT_BELOW_LCL, SCT_COMMON_CAUSE, SCT_RUN_ABOVE, SCT_RUN_BELOW,
    SCT_TREND_DOWN, SCT_TREND_UP, SCT_TWO_IN_THREE_ABOVE, SCT_TWO_IN_THREE_BELOW,
    SPECIAL_CAUSE_SIGN,
)

RUN_LENGTH = 7  # points on one side of the mean
TREND_LENGTH = 7  # points, i.e. 6 steps of the same sign

_NO_RULES: tuple = ()


def _sign(d: float) -> int:
    return (d > 0) - (d < 0)


def mark_runs(rtm: list, n: int) -> list:
    """part of 7 points with the same non-zero, non-NA relative_to_mean."""
    flags = [False] * n
    start = 0
    for i in range(1, n + 1):
        if i == n or rtm[i] != rtm[start]:
            if i - start >= RUN_LENGTH and rtm[start]:  # 0 and None excluded
                flags[start:i] = [True] * (i - start)
            start = i
    return flags


def mark_trends(ys: list, n: int, has_na: bool, dates: list, offset: int) -> tuple:
    """(flags, step signs) for the 7-point trend rule.

    ``steps[i]`` is ``sign(y[i] - y[i-1])`` for i >= 1 (None if either is NA).
    A point is part of a trend if it lies in a maximal stretch of >= 6 steps
    of the same non-zero sign.
    """
    flags = [False] * n
    if n < TREND_LENGTH:  # ptd_seven_point_trend: length(y) < 7 -> all 0
        return flags, None
    if has_na:
        steps = [None]
        for a, b in zip(ys, ys[1:]):
            steps.append(None if a is None or b is None else _sign(b - a))
        _check_trend_na(steps, n, dates, offset)
    else:
        steps = [0]
        steps += [(b > a) - (b < a) for a, b in zip(ys, ys[1:])]
    need = TREND_LENGTH - 1
    start = 1  # first step index of the current stretch
    for i in range(2, n + 1):
        if i == n or steps[i] != steps[start]:
            if i - start >= need and steps[start]:
                # steps start..i-1 join points start-1..i-1
                flags[start - 1 : i] = [True] * (i - start + 1)
            start = i
    return flags, steps


def mark_two_in_three(rtm: list, close: list, n: int) -> list:
    """``ptd_part_of_two_in_three(ptd_two_in_three(close, rtm), close)``.

    A point is flagged when it is itself close to a limit and one of the three
    windows of 3 consecutive points containing it (inside the group) has all 3
    points on the same side of the mean and at least 2 of them close to a limit.
    A window holds 2 close points iff it holds two *consecutive* close points
    (in index order) at most 2 apart, so only the windows around such pairs
    are looked at.
    """
    flags = [False] * n
    idx = [i for i, c in enumerate(close) if c is True]
    last_start = n - 3
    for a, b in zip(idx, idx[1:]):
        gap = b - a
        if gap > 2:
            continue
        for k in (a - 1, a) if gap == 1 else (a,):
            if 0 <= k <= last_start:
                r = rtm[k]
                if r and r == rtm[k + 1] == rtm[k + 2]:  # same side; 0/None fail
                    # rtm is non-NA here, so close[...] are booleans
                    flags[k] = flags[k] or close[k]
                    flags[k + 1] = flags[k + 1] or close[k + 1]
                    flags[k + 2] = flags[k + 2] or close[k + 2]
    return flags


def _check_trend_na(steps: list, n: int, dates: list, offset: int) -> None:
    """Raise where R's ``if (all(d == 1))`` meets NA (see the module docstring)."""
    for j in range(TREND_LENGTH - 1, n):
        window = steps[j - 5 : j + 1]
        if None in window:
            known = {s for s in window if s is not None}
            if not known or known == {1} or known == {-1}:
                raise SpcInputError(
                    "missing value in the 7-point trend window ending "
                    f"{dates[offset + j].isoformat()}: NHSRplotthedots stops here "
                    "('missing value where TRUE/FALSE needed'); remove or fill the "
                    "missing value"
                )


def classify(outside, trend, tin3, run, rtm, steps, direction: int) -> tuple:
    """``(special_cause_type, point_type, rules)`` columns of one group from its rule flags,
    by ``ptd_special_cause_type()``'s precedence and ``ptd_point_type()``."""
    n = len(outside)
    sct_col = [SCT_COMMON_CAUSE] * n
    pt_col = [COMMON_CAUSE] * n
    rules_col = [_NO_RULES] * n
    last = n - 1
    for i, (o, t, w, u) in enumerate(zip(outside, trend, tin3, run)):
        if not (o or t or w or u):
            continue
        rules = []
        if o:
            rules.append(RULE_OUTSIDE_LIMITS)
        if t:
            rules.append(RULE_TREND)
        if w:
            rules.append(RULE_TWO_IN_THREE)
        if u:
            rules.append(RULE_RUN)
        r = rtm[i]
        if o:
            sct = SCT_ABOVE_UCL if r == 1 else SCT_BELOW_LCL
        elif t:
            # use the right-hand step when the next point is also part of a trend, else the
            # left-hand step; ifelse(sdy == 1, "In", "De") makes a flat step "Decreasing"
            if i < last and trend[i + 1]:
                sdy = steps[i + 1]
            else:
                sdy = steps[i] if i > 0 else 0
            sct = SCT_TREND_UP if sdy == 1 else SCT_TREND_DOWN
        elif w:
            sct = SCT_TWO_IN_THREE_ABOVE if r > 0 else SCT_TWO_IN_THREE_BELOW
        else:
            sct = SCT_RUN_ABOVE if r > 0 else SCT_RUN_BELOW
        sct_col[i] = sct
        pt_col[i] = POINT_TYPE[direction, SPECIAL_CAUSE_SIGN[sct]]
        rules_col[i] = tuple(rules)
    return sct_col, pt_col, rules_col
