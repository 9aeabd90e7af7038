"""Statistical process control (XmR charts): a Python port of NHSRplotthedots.

This module reproduces the calculations of the NHS-R community's R package
**NHSRplotthedots v0.2.2** ("Making Data Count" / "plot the dots" XmR charts):
``ptd_spc()`` -> ``ptd_add_rebase_column()`` -> ``ptd_spc_standard()`` ->
``ptd_calculate_point_type()`` -> ``ptd_add_short_group_warnings()`` plus
``ptd_calculate_assurance_type()`` and the variation icon of ``geom_ptd_icon()``.
The R logic of v0.2.x was read in ``R/ptd_spc_standard.R``,
``R/ptd_calculate_point_type.R``, ``R/ptd_calculate_assurance_type.R``,
``R/ptd_add_rebase_column.R``, ``R/ptd_add_short_group_warnings.R``,
``R/ptd_spc_options.R`` and ``R/ptd_validate_spc_options.R`` (CRAN mirror
``cran/NHSRplotthedots`` at the 0.2.0 snapshot, whose R code is the code released
as 0.2.2; the 0.2.2 NEWS entry lists no change to the calculations).

What the R code does, and so what this module does
---------------------------------------------------
Per rebase group (a rebase date starts a new group; ``rebase_group`` is
``cumsum(date %in% rebase_dates)``, so it starts at 0, or at 1 when the first
date is itself a rebase date; rebase dates absent from the data are ignored):

* ``fix_y`` = the value for the first ``fix_after_n_points`` rows of the group,
  NA after (all rows when not set);
* ``mean`` = mean of the non-NA ``fix_y``;
* moving ranges ``mr = |fix_y[i] - fix_y[i-1]|`` (NA if either side is NA),
  ``amr`` = their mean;
* screening (on by default): a moving range is kept only if
  ``mr < 3.267 * amr`` (strict), then ``amr`` is recomputed once.  Consequence
  kept from R: when every moving range is 0 (a constant series) nothing is
  ``< 0``, every range is screened out and the limits are NA (``None`` here);
  when only the non-zero ranges are screened out, ``amr`` becomes 0 and the
  limits collapse onto the mean, so every point off the mean is outside;
* ``lpl/upl = mean -/+ 2.66 * amr``; near limits ``mean -/+ 2 * (2.66 / 3) * amr``;
* ``outside_limits = y > upl | y < lpl``; ``relative_to_mean = sign(y - mean)``
  (a point exactly on the mean is 0: it is on neither side and breaks a run);
  ``close_to_limits = !outside_limits & (y < nlpl | y > nupl)``.

Special-cause rules (each evaluated inside one rebase group):

* ``outside_limits`` -- the point is outside the process limits;
* ``trend`` -- the point belongs to 7 consecutive points whose 6 steps all have
  ``sign(diff) == 1`` (or all ``-1``).  An equal neighbour has sign 0, so it
  *breaks* the trend (``ptd_seven_point_trend``).  Trends may cross the mean;
* ``two_in_three`` -- the point is itself close to a limit and belongs to a
  window of 3 consecutive points of which at least 2 are close to the limits
  and all 3 are on the same side of the mean (``ptd_two_in_three``,
  fixed for issue #143).  A point *outside* the limits is not "close";
* ``run`` -- the point belongs to 7 (or more) consecutive points with the same
  non-zero ``relative_to_mean``.

The precedence of ``ptd_special_cause_type()`` (``dplyr::case_when``) decides
``special_cause_type``: outside limits > trend > two-in-three > run.  Its
values are R's strings: ``"Above UCL"``, ``"Below LCL"``,
``"7 Point Trend (Increasing)"``, ``"7 Point Trend (Decreasing)"``,
``"2 in 3 Above CL"``, ``"2 in 3 Below CL"``, ``"7 Points Above CL"``,
``"7 Points Below CL"`` and ``"Common Cause"``.  ``ptd_point_type()`` then maps
"Above"/"Increasing" to +1 and "Below"/"Decreasing" to -1 and orients that by
the improvement direction (increase = 1, decrease = -1) into
``special_cause_improvement`` / ``special_cause_concern``, or, for ``neutral``,
into ``special_cause_neutral_high`` / ``special_cause_neutral_low``.

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

Chart level: ``variation_type`` is the ``point_type`` of the last point
(``geom_ptd_icon()``: the row with the latest date).  ``assurance_type`` uses
the last point's limits (``slice_tail(n = 1)``, i.e. the last rebase group):
``target > upl`` -> ``consistent_fail`` when improvement is ``increase``
(``consistent_pass`` when ``decrease``), ``target < lpl`` -> the opposite,
anything else (including NA limits) -> ``inconsistent``; ``None`` without a
target or when the direction is ``neutral``.  A group with fewer than 13 points
raises R's "Some groups have 'n < 12' observations..." warning (R's default
threshold is ``getOption("ptd_spc.warning_threshold", 13)`` although the text
says 12); it is reported in :attr:`SpcAnalysis.warnings`.

Choices made where R gives no exact Python counterpart
------------------------------------------------------
* Dates must be ``datetime.date`` objects, strictly increasing.  R sorts the
  rows itself (``arrange``) and rejects duplicate dates; this port raises
  :class:`SpcInputError` (a ``ValueError``) for unsorted *or* duplicate dates
  instead of sorting silently.  ``datetime.datetime`` values are rejected.
* Missing values: ``None`` or ``float('nan')`` are R's ``NA``.  They are
  dropped from the mean and make their two moving ranges NA, exactly as
  ``mean(..., na.rm = TRUE)`` / ``diff()`` do; their ``relative_to_mean``,
  ``outside_limits`` and ``close_to_limits`` are ``None`` and no rule can be
  TRUE through them (R's three-valued logic; ``case_when`` treats NA as not
  matched).  One case has no Python analogue: when a 7-point window contains an
  NA step and all its other steps have the same non-zero sign, R's
  ``if (all(d == 1))`` stops with "missing value where TRUE/FALSE needed"; this
  port raises :class:`SpcInputError` naming the date, as R fails there too.
* Infinite values are rejected with :class:`SpcInputError` (R would propagate
  ``Inf``/``NaN`` through the limits; that is not meaningful input here).
* ``mean()``: R's ``real_mean`` sums in C ``long double`` and adds a
  correction pass; :func:`_mean` does exactly that with numpy's ``longdouble``
  (the same x87 80-bit type on x86-64 Linux), so means, and hence ties such as
  a point exactly on the mean, agree with R bit for bit.  (A plain
  ``sum / n`` or even ``fsum / n`` differs in the last bit for a sizeable share
  of series, e.g. ``[0, 0, 0, 0, 0.1, 0.5]``: R's mean is exactly ``0.1``.)
  numpy is used only for this; the rest is plain Python, which measured
  faster than numpy for series of ~100 points.
* NA/NaN limits and means are returned as ``None`` (JSON ``null``).
* ``fix_after_n_points`` must be a number ``>= 12`` (as R validates; a
  non-integer ``n`` fixes on the first ``floor(n)`` points, as
  ``row_number() <= n`` does).
* An empty series gives an analysis with no points and ``None`` variation and
  assurance types.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from datetime import date, datetime
from itertools import repeat
from math import fsum
from operator import lt
from typing import Iterable, NamedTuple, Optional, Sequence

import numpy as np

__all__ = [
    "analyse",
    "SpcAnalysis",
    "SpcPoint",
    "SpcInputError",
    "special_cause_rules",
    "decisive_rule",
    "RULE_OUTSIDE_LIMITS",
    "RULE_TREND",
    "RULE_TWO_IN_THREE",
    "RULE_RUN",
    "RULES",
    "IMPROVEMENT_DIRECTIONS",
    "POINT_TYPES",
    "ASSURANCE_TYPES",
    "SPECIAL_CAUSE_TYPES",
    "LIMIT",
    "LIMIT_CLOSE",
    "OUTLIER_SCREEN",
    "SHORT_GROUP_THRESHOLD",
    "SHORT_GROUP_WARNING",
    "POINT_FIELDS",
]

# --------------------------------------------------------------------------- #
# Constants (R/ptd_spc_standard.R, R/ptd_calculate_point_type.R)
# --------------------------------------------------------------------------- #
LIMIT = 2.66
LIMIT_CLOSE = 2 * (LIMIT / 3)  # same operation order as R: 2 * (limit / 3)
OUTLIER_SCREEN = 3.267
RUN_LENGTH = 7  # points on one side of the mean
TREND_LENGTH = 7  # points, i.e. 6 steps of the same sign
SHORT_GROUP_THRESHOLD = 13  # getOption("ptd_spc.warning_threshold", 13)
SHORT_GROUP_WARNING = (
    "Some groups have 'n < 12' observations. These have trial limits, which will be "
    "revised with each additional observation until 'n = fix_after_n_points' has been "
    "reached."
)

# rule names, in R's precedence order (case_when in ptd_special_cause_type)
RULE_OUTSIDE_LIMITS = "outside_limits"
RULE_TREND = "trend"
RULE_TWO_IN_THREE = "two_in_three"
RULE_RUN = "run"
RULES = (RULE_OUTSIDE_LIMITS, RULE_TREND, RULE_TWO_IN_THREE, RULE_RUN)

INCREASE, DECREASE, NEUTRAL = "increase", "decrease", "neutral"
IMPROVEMENT_DIRECTIONS = (INCREASE, DECREASE, NEUTRAL)
_DIRECTION_SIGN = {INCREASE: 1, NEUTRAL: 0, DECREASE: -1}

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

# ptd_point_type(): "Above|Increasing" -> +1, "Below|Decreasing" -> -1
_SCT_SIGN = {
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
_POINT_TYPE = {
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

_NO_RULES: tuple = ()
_NAN = float("nan")
_LD = np.longdouble
_accumulate = np.add.accumulate
_fromiter = np.fromiter
_isfinite = math.isfinite


class SpcInputError(ValueError):
    """Invalid input for :func:`analyse` (or input on which R itself stops)."""


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #
class SpcPoint(NamedTuple):
    """One point of an XmR chart, with the columns of R's ``ptd_spc_df``.

    A NamedTuple: immutable and built at tuple speed (a frozen dataclass costs more per point
    than all the SPC arithmetic).

    ``value``, ``mean``, ``lpl``, ``upl`` are ``None`` where R has NA/NaN;
    ``relative_to_mean`` is -1/0/1 (``None`` for NA); ``outside_limits`` and
    ``close_to_limits`` are booleans (``None`` for NA); ``rules`` lists the
    special-cause rules that hold for the point, decisive rule first.
    """

    date: date
    value: Optional[float]
    mean: Optional[float]
    lpl: Optional[float]
    upl: Optional[float]
    rebase_group: int
    relative_to_mean: Optional[int]
    outside_limits: Optional[bool]
    close_to_limits: Optional[bool]
    special_cause_type: str
    point_type: str
    rules: tuple = ()

    @property
    def special_cause_flag(self) -> bool:
        """R's ``special_cause_flag``: ``special_cause_type != "Common Cause"``."""
        return self.special_cause_type != SCT_COMMON_CAUSE

    def to_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "value": self.value,
            "mean": self.mean,
            "lpl": self.lpl,
            "upl": self.upl,
            "rebase_group": self.rebase_group,
            "relative_to_mean": self.relative_to_mean,
            "outside_limits": self.outside_limits,
            "close_to_limits": self.close_to_limits,
            "special_cause_type": self.special_cause_type,
            "point_type": self.point_type,
            "rules": list(self.rules),
        }


