"""The look of the house charts: Making Data Count's colours, the status labels, sizes.

Points are coloured by point type as NHS England's Making Data Count charts colour them
(grey common cause, blue improvement, orange concern, purple neither); the status box names
the variation and the assurance.
"""

from __future__ import annotations

from datetime import date, timedelta

from analytics.spc import vocabulary as spc

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
ASSURANCE_NOT_APPLICABLE = "Assurance: not applicable"

# legend labels, one per colour (neutral high/low share the purple)
POINT_LEGEND = (
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
SINGLE_DATE_MARGIN = timedelta(days=14)  # x range around a lone date
TITLE_WIDTH = 70  # characters per title line before wrapping

# matplotlib's date axis needs room for its margins and ticks inside years 1..9999
DRAWABLE = (date(2, 1, 1), date(9998, 12, 31))
MIN_ANNOTATION_MARGIN = timedelta(days=366)
