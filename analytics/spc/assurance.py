"""Assurance against a target (``ptd_calculate_assurance_type()``).

It uses the last point's limits (``slice_tail(n = 1)``, i.e. the last rebase group):
``target > upl`` -> ``consistent_fail`` when improvement is ``increase``
(``consistent_pass`` when ``decrease``), ``target < lpl`` -> the opposite,
anything else (including NA limits) -> ``inconsistent``; ``None`` without a
target or when the direction is ``neutral``.
"""

from __future__ import annotations

from typing import Optional

from analytics.spc.results import SpcPoint
from analytics.spc.vocabulary import CONSISTENT_FAIL, CONSISTENT_PASS, INCONSISTENT


def assurance_type(last: SpcPoint, target: Optional[float], direction: int) -> Optional[str]:
    """The assurance type of a chart whose last point is ``last``; ``direction`` is the
    improvement direction's sign (1 increase, -1 decrease, 0 neutral)."""
    if target is None or direction == 0:
        return None
    # strict comparisons, NA -> the TRUE branch, as R
    if last.upl is not None and target > last.upl:
        return CONSISTENT_FAIL if direction == 1 else CONSISTENT_PASS
    if last.lpl is not None and target < last.lpl:
        return CONSISTENT_PASS if direction == 1 else CONSISTENT_FAIL
    return INCONSISTENT
