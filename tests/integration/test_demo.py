"""The main job, as the README's first command runs it: ``python -m tools.demo`` starts the
four services as local processes on the local RabbitMQ (none answer on their ports in a test
run), tells the whole story, saves the charts and stops what it started."""
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from services import registry

REPO_ROOT = Path(__file__).resolve().parents[2]


def answering(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(300)
def test_the_demo_tells_the_whole_story_and_stops_what_it_started(tmp_path):
    ports = [service.port for service in registry.existing()]
    if any(answering(port) for port in ports):
        pytest.skip("services already answer on the demo's ports (make dev?): the demo would "
                    "use them rather than start its own")
    done = subprocess.run([sys.executable, "-m", "tools.demo", "--charts", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "gap closed" in out and "read with their own person key (1 unread)" in out
    assert "[chart attached inline]" in out  # the signal mail, with measurement's chart
    assert "SPC after the rebase: variation common_cause" in out
    assert "stopped the services the demo started: projects, measurement, training, " \
           "notifications" in out
    charts = sorted(path.name for path in tmp_path.glob("*.svg"))
    assert len(charts) == 4 and "smr-network-chart.svg" in charts
    assert all(path.read_text().lstrip().startswith("<?xml") for path in tmp_path.glob("*.svg"))
    assert not any(answering(port) for port in ports), "a service the demo started still runs"
