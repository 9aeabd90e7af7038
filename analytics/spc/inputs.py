"""The checks on what :func:`analytics.spc.analyse` is given, and the one error it raises.

Where R gives no exact Python counterpart:

* Dates must be ``datetime.date`` objects, strictly increasing.  R sorts the
  rows itself (``arrange``) and rejects duplicate dates; this port raises
  :class:`SpcInputError` (a ``ValueError``) for unsorted *or* duplicate dates
  instead of sorting silently.  ``datetime.datetime`` values are rejected.
* Missing values: ``None`` or ``float('nan')`` are R's ``NA`` (what they do to the
  limits and rules is in :mod:`analytics.spc.limits` and :mod:`analytics.spc.rules`).
* Infinite values are rejected with :class:`SpcInputError` (R would propagate
  ``Inf``/``NaN`` through the limits; that is not meaningful input here).
* ``fix_after_n_points`` must be a number ``>= 12`` (as R validates; a
  non-integer ``n`` fixes on the first ``floor(n)`` points, as
  ``row_number() <= n`` does).
"""

from __future__ import annotations

import math
import numbers
from datetime import date, datetime
from math import fsum
from operator import lt
from typing import Sequence

from analytics.spc.vocabulary import DIRECTION_SIGN, IMPROVEMENT_DIRECTIONS


class SpcInputError(ValueError):
    """Invalid input for :func:`analytics.spc.analyse` (or input on which R itself stops)."""


def check_options(improvement, target, fix_after_n_points, screen_outliers) -> tuple:
    """``(direction sign, target as float or None, points to fix on or None)``; raises
    :class:`SpcInputError` naming the option that is wrong."""
    if improvement not in DIRECTION_SIGN:
        raise SpcInputError(
            f"improvement must be one of {', '.join(IMPROVEMENT_DIRECTIONS)}, "
            f"got {improvement!r}"
        )
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
    return DIRECTION_SIGN[improvement], target, fix_n


def check_dates(dates: Sequence) -> list:
    """The dates as a list: plain ``date`` values, strictly increasing."""
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


def check_values(values: Sequence, dates: list) -> tuple:
    """``(list of float-or-None, has_na)``: NaN becomes ``None``; raises on non-numbers
    and infinities."""
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


def check_same_length(dates: list, values: Sequence) -> None:
    if len(values) != len(dates):
        raise SpcInputError(
            f"dates and values must have the same length ({len(dates)} != {len(values)})"
        )
