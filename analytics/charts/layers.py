"""The layers of an XmR chart: mean and process limits, the values and their points, PDSA
cycle annotations, and the status box with the variation and assurance.

Mean and limits are drawn as one segment per rebase group (flat inside a group), so each
rebase shows as a break; the values are joined by a grey line broken at a missing value, as
ggplot's ``geom_line`` does.
"""

from __future__ import annotations

import matplotlib.dates as mdates
from matplotlib.lines import Line2D

from analytics.charts.style import (
    ANNOTATION_COLOUR, ASSURANCE_LABELS, ASSURANCE_NOT_APPLICABLE, LIMIT_COLOUR, MEAN_COLOUR,
    POINT_COLOURS, POINT_LEGEND, TEXT_COLOUR, VALUE_LINE_COLOUR, VARIATION_LABELS,
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


def draw_limits(ax, points, handles) -> None:
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


def draw_values(ax, points, handles) -> None:
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
    for types, label in POINT_LEGEND:
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


def draw_annotations(ax, notes) -> None:
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


def draw_status(ax, analysis, target) -> None:
    variation = VARIATION_LABELS.get(
        analysis.variation_type, str(analysis.variation_type)
    )
    if analysis.assurance_type is None and target is not None and analysis.points:
        assurance = ASSURANCE_NOT_APPLICABLE
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
