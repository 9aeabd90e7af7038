"""Render "Making Data Count" XmR charts (SVG or PNG) from an SPC analysis.

* :mod:`~analytics.charts.xmr` -- :func:`render_chart`, the whole chart of an analysis;
* :mod:`~analytics.charts.layers` -- its layers: limits, values, PDSA annotations, status;
* :mod:`~analytics.charts.figure` -- a house-style figure and its bytes (other house charts,
  such as training's capability pyramid, draw on it too);
* :mod:`~analytics.charts.style` -- colours, labels and sizes.
"""

from analytics.charts.figure import figure_bytes, new_figure, style_axes
from analytics.charts.style import (
    ANNOTATION_COLOUR, ASSURANCE_LABELS, CONTENT_TYPES, DPI, FIGSIZE, FORMATS, LIMIT_COLOUR,
    MEAN_COLOUR, POINT_COLOURS, SVG_HASHSALT, TARGET_COLOUR, TEXT_COLOUR, VALUE_LINE_COLOUR,
    VARIATION_LABELS,
)
from analytics.charts.xmr import render_chart

__all__ = [
    "render_chart",
    "POINT_COLOURS",
    "CONTENT_TYPES",
    "VARIATION_LABELS",
    "ASSURANCE_LABELS",
    "FORMATS",
]
