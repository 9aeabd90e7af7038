"""The dosage pyramid of a capability report, drawn in the house style of the SPC charts:
one horizontal bar per level from introduction at the base (the board track, apart, on
top), the people holding it in blue against those required (dashed grey outline)."""
from analytics.charts import (ANNOTATION_COLOUR, CONTENT_TYPES, POINT_COLOURS, TEXT_COLOUR,
                              figure_bytes, new_figure, style_axes)
from analytics.spc import SPECIAL_CAUSE_IMPROVEMENT

HOLDING_COLOUR = POINT_COLOURS[SPECIAL_CAUSE_IMPROVEMENT]  # NHS blue, as an improvement
REQUIRED_COLOUR = ANNOTATION_COLOUR
LABELS = {"introduction": "Introduction", "foundations": "Foundations",
          "improvement_leader": "Improvement leader", "coach": "Coach",
          "board": "Board (own track)"}


def render_pyramid(report, fmt="svg"):
    """SVG or PNG bytes of ``report``'s pyramid (``domain.coverage``'s dict)."""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"fmt must be svg or png, got {fmt!r}")
    fig, canvas = new_figure(fmt)
    ax = fig.add_subplot()
    scope = report["scope"]
    where = (f"team {scope['team']} at " if scope.get("team") else "") + (
        scope.get("practice_id") or f"network {scope['network_id']}")
    style_axes(ax, f"Improvement capability, {where} ({report['staff']} staff, "
                   f"{report['on']})", None)
    ax.grid(axis="x", color="#E8EDEE", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    rows = report["pyramid"]
    positions = list(range(len(rows)))
    ax.barh(positions, [r["required"] for r in rows], height=0.7, facecolor="white",
            edgecolor=REQUIRED_COLOUR, linewidth=1.2, linestyle="--", label="required",
            gid="required")
    ax.barh(positions, [r["holding"] for r in rows], height=0.5, color=HOLDING_COLOUR,
            label="holding", gid="holding")
    for position, row in zip(positions, rows):
        ax.annotate(f"{row['holding']} ({row['share']:.0%})", xy=(row["holding"], position),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8.5,
                    color=TEXT_COLOUR)
    ax.set_yticks(positions, [LABELS.get(r["level"], r["level"]) for r in rows])
    ax.set_xlabel("people", color=TEXT_COLOUR)
    ax.set_xlim(0, max([1] + [max(r["holding"], r["required"]) for r in rows]) * 1.15)
    ax.legend(loc="lower right", fontsize=8.5, frameon=False)
    return figure_bytes(canvas, fmt)
