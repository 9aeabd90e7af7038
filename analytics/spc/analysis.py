"""``analyse()``: one series through the steps of ``NHSRplotthedots::ptd_spc()`` (v0.2.2).

``ptd_spc()`` -> ``ptd_add_rebase_column()`` (:mod:`~analytics.spc.rebasing`) ->
``ptd_spc_standard()`` (:mod:`~analytics.spc.limits`, then each point's position here) ->
``ptd_calculate_point_type()`` (:mod:`~analytics.spc.rules`) ->
``ptd_add_short_group_warnings()``, plus ``ptd_calculate_assurance_type()``
(:mod:`~analytics.spc.assurance`).

Each point's position, per group: ``outside_limits = y > upl | y < lpl``;
``relative_to_mean = sign(y - mean)`` (a point exactly on the mean is 0);
``close_to_limits = !outside_limits & (y < nlpl | y > nupl)``.  A missing value's
``relative_to_mean``, ``outside_limits`` and ``close_to_limits`` are ``None``.
An empty series gives an analysis with no points and ``None`` variation and assurance types.
"""

from __future__ import annotations

from datetime import date
from itertools import repeat
from typing import Iterable, Optional, Sequence

from analytics.spc.assurance import assurance_type
from analytics.spc.inputs import check_dates, check_options, check_same_length, check_values
from analytics.spc.limits import LIMIT, LIMIT_CLOSE, group_limits
from analytics.spc.rebasing import (
    SHORT_GROUP_THRESHOLD, SHORT_GROUP_WARNING, check_rebase_dates, group_bounds,
)
from analytics.spc.results import SpcAnalysis, SpcPoint
from analytics.spc.rules import classify, mark_runs, mark_trends, mark_two_in_three


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
    direction, target, fix_n = check_options(improvement, target, fix_after_n_points,
                                             screen_outliers)
    ds = check_dates(dates)
    check_same_length(ds, values)
    ys, has_na = check_values(values, ds)
    rebase = check_rebase_dates(rebase_dates)
    n = len(ds)
    if n == 0:
        return SpcAnalysis((), None, None, ())
    starts, first_group = group_bounds(ds, rebase)

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
    return SpcAnalysis(tuple(points), last.point_type,
                       assurance_type(last, target, direction), warnings)


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
    """Append the points of one rebase group (``ys``, from ``dates[offset]``) to ``out``."""
    n = len(ys)
    mean, amr = group_limits(ys, fix_n, screen, has_na)
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

    run = mark_runs(rtm, n)
    trend, steps = mark_trends(ys, n, has_na, dates, offset)
    tin3 = mark_two_in_three(rtm, close, n) if not limits_na else [False] * n
    sct_col, pt_col, rules_col = classify(outside, trend, tin3, run, rtm, steps, direction)

    m_out = None if mean != mean else mean
    l_out = None if limits_na else lpl
    u_out = None if limits_na else upl
    out += map(
        SpcPoint,
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
