"""The mean and process limits of one rebase group (R/ptd_spc_standard.R).

* ``fix_y`` = the value for the first ``fix_after_n_points`` rows of the group,
  NA after (all rows when not set);
* ``mean`` = mean of the non-NA ``fix_y``;
* moving ranges ``mr = |fix_y[i] - fix_y[i-1]|`` (NA if either side is NA),
  ``amr`` = their mean;
* screening (on by default): a moving range is kept only if
  ``mr < 3.267 * amr`` (strict), then ``amr`` is recomputed once.  Consequence
  kept from R: when every moving range is 0 (a constant series) nothing is
  ``< 0``, every range is screened out and the limits are NA (``None``);
  when only the non-zero ranges are screened out, ``amr`` becomes 0 and the
  limits collapse onto the mean, so every point off the mean is outside;
* ``lpl/upl = mean -/+ 2.66 * amr``; near limits ``mean -/+ 2 * (2.66 / 3) * amr``.

Missing values (``None``) are dropped from the mean and make their two moving ranges NA,
exactly as ``mean(..., na.rm = TRUE)`` / ``diff()`` do.

``mean()``: R's ``real_mean`` sums in C ``long double`` and adds a correction pass;
:func:`r_mean` does exactly that with numpy's ``longdouble`` (the same x87 80-bit type on
x86-64 Linux), so means, and hence ties such as a point exactly on the mean, agree with R bit
for bit.  (A plain ``sum / n`` or even ``fsum / n`` differs in the last bit for a sizeable
share of series, e.g. ``[0, 0, 0, 0, 0.1, 0.5]``: R's mean is exactly ``0.1``.)  numpy is
used only for this; the rest is plain Python, which measured faster than numpy for series of
~100 points.
"""

from __future__ import annotations

import math

import numpy as np

LIMIT = 2.66
LIMIT_CLOSE = 2 * (LIMIT / 3)  # same operation order as R: 2 * (limit / 3)
OUTLIER_SCREEN = 3.267

NAN = float("nan")
_LD = np.longdouble
_accumulate = np.add.accumulate
_fromiter = np.fromiter
_isfinite = math.isfinite


def r_mean(xs: list) -> float:
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


def group_limits(ys: list, fix_n: int, screen: bool, has_na: bool) -> tuple:
    """``(mean, amr)`` for one group, on its first ``fix_n`` values; NaN where R has NaN."""
    base = ys if fix_n >= len(ys) else ys[:fix_n]
    if not has_na:
        mean = r_mean(base)
        mrs = [abs(b - a) for a, b in zip(base, base[1:])]
    else:
        vals = [v for v in base if v is not None]
        mean = r_mean(vals) if vals else NAN
        mrs = [
            abs(b - a)
            for a, b in zip(base, base[1:])
            if a is not None and b is not None
        ]
    amr = r_mean(mrs) if mrs else NAN
    if screen:
        cut = OUTLIER_SCREEN * amr
        kept = [r for r in mrs if r < cut]  # NA/NaN comparisons drop the range
        if len(kept) != len(mrs):
            amr = r_mean(kept) if kept else NAN
    return mean, amr
