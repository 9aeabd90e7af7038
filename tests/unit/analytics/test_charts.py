"""Tests of analytics.charts (Making Data Count chart rendering)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from analytics import charts, spc
from analytics.charts import CONTENT_TYPES, POINT_COLOURS, render_chart

ROOT = Path(__file__).resolve().parents[3]
START = date(2024, 1, 1)
SVG_NS = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

BLUE = "#289DE0"
ORANGE = "#ED8B00"
PURPLE = "#361475"
GREY = "#7B7D7D"

# 24 stable weeks around 50, then a deliberate shift up in the last 8 weeks
BASELINE = [50, 52, 49, 51, 48, 50, 53, 47, 51, 49, 50, 52,
            48, 51, 50, 49, 52, 48, 50, 51, 49, 53, 47, 50]  # fmt: skip
SHIFT = [60, 62, 59, 61, 63, 60, 62, 61]


def weeks(n, start=START):
    return [start + timedelta(weeks=i) for i in range(n)]


DATES = weeks(len(BASELINE) + len(SHIFT))
PDSA = [(DATES[10], "PDSA 1: text reminders"), (DATES[24], "PDSA 2: recall clinic")]


@pytest.fixture(scope="module")
def shifted():
    return spc.analyse(DATES, BASELINE + SHIFT, improvement="increase", target=55)


@pytest.fixture(scope="module")
def stable():
    return spc.analyse(DATES[:24], BASELINE, improvement="increase")


@pytest.fixture(scope="module")
def rebased():
    return spc.analyse(DATES, BASELINE + SHIFT, rebase_dates=[DATES[24]])


@pytest.fixture(scope="module")
def empty():
    return spc.analyse([], [])


@pytest.fixture(scope="module")
def single():
    return spc.analyse([START], [12.0], target=10)


def svg_of(analysis, **kwargs):
    kwargs.setdefault("title", "Asthma reviews")
    return render_chart(analysis, fmt="svg", **kwargs)


def parse(svg: bytes) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    return root


def texts(root: ET.Element) -> list:
    """The content of every <text> element (the SVG keeps text as text)."""
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def has_colour(svg: bytes, colour: str) -> bool:
    return colour.lower().encode() in svg.lower()


def by_id(root: ET.Element, gid: str):
    for el in root.iter():
        if el.get("id") == gid:
            return el
    return None


def path_xs(group: ET.Element) -> list:
    """x coordinates of the vertices of the <path> elements in a group."""
    xs = []
    for path in group.iter(f"{SVG_NS}path"):
        xs += [float(x) for x in re.findall(r"[ML]\s*([-\d.]+)\s+[-\d.]+", path.get("d"))]
    return xs


def png_size(png: bytes):
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        return im.format, im.size


# --------------------------------------------------------------------------- #
# Preconditions on the hand-made series (so the colour checks mean something)
# --------------------------------------------------------------------------- #
def test_fixtures_have_the_point_types_the_tests_rely_on(
    shifted, stable, rebased, empty, single
):
    assert {p.point_type for p in shifted.points} == {
        "common_cause",
        "special_cause_improvement",
        "special_cause_concern",
    }
    assert [p.point_type for p in shifted.points[-8:]] == [
        "special_cause_improvement"
    ] * 8
    assert shifted.variation_type == "special_cause_improvement"
    assert shifted.assurance_type == "inconsistent"
    assert {p.point_type for p in stable.points} == {"common_cause"}
    assert {p.rebase_group for p in rebased.points} == {0, 1}
    assert rebased.points[0].mean != rebased.points[-1].mean
    assert empty.points == ()
    assert len(single.points) == 1 and single.points[0].upl is None


def test_public_constants():
    assert POINT_COLOURS == {
        "common_cause": GREY,
        "special_cause_improvement": BLUE,
        "special_cause_concern": ORANGE,
        "special_cause_neutral_high": PURPLE,
        "special_cause_neutral_low": PURPLE,
    }
    assert set(POINT_COLOURS) == set(spc.POINT_TYPES)
    assert CONTENT_TYPES == {"svg": "image/svg+xml", "png": "image/png"}


# --------------------------------------------------------------------------- #
# SVG
# --------------------------------------------------------------------------- #
def test_svg_parses_and_has_colours_of_present_point_types_only(shifted):
    svg = svg_of(shifted, title="Asthma reviews", unit="%", target=55)
    parse(svg)
    assert has_colour(svg, ORANGE)  # concern
    assert has_colour(svg, BLUE)  # improvement
    assert has_colour(svg, GREY)  # common cause
    assert not has_colour(svg, PURPLE)  # no neutral points here


def test_svg_of_common_cause_series_has_no_special_cause_colours(stable):
    svg = svg_of(stable)
    parse(svg)
    assert has_colour(svg, GREY)
    for colour in (BLUE, ORANGE, PURPLE):
        assert not has_colour(svg, colour)


def test_svg_neutral_series_uses_purple():
    a = spc.analyse(DATES, BASELINE + SHIFT, improvement="neutral")
    svg = svg_of(a)
    assert has_colour(svg, PURPLE)
    assert not has_colour(svg, BLUE)
    assert not has_colour(svg, ORANGE)
    assert "Special cause — neutral (high)" in texts(parse(svg))


def test_svg_contains_title_unit_labels_and_status(shifted):
    root = parse(
        svg_of(shifted, title="Asthma reviews in 12 months", unit="% of register",
               target=55, annotations=PDSA)  # fmt: skip
    )
    found = texts(root)
    assert "Asthma reviews in 12 months" in found
    assert "% of register" in found
    assert "target" in found
    assert "Special cause — improvement" in found
    assert "Assurance: hit and miss" in found
    for _, label in PDSA:
        assert label in found
    for legend in ("mean", "process limits", "Special cause — improvement",
                   "Special cause — concern", "Common cause"):  # fmt: skip
        assert legend in found


def test_svg_annotation_lines_are_drawn(shifted):
    root = parse(svg_of(shifted, annotations=PDSA))
    assert by_id(root, "annotation-0") is not None
    assert by_id(root, "annotation-1") is not None
    assert by_id(root, "annotation-2") is None


def test_user_text_is_escaped_and_not_mathtext(shifted):
    title = 'Cost $5 to $10 per <patient> & "more"'
    root = parse(svg_of(shifted, title=title, unit="$", annotations=[(DATES[3], "x_1 $a$")]))
    found = texts(root)
    assert title in found
    assert "x_1 $a$" in found


def test_assurance_and_variation_labels():
    a = spc.analyse(DATES, BASELINE + SHIFT, improvement="increase", target=40)
    assert a.assurance_type == "consistent_pass"
    assert "Assurance: consistently passing" in texts(parse(svg_of(a, target=40)))
    a = spc.analyse(DATES, BASELINE + SHIFT, improvement="decrease", target=40)
    found = texts(parse(svg_of(a, target=40)))
    assert "Assurance: consistently failing" in found
    assert "Special cause — concern" in found
    stable = spc.analyse(DATES[:24], BASELINE)
    found = texts(parse(svg_of(stable)))
    assert "Common cause variation" in found
    assert "Assurance: no target" in found


def test_mean_and_limits_break_at_each_rebase(rebased):
    root = parse(svg_of(rebased))
    segments = {}
    for name in ("mean", "lpl", "upl"):
        for g in (0, 1):
            el = by_id(root, f"{name}-{g}")
            assert el is not None, f"{name}-{g} missing"
            segments[name, g] = path_xs(el)
    for name in ("mean", "lpl", "upl"):
        # each group's line stops before the next group's line starts
        assert max(segments[name, 0]) < min(segments[name, 1])
        assert segments[name, 0] == segments["mean", 0]
        assert segments[name, 1] == segments["mean", 1]
    assert by_id(root, "mean-2") is None


def test_svg_is_deterministic(shifted, rebased):
    kwargs = dict(title="Asthma reviews", unit="%", target=55, annotations=PDSA)
    first = svg_of(shifted, **kwargs)
    svg_of(rebased, title="something else in between")
    render_chart(shifted, title="png in between", fmt="png")
    second = svg_of(shifted, **kwargs)
    assert first == second
    assert b"<dc:date>" not in first


def test_svg_does_not_leak_rc_params(shifted):
    import matplotlib

    # only look at svg.* keys: reading rcParams["backend"] would resolve the
    # backend (and import pyplot)
    def svg_params():
        return {k: v for k, v in matplotlib.rcParams.items() if k.startswith("svg.")}

    before = svg_params()
    svg_of(shifted)
    assert svg_params() == before


def test_concurrent_renders_are_identical(shifted):
    expected = svg_of(shifted, annotations=PDSA)
    results = [None] * 4

    def work(i):
        results[i] = svg_of(shifted, annotations=PDSA)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_pyplot_is_not_imported():
    # in a fresh interpreter: other test modules may import pyplot themselves
    code = (
        "import sys\n"
        "from analytics import charts, spc\n"
        "a = spc.analyse([], [])\n"
        "charts.render_chart(a, title='x', fmt='svg')\n"
        "charts.render_chart(a, title='x', fmt='png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


# --------------------------------------------------------------------------- #
# PNG
# --------------------------------------------------------------------------- #
def test_png_signature_and_size(shifted):
    png = render_chart(shifted, title="Asthma reviews", unit="%", target=55,
                       annotations=PDSA, fmt="png")  # fmt: skip
    assert png.startswith(PNG_SIGNATURE)
    assert png_size(png) == ("PNG", (1000, 500))


def test_png_of_shifted_series_for_inspection():
    """Writes /tmp/mdc_chart.png to look at: shift + a rebase at week 12."""
    a = spc.analyse(DATES, BASELINE + SHIFT, target=55, rebase_dates=[DATES[12]])
    assert {p.point_type for p in a.points} == {
        "common_cause",
        "special_cause_improvement",
        "special_cause_concern",
    }
    png = render_chart(
        a,
        title="Patients with an asthma review in the last 12 months",
        unit="%",
        target=55,
        annotations=PDSA,
        fmt="png",
    )
    with open("/tmp/mdc_chart.png", "wb") as f:
        f.write(png)
    assert png_size(png) == ("PNG", (1000, 500))


# --------------------------------------------------------------------------- #
# Edge cases
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_empty_analysis(empty, fmt):
    out = render_chart(empty, title="Nothing yet", unit="patients", fmt=fmt)
    if fmt == "png":
        assert png_size(out) == ("PNG", (1000, 500))
        return
    found = texts(parse(out))
    assert "no data yet" in found
    assert "Nothing yet" in found
    for colour in (BLUE, ORANGE, PURPLE):
        assert not has_colour(out, colour)


def test_empty_analysis_with_target_and_annotation(empty):
    root = parse(
        svg_of(empty, target=5, annotations=[(START, "PDSA 1")])
    )
    found = texts(root)
    assert {"no data yet", "target", "PDSA 1"} <= set(found)


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_single_point(single, fmt):
    out = render_chart(single, title="One week", target=10, fmt=fmt)
    if fmt == "png":
        assert png_size(out) == ("PNG", (1000, 500))
        return
    root = parse(out)
    assert by_id(root, "mean-0") is not None
    assert by_id(root, "upl-0") is None
    assert "One week" in texts(root)
    assert "no data yet" not in texts(root)


def test_all_limits_none():
    a = spc.analyse(weeks(6), [5.0] * 6)  # constant: R screens out every range
    assert all(p.lpl is None and p.upl is None for p in a.points)
    root = parse(svg_of(a, annotations=[(weeks(6)[2], "PDSA 1")]))
    assert by_id(root, "mean-0") is not None
    assert by_id(root, "lpl-0") is None and by_id(root, "upl-0") is None
    assert "process limits" not in texts(root)
    assert png_size(render_chart(a, title="flat", fmt="png"))[1] == (1000, 500)


def test_missing_values_are_skipped():
    values = list(BASELINE)
    values[5] = None
    a = spc.analyse(DATES[:24], values)
    root = parse(svg_of(a))
    assert by_id(root, "values") is not None


def test_only_missing_values():
    a = spc.analyse(weeks(3), [None, None, None])
    found = texts(parse(svg_of(a)))
    assert "no data yet" in found


# --------------------------------------------------------------------------- #
# Arguments
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fmt", ["pdf", "SVG", "jpg", "", None])
def test_bad_fmt_raises(shifted, fmt):
    with pytest.raises(ValueError, match="fmt"):
        render_chart(shifted, title="x", fmt=fmt)


@pytest.mark.parametrize("target", ["high", float("inf"), float("nan"), True])
def test_bad_target_raises(shifted, target):
    with pytest.raises(ValueError, match="target"):
        render_chart(shifted, title="x", target=target)


@pytest.mark.parametrize("bad", [[("2024-01-01", "x")], [(START,)], [START]])
def test_bad_annotations_raise(shifted, bad):
    with pytest.raises(ValueError, match="annotations"):
        render_chart(shifted, title="x", annotations=bad)


def test_annotation_accepts_datetime_and_generator(shifted):
    notes = ((d, f"cycle {i}") for i, d in enumerate([datetime(2024, 2, 5, 9, 30)]))
    assert "cycle 0" in texts(parse(svg_of(shifted, annotations=notes)))


def test_module_constants_cover_all_types():
    assert set(charts.VARIATION_LABELS) == set(spc.POINT_TYPES) | {None}
    assert set(charts.ASSURANCE_LABELS) == set(spc.ASSURANCE_TYPES) | {None}


@pytest.mark.parametrize("far", [date(1, 1, 1), date(9999, 12, 31), date(1900, 1, 1)])
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_annotations_far_from_the_series_are_left_out(shifted, far, fmt):
    """A PDSA cycle dated near year 1 or 9999 made every chart of its project fail; one
    far from the series would squash it. Either is left out; near ones stay."""
    near = (shifted.points[3].date, "near cycle")
    image = render_chart(shifted, title="x", annotations=[(far, "far cycle"), near], fmt=fmt)
    assert image
    if fmt == "svg":
        shown = texts(parse(image))
        assert "near cycle" in shown and "far cycle" not in shown


def test_annotations_alone_span_any_drawable_years():
    empty = spc.analyse([], [])
    for notes in ([(date(2, 1, 1), "a"), (date(9998, 12, 31), "b")],
                  [(date(1, 1, 1), "c")], [(date(9999, 12, 31), "d")]):
        assert render_chart(empty, title="x", annotations=notes, fmt="png")


def test_points_outside_the_drawable_years_are_a_value_error():
    days = [date(9999, 1, 4) + timedelta(weeks=i) for i in range(3)]
    with pytest.raises(ValueError, match="cannot draw dates"):
        render_chart(spc.analyse(days, [1.0, 2.0, 3.0]), title="x")


@pytest.mark.parametrize("values", [
    [1e15 if i % 2 else -1e15 for i in range(20)], [1e15] * 10 + [0.0] * 10])
def test_huge_values_within_the_series_bound_are_drawn(values):
    days = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(20)]
    analysis = spc.analyse(days, values, improvement="increase", target=1e12)
    for fmt in ("svg", "png"):
        assert render_chart(analysis, title="x", target=1e12, fmt=fmt,
                            annotations=[(days[4], "PDSA")])