POINT_FIELDS = (
    "date",
    "value",
    "mean",
    "lpl",
    "upl",
    "rebase_group",
    "relative_to_mean",
    "outside_limits",
    "close_to_limits",
    "special_cause_type",
    "point_type",
    "rules",
)


def _build_points(*columns) -> list:
    return list(map(SpcPoint, *columns))


@dataclass(frozen=True, slots=True)
class SpcAnalysis:
    """Result of :func:`analyse`.

    ``warnings`` holds R's warning text(s) (the short-group warning), and is
    not part of :meth:`to_dict`.
    """

    points: tuple
    variation_type: Optional[str]
    assurance_type: Optional[str]
    warnings: tuple = ()

    @property
    def short_groups(self) -> tuple:
        """Rebase groups with fewer than ``SHORT_GROUP_THRESHOLD`` points."""
        counts: dict = {}
        for p in self.points:
            counts[p.rebase_group] = counts.get(p.rebase_group, 0) + 1
        return tuple(g for g, n in counts.items() if n < SHORT_GROUP_THRESHOLD)

    def to_dict(self) -> dict:
        return {
            "points": [p.to_dict() for p in self.points],
            "variation_type": self.variation_type,
            "assurance_type": self.assurance_type,
        }


def special_cause_rules(point: SpcPoint) -> tuple:
    """Names of the rules that make ``point`` special cause (decisive first).

    Empty for a common-cause point.  Values are among :data:`RULES`.
    """
    return point.rules


