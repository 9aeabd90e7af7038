"""Render "Making Data Count" XmR charts (SVG or PNG) from an SPC analysis.

:func:`render_chart` draws an :class:`~analytics.spc.SpcAnalysis`
the way NHS England's Making Data Count charts (and NHSRplotthedots'
``ptd_create_ggplot()``) look: a grey line joining the values, points coloured
by point type, the mean as a solid black line and the process limits as grey
dashed lines (one segment per rebase group, so each rebase shows as a break),
an optional red dashed target line, dotted vertical lines for PDSA cycles, and
a text box with the variation and assurance types in the top-right corner.

Only matplotlib's object API is used (``Figure`` + the Agg / SVG canvas);
``pyplot`` is never imported, so no global figure registry or GUI backend is
involved and a render holds no state beyond its own ``Figure``.  The one
global touched is ``matplotlib.rcParams`` while an SVG is written (the
``svg.hashsalt`` that makes element ids, and hence the bytes, deterministic;
``svg.fonttype = "none"`` so text is real, searchable ``<text>``); that window
is serialised by a module lock.  Under eventlet the render never yields
inside it, so green threads cannot interleave there either.
"""

from __future__ import annotations

import io
import math
import textwrap
import threading
from datetime import date, datetime, timedelta
from typing import Iterable, Optional, Tuple

import matplotlib
import matplotlib.dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analytics import spc

__all__ = [
    "render_chart",
    "POINT_COLOURS",
    "CONTENT_TYPES",
    "VARIATION_LABELS",
    "ASSURANCE_LABELS",
    "FORMATS",
]

# --------------------------------------------------------------------------- #
# Look
# --------------------------------------------------------------------------- #
POINT_COLOURS = {
    spc.COMMON_CAUSE: "#7B7D7D",  # grey
    spc.SPECIAL_CAUSE_IMPROVEMENT: "#289DE0",  # blue
    spc.SPECIAL_CAUSE_CONCERN: "#ED8B00",  # orange
    spc.SPECIAL_CAUSE_NEUTRAL_HIGH: "#361475",  # purple
    spc.SPECIAL_CAUSE_NEUTRAL_LOW: "#361475",  # purple
}
CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
FORMATS = tuple(CONTENT_TYPES)

VARIATION_LABELS = {
    spc.COMMON_CAUSE: "Common cause variation",
    spc.SPECIAL_CAUSE_IMPROVEMENT: "Special cause — improvement",
    spc.SPECIAL_CAUSE_CONCERN: "Special cause — concern",
    spc.SPECIAL_CAUSE_NEUTRAL_HIGH: "Special cause — neutral (high)",
    spc.SPECIAL_CAUSE_NEUTRAL_LOW: "Special cause — neutral (low)",
    None: "Variation: no data yet",
}
ASSURANCE_LABELS = {
    spc.CONSISTENT_PASS: "Assurance: consistently passing",
    spc.CONSISTENT_FAIL: "Assurance: consistently failing",
    spc.INCONSISTENT: "Assurance: hit and miss",
    None: "Assurance: no target",
}
# shown instead of "no target" when a target is drawn but the analysis has no
# assurance type (improvement direction "neutral": R gives no assurance then)
_ASSURANCE_NOT_APPLICABLE = "Assurance: not applicable"

# legend labels, one per colour (neutral high/low share the purple)
_POINT_LEGEND = (
    ((spc.SPECIAL_CAUSE_IMPROVEMENT,), "Special cause — improvement"),
    ((spc.SPECIAL_CAUSE_CONCERN,), "Special cause — concern"),
    (
        (spc.SPECIAL_CAUSE_NEUTRAL_HIGH, spc.SPECIAL_CAUSE_NEUTRAL_LOW),
        "Special cause — neutral",
    ),
    ((spc.COMMON_CAUSE,), "Common cause"),
)

VALUE_LINE_COLOUR = "#7B7D7D"
MEAN_COLOUR = "#000000"
LIMIT_COLOUR = "#7B7D7D"
TARGET_COLOUR = "#DE1B1B"
ANNOTATION_COLOUR = "#425563"  # NHS dark grey
TEXT_COLOUR = "#231F20"

