"""An SPC analysis in words, in the Making Data Count vocabulary.

    special-cause improvement since 13 April 2026; assurance: hit and miss against the target 0.6

The variation is the last point's type (common cause variation, special-cause improvement or
concern, or special-cause variation neither better nor worse when no direction is an
improvement) and, for special cause, the date the current stretch of such points began. The
assurance is consistently passing or failing the target, or hit and miss. Dates are in the
en-GB long form, "5 October 2026". Plain functions of an :class:`SpcAnalysis`, so pcnqi and
the web pages say the same thing.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Optional

from analytics.spc.results import SpcAnalysis
from analytics.spc.vocabulary import (
    COMMON_CAUSE, CONSISTENT_FAIL, CONSISTENT_PASS, INCONSISTENT, SPECIAL_CAUSE_CONCERN,
    SPECIAL_CAUSE_IMPROVEMENT, SPECIAL_CAUSE_NEUTRAL_HIGH, SPECIAL_CAUSE_NEUTRAL_LOW,
)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

VARIATION_WORDS = {
    COMMON_CAUSE: "common cause variation",
    SPECIAL_CAUSE_IMPROVEMENT: "special-cause improvement",
    SPECIAL_CAUSE_CONCERN: "special-cause concern",
    SPECIAL_CAUSE_NEUTRAL_HIGH: "special-cause variation (high, neither improvement nor "
                                "concern)",
    SPECIAL_CAUSE_NEUTRAL_LOW: "special-cause variation (low, neither improvement nor "
                               "concern)",
}
ASSURANCE_WORDS = {
    CONSISTENT_PASS: "consistently passing the target",
    CONSISTENT_FAIL: "consistently failing the target",
    INCONSISTENT: "hit and miss against the target",
}
NO_DATA = "no data yet"
NOT_APPLICABLE = "not applicable (no direction is an improvement)"
SIGNIFICANT_DIGITS = 4


def verdict(analysis: SpcAnalysis, target: Optional[float] = None) -> str:
    """The variation, then the assurance, in one line of words.

    ``target`` is the number the assurance was measured against (as given to ``analyse``);
    without it the assurance still names "the target". No assurance part when the analysis
    has none and there is no target; "not applicable" when there is a target but no
    direction is an improvement."""
    words = variation_in_words(analysis)
    assurance = assurance_in_words(analysis.assurance_type, target)
    if assurance is None and target is not None and analysis.points:
        assurance = NOT_APPLICABLE
    return words if assurance is None else f"{words}; assurance: {assurance}"


def variation_in_words(analysis: SpcAnalysis) -> str:
    """The variation: "common cause variation", or "special-cause improvement since
    5 October 2026" (the first date of the stretch of points, up to the last, that share the
    last point's type); "no data yet" for an analysis with no points."""
    if not analysis.points:
        return NO_DATA
    kind = analysis.variation_type
    words = VARIATION_WORDS.get(kind, str(kind))
    if kind == COMMON_CAUSE:
        return words
    return f"{words} since {long_date(since(analysis))}"


def since(analysis: SpcAnalysis) -> date:
    """The date the last point's stretch of same-type points began."""
    points = analysis.points
    first = len(points) - 1
    while first > 0 and points[first - 1].point_type == points[-1].point_type:
        first -= 1
    return points[first].date


def assurance_in_words(assurance_type: Optional[str], target: Optional[float] = None
                       ) -> Optional[str]:
    """The assurance: "consistently passing the target 0.6" (or failing), "hit and miss
    against the target 0.6"; the target's number left out when ``target`` is None; None for
    no assurance."""
    if assurance_type is None:
        return None
    words = ASSURANCE_WORDS.get(assurance_type, str(assurance_type))
    return words if target is None else f"{words} {number_in_words(target)}"


def long_date(day: date) -> str:
    """``day`` in the en-GB long form: "5 October 2026" (no leading zero, any locale)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def number_in_words(x: float) -> str:
    """``x`` to four significant figures, as a person writes it: 0.6, 11.9, 280, 1,234."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = max(0, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