def decisive_rule(point: SpcPoint) -> Optional[str]:
    """The rule R reports in ``special_cause_type`` (``None`` if common cause)."""
    return point.rules[0] if point.rules else None


# --------------------------------------------------------------------------- #
# Numerics
# --------------------------------------------------------------------------- #
def _mean(xs: list) -> float:
    """R's ``mean()`` of a non-empty list of finite floats, bit for bit.

    R (``real_mean`` in src/main/summary.c) sums the values one after the
    other in ``long double``, divides by n, then adds the mean of the
    residuals ``x[i] - s`` (also accumulated in ``long double``) and rounds
    to double.  ``np.add.accumulate`` is a strictly sequential sum and numpy's
    ``longdouble`` is the platform's C ``long double`` (x87 80-bit on x86-64
    Linux), the type R uses, so this reproduces R's result exactly; a
    correctly rounded mean (``fsum``) differs from R in the last bit in
    about 0.5% of random series.
    """
    n = len(xs)
    a = _fromiter(xs, float, n).astype(_LD)
    s = _accumulate(a)[-1] / n
    if _isfinite(s):
        s = s + _accumulate(a - s)[-1] / n
    return float(s)


def _sign(d: float) -> int:
    return (d > 0) - (d < 0)


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #
def _check_dates(dates: Sequence) -> list:
    ds = list(dates)
    # fast path (C loops): only plain dates, strictly increasing
    if (not ds or set(map(type, ds)) == {date}) and all(map(lt, ds, ds[1:])):
        return ds
    prev = None
    for i, d in enumerate(ds):
        if isinstance(d, datetime) or not isinstance(d, date):
            raise SpcInputError(
                f"dates[{i}] must be a datetime.date, got {type(d).__name__} {d!r}"
            )
        if prev is not None and not d > prev:
            if d == prev:
                raise SpcInputError(
                    f"duplicate date {d.isoformat()} at positions {i - 1} and {i}"
                )
            raise SpcInputError(
                f"dates must be sorted ascending: {d.isoformat()} at position {i} "
                f"comes after {prev.isoformat()}"
            )
        prev = d
    return ds