FIGSIZE = (10.0, 5.0)  # inches
DPI = 100  # -> PNG of 1000 x 500 pixels
SVG_HASHSALT = "pcn-improvement-network-spc-chart"
_SINGLE_DATE_MARGIN = timedelta(days=14)  # x range around a lone date
_TITLE_WIDTH = 70  # characters per title line before wrapping

_SAVE_LOCK = threading.Lock()
# matplotlib's date axis needs room for its margins and ticks inside years 1..9999
_DRAWABLE = (date(2, 1, 1), date(9998, 12, 31))
_MIN_ANNOTATION_MARGIN = timedelta(days=366)


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #
def render_chart(
    analysis: spc.SpcAnalysis,
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
    outside = [p.date for p in analysis.points if not _DRAWABLE[0] <= p.date <= _DRAWABLE[1]]
    if outside:
        raise ValueError(f"cannot draw dates outside {_DRAWABLE[0]}..{_DRAWABLE[1]}: "
                         f"{outside[0].isoformat()}")
    notes = _clip_annotations(analysis.points, _check_annotations(annotations))

    fig, canvas = new_figure(fmt)
    ax = fig.add_subplot()
    _draw(fig, ax, analysis, title=str(title), unit=unit, target=target, notes=notes)
    return figure_bytes(canvas, fmt)


def new_figure(fmt: str):
    """A house-style figure and its canvas for ``fmt`` (1000 x 500 pixels)."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.1, h_pad=0.1)  # inches
    canvas = FigureCanvasSVG(fig) if fmt == "svg" else FigureCanvasAgg(fig)
    return fig, canvas


def figure_bytes(canvas, fmt: str) -> bytes:
    """The figure's bytes: SVG deterministic for the same input, with real text."""
    buf = io.BytesIO()
    if fmt == "svg":
        with _SAVE_LOCK, matplotlib.rc_context(
            {"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "none"}
        ):
            canvas.print_figure(buf, format="svg", dpi=DPI, metadata={"Date": None})
    else:
        canvas.print_figure(buf, format="png", dpi=DPI)
    return buf.getvalue()


def style_axes(ax, title: str, label: Optional[str]) -> None:
    """Title, axis label, spines, grid and ticks as every house chart draws them."""
    ax.set_title(
        textwrap.fill(title, _TITLE_WIDTH, max_lines=2, placeholder=" …"),
        loc="left",
        fontsize=13,
        fontweight="bold",
        color=TEXT_COLOUR,
        pad=12,
        parse_math=False,  # user text: a "$" must not start mathtext
        gid="title",
    )
    ax.set_ylabel(label or "", color=TEXT_COLOUR, parse_math=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#E8EDEE", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=9, colors="#425563")


# --------------------------------------------------------------------------- #
# Input checks
# --------------------------------------------------------------------------- #
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
    lo, hi = (d.toordinal() for d in _DRAWABLE)
    if points:
        first, last = points[0].date.toordinal(), points[-1].date.toordinal()
        margin = max(last - first, _MIN_ANNOTATION_MARGIN.days)  # in days, never overflows
        lo, hi = max(lo, first - margin), min(hi, last + margin)
    return [(when, label) for when, label in notes if lo <= when.toordinal() <= hi]


# --------------------------------------------------------------------------- #
# Drawing
# --------------------------------------------------------------------------- #
def _draw(fig, ax, analysis, *, title, unit, target, notes) -> None:
    points = tuple(analysis.points)
    line_handles: list = []
    point_handles: list = []

    style_axes(ax, title, unit)

    has_values = any(p.value is not None for p in points)
    if points:
        _draw_limits(ax, points, line_handles)
        _draw_values(ax, points, point_handles)
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
            ax.set_xlim(first - _SINGLE_DATE_MARGIN, last + _SINGLE_DATE_MARGIN)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    _draw_annotations(ax, notes)
    if points or notes:
        # the axis margins must not take the x range past what matplotlib can draw
        lo, hi = ax.get_xlim()
        first_day, last_day = (mdates.date2num(d) for d in _DRAWABLE)
        if lo < first_day or hi > last_day:
            ax.set_xlim(max(lo, first_day), min(hi, last_day))
    _draw_status(ax, analysis, target)

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


def _groups(points) -> list:
    """Split the points into runs of the same rebase group (in date order)."""
    groups: list = []
    for p in points:
        if groups and groups[-1][0].rebase_group == p.rebase_group:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def _draw_limits(ax, points, handles) -> None:
    drew_mean = drew_limits = False
    for group in _groups(points):
        g = group[0].rebase_group
        single = len(group) == 1
        # mean and limits are flat inside a group: a segment from its first to
        # its last date; nothing joins it to the next group (visible break)
        xs = [group[0].date] if single else [group[0].date, group[-1].date]
        # one point: a line of one vertex is invisible, so use a "-" marker
        style = {"marker": "_", "markersize": 14} if single else {}
        first = group[0]  # mean and limits are constant within a group
        if first.mean is not None:
            ax.plot(xs, [first.mean] * len(xs), color=MEAN_COLOUR, linewidth=1.3,
                    zorder=3, gid=f"mean-{g}", **style)  # fmt: skip
            drew_mean = True
        for name, limit in (("lpl", first.lpl), ("upl", first.upl)):
            if limit is not None:
                ax.plot(xs, [limit] * len(xs), color=LIMIT_COLOUR, linestyle="--",
                        linewidth=1.2, zorder=3, gid=f"{name}-{g}", **style)  # fmt: skip
                drew_limits = True
    if drew_mean:
        handles.append(Line2D([], [], color=MEAN_COLOUR, linewidth=1.3, label="mean"))
    if drew_limits:
        handles.append(
            Line2D([], [], color=LIMIT_COLOUR, linestyle="--", linewidth=1.2,
                   label="process limits")
        )  # fmt: skip


def _draw_values(ax, points, handles) -> None:
    nan = float("nan")
    # NaN breaks the line at a missing value, as ggplot's geom_line does
    ax.plot(
        [p.date for p in points],
        [nan if p.value is None else p.value for p in points],
        color=VALUE_LINE_COLOUR,
        linewidth=1.8,
        zorder=4,
        solid_capstyle="round",
        gid="values",
    )
    for types, label in _POINT_LEGEND:
        sel = [p for p in points if p.point_type in types and p.value is not None]
        if not sel:
            continue
        colour = POINT_COLOURS[types[0]]
        ax.plot(
            [p.date for p in sel],
            [p.value for p in sel],
            linestyle="none",
            marker="o",
            markersize=5.5,
            markerfacecolor=colour,
            markeredgecolor=colour,
            zorder=5,
            gid=f"points-{types[0]}",
        )
        handles.append(
            Line2D([], [], linestyle="none", marker="o", markersize=5.5,
                   markerfacecolor=colour, markeredgecolor=colour, label=label)
        )  # fmt: skip


def _draw_annotations(ax, notes) -> None:
    trans = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for i, (when, label) in enumerate(notes):
        ax.axvline(when, color=ANNOTATION_COLOUR, linestyle=":", linewidth=0.9,
                   zorder=1, gid=f"annotation-{i}")  # fmt: skip
        if label:
            ax.annotate(
                label,
                xy=(mdates.date2num(when), 0.98),
                xycoords=trans,
                xytext=(-2, 0),
                textcoords="offset points",
                rotation=90,
                ha="right",
                va="top",
                fontsize=7.5,
                color=ANNOTATION_COLOUR,
                parse_math=False,
                gid=f"annotation-label-{i}",
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                      "edgecolor": "none", "alpha": 0.75},
            )  # fmt: skip


def _draw_status(ax, analysis, target) -> None:
    variation = VARIATION_LABELS.get(
        analysis.variation_type, str(analysis.variation_type)
    )
    if analysis.assurance_type is None and target is not None and analysis.points:
        assurance = _ASSURANCE_NOT_APPLICABLE
    else:
        assurance = ASSURANCE_LABELS.get(
            analysis.assurance_type, str(analysis.assurance_type)
        )
    edge = POINT_COLOURS.get(analysis.variation_type, "#AEB7BD")
    # offset inwards/upwards so the rounded box (whose padding the layout
    # engine does not measure) stays inside the figure
    ax.annotate(
        f"{variation}\n{assurance}",
        xy=(1.0, 1.0),
        xycoords="axes fraction",
        xytext=(-4, 8),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=8.5,
        color=TEXT_COLOUR,
        linespacing=1.4,
        gid="status",
        bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": edge,
              "linewidth": 1.2},
    )  # fmt: skip
