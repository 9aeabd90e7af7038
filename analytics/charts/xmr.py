"""The Making Data Count XmR chart of an SPC analysis: :func:`render_chart`.

It draws an :class:`~analytics.spc.SpcAnalysis` the way NHS England's Making Data Count
charts (and NHSRplotthedots' ``ptd_create_ggplot()``) look: a grey line joining the values,
points coloured by point type, the mean as a solid black line and the process limits as grey
dashed lines (one segment per rebase group, so each rebase shows as a break), an optional red
dashed target line, dotted vertical lines for PDSA cycles, and a text box with the variation
and assurance types in the top-right corner.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Iterable, Optional, Tuple

import matplotlib.dates as mdates
from matplotlib.lines import Line2D

from analytics.charts.figure import figure_bytes, new_figure, style_axes
from analytics.charts.layers import draw_annotations, draw_limits, draw_status, draw_values
from analytics.charts.style import (
    CONTENT_TYPES, DRAWABLE, FORMATS, MIN_ANNOTATION_MARGIN, SINGLE_DATE_MARGIN, TARGET_COLOUR,
)
from analytics.spc import SpcAnalysis


def render_chart(
    analysis: SpcAnalysis,
    *,
    title: str,
    unit: Optional[str] = None,
    target: Optional[float] = None,
    annotations: Iterable[Tuple[date, str]] = (),
    fmt: str = "svg",
) -> bytes:
    """Draw ``analysis`` as a Making Data Count XmR chart and return its bytes.

    :param analysis: result of :func:`analytics.spc.analyse`.
    :param title: chart title.
    :param unit: y-axis label (e.g. ``"%"`` or ``"patients"``).
    :param target: drawn as a red dashed line labelled "target".
    :param annotations: ``(date, label)`` pairs (PDSA cycles), each drawn as a
        thin dotted vertical line with its label rotated at the top.
    :param fmt: ``"svg"`` (deterministic bytes for the same input) or
        ``"png"`` (1000 x 500 pixels).  See :data:`CONTENT_TYPES`.
    :raises ValueError: unknown ``fmt``, malformed ``target``/``annotations``, or a
        point dated outside the years matplotlib can draw (2..9998). Annotations far from
        the series (or outside those years) are left out, not drawn.
    """
    if fmt not in CONTENT_TYPES:
        raise ValueError(
            f"fmt must be one of {', '.join(map(repr, FORMATS))}, got {fmt!r}"
        )
    target = _check_target(target)
    outside = [p.date for p in analysis.points if not DRAWABLE[0] <= p.date <= DRAWABLE[1]]
    if outside:
        raise ValueError(f"cannot draw dates outside {DRAWABLE[0]}..{DRAWABLE[1]}: "
                         f"{outside[0].isoformat()}")
    notes = _clip_annotations(analysis.points, _check_annotations(annotations))

    fig, canvas = new_figure(fmt)
    ax = fig.add_subplot()
    _draw(fig, ax, analysis, title=str(title), unit=unit, target=target, notes=notes)
    return figure_bytes(canvas, fmt)



def _check_target(target) -> Optional[float]:
    if target is None:
        return None
    if isinstance(target, bool):
        raise ValueError(f"target must be a number or None, got {target!r}")
    try:
        t = float(target)
    except (TypeError, ValueError):
        raise ValueError(f"target must be a number or None, got {target!r}") from None
    if not math.isfinite(t):
        raise ValueError(f"target must be finite, got {target!r}")
    return t


def _check_annotations(annotations) -> list:
    notes = []
    for i, item in enumerate(annotations or ()):
        try:
            when, label = item
        except (TypeError, ValueError):
            raise ValueError(
                f"annotations[{i}] must be a (date, label) pair, got {item!r}"
            ) from None
        if isinstance(when, datetime):
            when = when.date()
        if not isinstance(when, date):
            raise ValueError(
                f"annotations[{i}] date must be a datetime.date, got {when!r}"
            )
        notes.append((when, "" if label is None else str(label)))
    notes.sort(key=lambda n: n[0])
    return notes


def _clip_annotations(points, notes) -> list:
    """The annotations near the series: within its dates widened by its span (at least a
    year) either side, and within the years matplotlib can draw. A PDSA cycle dated far away
    (year 1, year 9999) is left out rather than stretching the axis or breaking the chart."""
    lo, hi = (d.toordinal() for d in DRAWABLE)
    if points:
        first, last = points[0].date.toordinal(), points[-1].date.toordinal()
        margin = max(last - first, MIN_ANNOTATION_MARGIN.days)  # in days, never overflows
        lo, hi = max(lo, first - margin), min(hi, last + margin)
    return [(when, label) for when, label in notes if lo <= when.toordinal() <= hi]



def _draw(fig, ax, analysis, *, title, unit, target, notes) -> None:
    points = tuple(analysis.points)
    line_handles: list = []
    point_handles: list = []

    style_axes(ax, title, unit)

    has_values = any(p.value is not None for p in points)
    if points:
        draw_limits(ax, points, line_handles)
        draw_values(ax, points, point_handles)
    if target is not None:
        ax.axhline(target, color=TARGET_COLOUR, linestyle="--", linewidth=1.4,
                   zorder=2, gid="target")  # fmt: skip
        ax.annotate(
            "target",
            xy=(1.0, target),
            xycoords=("axes fraction", "data"),
            xytext=(-2, 2),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=8,
            color=TARGET_COLOUR,
        )
        line_handles.append(
            Line2D([], [], color=TARGET_COLOUR, linestyle="--", linewidth=1.4,
                   label="target")
        )  # fmt: skip

    if not has_values:
        ax.text(
            0.5,
            0.5,
            "no data yet",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=14,
            color="#768692",
            gid="no-data",
        )
        if not points and not notes:
            ax.set_xticks([])
        if target is None:
            ax.set_yticks([])

    if points or notes:
        all_dates = [p.date for p in points] + [d for d, _ in notes]
        first, last = min(all_dates), max(all_dates)
        if first == last:
            # matplotlib would widen a zero-width date range to +/- 2 years
            ax.set_xlim(first - SINGLE_DATE_MARGIN, last + SINGLE_DATE_MARGIN)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    draw_annotations(ax, notes)
    if points or notes:
        # the axis margins must not take the x range past what matplotlib can draw
        lo, hi = ax.get_xlim()
        first_day, last_day = (mdates.date2num(d) for d in DRAWABLE)
        if lo < first_day or hi > last_day:
            ax.set_xlim(max(lo, first_day), min(hi, last_day))
    draw_status(ax, analysis, target)

    handles = line_handles + point_handles
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=len(handles),
            fontsize=8,
            frameon=False,
            handlelength=2.2,
            columnspacing=1.4,
        )