def _check_values(values: Sequence, dates: list) -> tuple:
    """Return (list of float-or-None, has_na)."""
    ys = list(values)
    # fast path: all floats and all finite (fsum of finite floats is finite or
    # raises OverflowError; a NaN or an infinity makes it non-finite/raise)
    if set(map(type, ys)) <= {float}:
        try:
            if math.isfinite(fsum(ys)):
                return ys, False
        except (OverflowError, ValueError):
            pass
    out = []
    append = out.append
    has_na = False
    for i, v in enumerate(ys):
        if v is None:
            append(None)
            has_na = True
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise SpcInputError(f"values[{i}] must be a number or None, got {v!r}")
        x = float(v)
        if x != x:
            append(None)
            has_na = True
        elif math.isinf(x):
            raise SpcInputError(
                f"values[{i}] ({dates[i].isoformat()}) is infinite; only finite numbers "
                "or missing values are accepted"
            )
        else:
            append(x)
    return out, has_na


# --------------------------------------------------------------------------- #
# One rebase group: limits and rules
# --------------------------------------------------------------------------- #
def _group_limits(ys: list, fix_n: int, screen: bool, has_na: bool) -> tuple:
    """(mean, amr) for one group; NaN where R has NaN."""
    base = ys if fix_n >= len(ys) else ys[:fix_n]
    if not has_na:
        mean = _mean(base)
        mrs = [abs(b - a) for a, b in zip(base, base[1:])]
    else:
        vals = [v for v in base if v is not None]
        mean = _mean(vals) if vals else _NAN
        mrs = [
            abs(b - a)
            for a, b in zip(base, base[1:])
            if a is not None and b is not None
        ]
    amr = _mean(mrs) if mrs else _NAN
    if screen:
        cut = OUTLIER_SCREEN * amr
        kept = [r for r in mrs if r < cut]  # NA/NaN comparisons drop the range
        if len(kept) != len(mrs):
            amr = _mean(kept) if kept else _NAN
    return mean, amr


