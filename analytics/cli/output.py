"""What ``pcnqi spc`` prints: the verdict in words for a person (the default), or every point
as JSON or CSV for a script."""

from __future__ import annotations

import csv
import io
import json
from typing import Optional, Sequence

from analytics.spc import POINT_FIELDS, SpcAnalysis
from analytics.spc.verdict import long_date, number_in_words, verdict
from analytics.spc.vocabulary import (
    COMMON_CAUSE, SCT_ABOVE_UCL, SCT_BELOW_LCL, SCT_RUN_ABOVE, SCT_RUN_BELOW, SCT_TREND_DOWN,
    SCT_TREND_UP, SCT_TWO_IN_THREE_ABOVE, SCT_TWO_IN_THREE_BELOW, SPECIAL_CAUSE_CONCERN,
    SPECIAL_CAUSE_IMPROVEMENT,
)

# what R's special_cause_type says, in words
SPECIAL_CAUSE_WORDS = {
    SCT_ABOVE_UCL: "above the upper process limit",
    SCT_BELOW_LCL: "below the lower process limit",
    SCT_TREND_UP: "a trend of 7 rising",
    SCT_TREND_DOWN: "a trend of 7 falling",
    SCT_TWO_IN_THREE_ABOVE: "2 of 3 near the upper limit",
    SCT_TWO_IN_THREE_BELOW: "2 of 3 near the lower limit",
    SCT_RUN_ABOVE: "a run of 7 above the mean",
    SCT_RUN_BELOW: "a run of 7 below the mean",
}
STRETCH_KINDS = {SPECIAL_CAUSE_IMPROVEMENT: "improvement", SPECIAL_CAUSE_CONCERN: "concern"}
FORMAT_HINT = "every point: add --format csv (or --format json)"


def render_words(analysis: SpcAnalysis, target: Optional[float] = None) -> str:
    """The verdict, then the series, its mean and limits, and each stretch of special-cause
    points, one line each, for a person at a terminal."""
    lines = [verdict(analysis, target)]
    points = analysis.points
    if points:
        latest = points[-1]
        latest_value = "missing" if latest.value is None else number_in_words(latest.value)
        lines.append(f"{len(points)} points from {long_date(points[0].date)} to "
                     f"{long_date(latest.date)}; the latest {latest_value}")
        lines.append(_limits_in_words(analysis))
        stretches = list(_special_cause_stretches(points))
        if stretches:
            lines.append("special cause:")
            lines += [f"  {stretch}" for stretch in stretches]
        lines.append(FORMAT_HINT)
    return "\n".join(lines) + "\n"


def _limits_in_words(analysis: SpcAnalysis) -> str:
    latest = analysis.points[-1]
    group = [p for p in analysis.points if p.rebase_group == latest.rebase_group]
    since = (f" (since the rebase on {long_date(group[0].date)})"
             if group[0] is not analysis.points[0] else "")
    if latest.mean is None:
        return "no mean yet: every value is missing"
    if latest.lpl is None:
        return (f"mean {number_in_words(latest.mean)}{since}; no process limits (too few "
                "values, or none varies)")
    return (f"mean {number_in_words(latest.mean)}, process limits "
            f"{number_in_words(latest.lpl)} to {number_in_words(latest.upl)}{since}")


def _special_cause_stretches(points):
    """One line per run of consecutive points of the same special-cause type."""
    start = 0
    for end in range(1, len(points) + 1):
        if end < len(points) and points[end].point_type == points[start].point_type:
            continue
        stretch = points[start:end]
        start = end
        if stretch[0].point_type == COMMON_CAUSE:
            continue
        kind = STRETCH_KINDS.get(stretch[0].point_type, "neither improvement nor concern")
        causes = list(dict.fromkeys(SPECIAL_CAUSE_WORDS.get(p.special_cause_type,
                                                            p.special_cause_type)
                                    for p in stretch))
        when = long_date(stretch[0].date)
        if len(stretch) > 1:
            when += f" to {long_date(stretch[-1].date)}"
        count = f"{len(stretch)} point{'s' if len(stretch) > 1 else ''}"
        yield f"{when}: {kind}, {count} ({'; '.join(causes)})"


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ";".join(value)
    return str(value)


def render_csv(points: Sequence[dict]) -> str:
    """One CSV row per point (``SpcPoint.to_dict()`` or the service's JSON points)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(POINT_FIELDS)
    for point in points:
        writer.writerow([_csv_cell(point.get(f)) for f in POINT_FIELDS])
    return out.getvalue()


def render_json(analysis: dict) -> str:
    return json.dumps(analysis, indent=2, allow_nan=False) + "\n"
