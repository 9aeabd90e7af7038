"""A house-style figure: made, its axes styled, and written out as SVG or PNG bytes.

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
import textwrap
import threading
from typing import Optional

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from analytics.charts.style import DPI, FIGSIZE, SVG_HASHSALT, TEXT_COLOUR, TITLE_WIDTH

_SAVE_LOCK = threading.Lock()


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
        textwrap.fill(title, TITLE_WIDTH, max_lines=2, placeholder=" …"),
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