def _mark_runs(rtm: list, n: int) -> list:
    """part of 7 points with the same non-zero, non-NA relative_to_mean."""
    flags = [False] * n
    start = 0
    for i in range(1, n + 1):
        if i == n or rtm[i] != rtm[start]:
            if i - start >= RUN_LENGTH and rtm[start]:  # 0 and None excluded
                flags[start:i] = [True] * (i - start)
            start = i
    return flags


def _mark_trends(ys: list, n: int, has_na: bool, dates: list, offset: int) -> tuple:
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


def _mark_two_in_three(rtm: list, close: list, n: int) -> list:
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
    """Raise where R's ``if (all(d == 1))`` meets NA (see module docstring)."""
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


def _analyse_group(
    out: list,
    dates: list,
    ys: list,
    offset: int,
    group: int,
    fix_n: int,
    screen: bool,
    direction: int,
    has_na: bool,
) -> None:
    n = len(ys)
    mean, amr = _group_limits(ys, fix_n, screen, has_na)
    lpl = mean - LIMIT * amr
    upl = mean + LIMIT * amr
    nlpl = mean - LIMIT_CLOSE * amr
    nupl = mean + LIMIT_CLOSE * amr
    limits_na = amr != amr or mean != mean

    # per-point columns of ptd_spc_standard()
    if not has_na and not limits_na:
        outside = [y > upl or y < lpl for y in ys]
        close = [
            (not o) and (y < nlpl or y > nupl) for y, o in zip(ys, outside)
        ]
        rtm = [(y > mean) - (y < mean) for y in ys]
    else:
        outside = []
        close = []
        rtm = []
        for y in ys:
            if y is None:
                outside.append(None)
                close.append(None)
                rtm.append(None)
            elif limits_na:
                outside.append(None)
                close.append(None)
                rtm.append(None if mean != mean else (y > mean) - (y < mean))
            else:
                o = y > upl or y < lpl
                outside.append(o)
                close.append((not o) and (y < nlpl or y > nupl))
                rtm.append((y > mean) - (y < mean))

    # rules
    run = _mark_runs(rtm, n)
    trend, steps = _mark_trends(ys, n, has_na, dates, offset)
    tin3 = _mark_two_in_three(rtm, close, n) if not limits_na else [False] * n

    m_out = None if mean != mean else mean
    l_out = None if limits_na else lpl
    u_out = None if limits_na else upl
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
            # ptd_special_cause_type(): use the right-hand step when the next
            # point is also part of a trend, else the left-hand step;
            # ifelse(sdy == 1, "In", "De") makes a flat step "Decreasing"
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
        pt_col[i] = _POINT_TYPE[direction, _SCT_SIGN[sct]]
        rules_col[i] = tuple(rules)

    out += _build_points(
        dates[offset : offset + n],
        ys,
        repeat(m_out, n),
        repeat(l_out, n),
        repeat(u_out, n),
        repeat(group, n),
        rtm,
        outside,
        close,
        sct_col,
        pt_col,
        rules_col,
    )


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #
def analyse(
    dates: Sequence[date],
    values: Sequence[Optional[float]],
    improvement: str = "increase",
    target: Optional[float] = None,
    fix_after_n_points: Optional[float] = None,
    rebase_dates: Iterable[date] = (),
    screen_outliers: bool = True,
) -> SpcAnalysis:
    """Analyse one series the way ``NHSRplotthedots::ptd_spc()`` (v0.2.2) does.

    :param dates: ``datetime.date`` values, strictly increasing.
    :param values: numbers; ``None``/NaN are missing values (R's ``NA``).
    :param improvement: ``"increase"``, ``"decrease"`` or ``"neutral"``.
    :param target: optional target, used for the assurance type.
    :param fix_after_n_points: fix mean and limits of each rebase group on its
        first ``n`` points (``n >= 12``, as R requires).
    :param rebase_dates: each date present in ``dates`` starts a new group.
    :param screen_outliers: screen moving ranges ``>= 3.267 * mean`` once.
    :raises SpcInputError: (a ``ValueError``) on invalid input.
    """
    if improvement not in _DIRECTION_SIGN:
        raise SpcInputError(
            f"improvement must be one of {', '.join(IMPROVEMENT_DIRECTIONS)}, "
            f"got {improvement!r}"
        )
    direction = _DIRECTION_SIGN[improvement]
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, numbers.Real):
            raise SpcInputError(f"target must be a number or None, got {target!r}")
        target = float(target)
    if fix_after_n_points is None:
        fix_n = None
    else:
        if isinstance(fix_after_n_points, bool) or not isinstance(
            fix_after_n_points, numbers.Real
        ) or not fix_after_n_points >= 12:
            raise SpcInputError(
                "fix_after_n_points must be a single number greater than or equal to "
                f"12, got {fix_after_n_points!r}"
            )
        fix_n = (
            None
            if fix_after_n_points == math.inf
            else int(math.floor(fix_after_n_points))
        )
    if not isinstance(screen_outliers, bool):
        raise SpcInputError(
            f"screen_outliers must be True or False, got {screen_outliers!r}"
        )

    ds = _check_dates(dates)
    if len(values) != len(ds):
        raise SpcInputError(
            f"dates and values must have the same length ({len(ds)} != {len(values)})"
        )
    ys, has_na = _check_values(values, ds)
    n = len(ds)

    # ptd_add_rebase_column() + cumsum(rebase)
    if isinstance(rebase_dates, date):  # one date is a date vector of length 1 in R
        rebase_dates = (rebase_dates,)
    elif isinstance(rebase_dates, (str, bytes)):
        raise SpcInputError("rebase_dates must be datetime.date values, not a string")
    rebase = set()
    for i, d in enumerate(rebase_dates):
        if not isinstance(d, date) or isinstance(d, datetime):
            raise SpcInputError(
                f"rebase_dates[{i}] must be a datetime.date, got {d!r}"
            )
        rebase.add(d)
    if n == 0:
        return SpcAnalysis((), None, None, ())
    starts = [0]
    first_group = 0
    if rebase:
        if ds[0] in rebase:
            first_group = 1
        for i in range(1, n):
            if ds[i] in rebase:
                starts.append(i)
    starts.append(n)

    points: list = []
    warnings = ()
    for g in range(len(starts) - 1):
        a, b = starts[g], starts[g + 1]
        gys = ys if (a == 0 and b == n) else ys[a:b]
        g_na = has_na and None in gys
        size = b - a
        _analyse_group(
            points,
            ds,
            gys,
            a,
            first_group + g,
            size if fix_n is None else fix_n,
            screen_outliers,
            direction,
            g_na,
        )
        if size < SHORT_GROUP_THRESHOLD:
            warnings = (SHORT_GROUP_WARNING,)

    last = points[-1]
    assurance = None
    if target is not None and direction != 0:
        # ptd_calculate_assurance_type(): last row, strict comparisons, NA -> TRUE branch
        if last.upl is not None and target > last.upl:
            assurance = CONSISTENT_FAIL if direction == 1 else CONSISTENT_PASS
        elif last.lpl is not None and target < last.lpl:
            assurance = CONSISTENT_PASS if direction == 1 else CONSISTENT_FAIL
        else:
            assurance = INCONSISTENT
    return SpcAnalysis(tuple(points), last.point_type, assurance, warnings)
