"""The main job, as the README's first command runs it: ``python -m tools.demo`` starts the
services and the local OpenID provider as local processes on the local RabbitMQ (none answer on
their ports in a test run), tells the whole story, saves the charts and the network lead's
pages (signed in through the provider in headless Chromium), and stops what it started."""
import re
import socket
import struct
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from services import registry
from tools import dev

REPO_ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
SCREENSHOTS = ("web-dashboard.png", "web-measure.png", "web-inbox.png", "web-huddle-board.png",
               "web-training-pyramid.png", "web-submission-error.png")


def answering(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def png_size(path):
    """(width, height) of a PNG, from its signature and IHDR chunk; None if it is not one."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def path_xs(chart, gid):
    """The x of each vertex of the first path in the chart's group ``gid``."""
    group = chart.find(f".//{SVG}g[@id='{gid}']")
    assert group is not None, f"no {gid} in the chart"
    return [float(x) for x in re.findall(r"[ML] (-?[\d.]+) ", group.find(f"{SVG}path").get("d"))]


@pytest.mark.timeout(300)
def test_the_demo_tells_the_whole_story_and_stops_what_it_started(tmp_path):
    ports = [service.port for service in registry.existing()] + [dev.OIDC_PORT]
    if any(answering(port) for port in ports):
        pytest.skip("services already answer on the demo's ports (make dev?): the demo would "
                    "use them rather than start its own")
    done = subprocess.run([sys.executable, "-m", "tools.demo", "--charts", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=280,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "gap closed" in out and "read with their own person key (1 unread)" in out
    assert "[chart attached inline]" in out  # the signal mail, with measurement's chart
    assert "SPC after the rebase: variation common_cause" in out
    assert "stopped the services the demo started: projects, measurement, training, " \
           "notifications, web" in out
    charts = sorted(path.name for path in tmp_path.glob("*.svg"))
    assert len(charts) == 4 and "smr-network-chart.svg" in charts
    assert all(path.read_text().lstrip().startswith("<?xml") for path in tmp_path.glob("*.svg"))
    # The PDSA cycle that adopted the template is drawn where the series shifts: at week 17
    # of 24, where the new baseline starts, not on the day the demo ran.
    chart = ElementTree.parse(tmp_path / "smr-network-chart.svg").getroot()
    weeks = path_xs(chart, "values")
    assert len(weeks) == 24
    (annotation, *_) = path_xs(chart, "annotation-0")
    assert annotation == pytest.approx(weeks[16], abs=0.5)
    assert path_xs(chart, "mean-1")[0] == pytest.approx(weeks[16], abs=0.5)
    assert "PDSA: shared SMR template (adopt)" in (tmp_path / "smr-network-chart.svg").read_text()
    # The network lead's pages, as Chromium showed them.
    assert f"screenshots: {', '.join(str(tmp_path / name) for name in SCREENSHOTS)}" in out
    for name in SCREENSHOTS:
        size = png_size(tmp_path / name)
        assert size is not None, f"{name} is not a PNG"
        width, height = size
        assert width == 1280 and 600 <= height <= 4000, f"{name} is {width}x{height}"
        assert (tmp_path / name).stat().st_size > 20_000, f"{name} is nearly empty"
    assert "Priya Shah signed in" in out
    # The pages the demo saves are the ones it says: their titles as Chromium read them.
    assert "web-huddle-board.png: Huddle board: pharmacy" in out
    assert "web-submission-error.png: Error: This week's submissions" in out
    assert "web-training-pyramid.png: Capability of the network" in out
    assert "progress score: 3.0 set by the lead (suggested 3.0)" in out
    assert not any(answering(port) for port in ports), "a process the demo started still runs"
