"""``pcnqi`` against the real projects and measurement services on the real broker: a
1,000-row upload killed half-way and run again stores every row exactly once and pools them
exactly; a file with a bad row names its line and stores nothing; the README's examples that
need the service run as written. Every period is a fixed date in the past, so no test here
depends on the day it runs."""
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from analytics import cli
from analytics.spc import analyse
from analytics.spc.verdict import verdict
from services.measurement.domain import align_period
from tests.helpers import wait_until
from tests.integration.conftest import network_project
from tests.unit.analytics import readme_examples

REPO_ROOT = Path(__file__).resolve().parents[2]
PRACTICES = tuple(f"F84{i:03d}" for i in range(1, 21))
WEEKS = 50  # 20 practices x 50 weeks = 1,000 rows
ROWS_PER_CHUNK = 50
CHUNKS_BEFORE_THE_KILL = 10  # the 10th chunk is stored, but its answer never arrives
LAST_WEEK = date(2025, 11, 24)  # a Monday in the past, whatever the day the tests run


@pytest.fixture
def smr_measure(admin, network, measurement):
    """A network project on eight practices with a weekly proportion measure; the lead's key
    for the measurement service."""
    for code in PRACTICES[2:]:
        response = admin.post("/practices", {"ods_code": code, "name": f"Practice {code}",
                                             "network_id": "north-pcn"})
        assert response.status_code == 201, response.text
    project = network_project(network["lead"], PRACTICES).json()
    lead = measurement.as_key(network["lead"].key)
    assert wait_until(lambda: lead.get(f"/projects/{project['id']}/measures").status_code == 200)
    response = lead.post(f"/projects/{project['id']}/measures", {
        "name": "SMRs completed to the standard template", "type": "process",
        "value_kind": "proportion", "unit": "share of SMRs", "frequency": "week",
        "operational_definition": "SMRs using every section of the template over all SMRs",
        "improvement": "increase", "target": 0.6})
    assert response.status_code == 201, response.text
    return response.json()["id"], lead


def smr_counts(week_index, practice_index):
    total = 20 + practice_index * 7 + week_index % 5
    return (week_index * 3 + practice_index) % (total + 1), total


def write_upload(path, weeks=WEEKS):
    """The network lead's CSV: one row per practice and week; returns {period: (Σn, Σd)}."""
    lines, sums = ["period,practice,numerator,denominator"], {}
    for week_index in range(weeks):
        # any day of the week: the service aligns it to its Monday
        day = LAST_WEEK - timedelta(weeks=weeks - week_index) + timedelta(days=week_index % 7)
        period = align_period(day, "week").isoformat()
        for practice_index, code in enumerate(PRACTICES):
            numerator, denominator = smr_counts(week_index, practice_index)
            lines.append(f"{day.isoformat()},{code},{numerator},{denominator}")
            n, d = sums.get(period, (0, 0))
            sums[period] = (n + numerator, d + denominator)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sums


class AnswerLosingProxy:
    """Forwards to the measurement service; after forwarding the ``lose_after``-th batch it
    holds that answer back (the service has stored the chunk, the client never learns) and
    sets ``held`` so the test can kill the client there."""

    def __init__(self, target, lose_after):
        self.held, self.release, self.batches = threading.Event(), threading.Event(), 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k in ("Authorization", "Idempotency-Key", "Content-Type")}
                answer = requests.request(self.command, f"http://{target}{self.path}",
                                          data=body, headers=headers, timeout=30)
                if self.command == "POST" and self.path == "/submissions/batch":
                    proxy.batches += 1
                    if proxy.batches >= lose_after:
                        proxy.held.set()
                        proxy.release.wait(60)
                        self.close_connection = True
                        return
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def start_pcnqi(tmp_path, name, api_url, key, *argv):
    """``pcnqi`` as its own process; output to files (the services answer it from this
    process, so nothing here may block on a pipe)."""
    out, err = open(tmp_path / f"{name}.out", "w"), open(tmp_path / f"{name}.err", "w")
    env = {**os.environ, "PCN_API_URL": api_url, "PCN_API_KEY": key}
    process = subprocess.Popen([sys.executable, "-m", "analytics.cli", *argv],
                               cwd=REPO_ROOT, env=env, stdout=out, stderr=err)
    out.close(), err.close()
    return process


def finish(process, tmp_path, name, timeout=120):
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # a green sleep: the services in this process keep answering
    if process.poll() is None:
        process.kill()
        process.wait()
        pytest.fail(f"pcnqi {name} did not finish in {timeout} s")
    return (process.returncode, (tmp_path / f"{name}.out").read_text(),
            (tmp_path / f"{name}.err").read_text())


def stored_rows(lead, measure_id):
    body = lead.get(f"/measures/{measure_id}/submissions?page_size=1").json()
    return body["total"]


def all_submissions(lead, measure_id):
    items, page = [], 1
    while True:
        body = lead.get(f"/measures/{measure_id}/submissions?page={page}&page_size=200").json()
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            return items
        page += 1


# about 40 s on an idle machine; the pooled handler's 1,000 events are most of it
@pytest.mark.timeout(240)
def test_an_upload_killed_half_way_and_run_again_stores_every_row_once(
        smr_measure, measurement_config, tmp_path, capsys):
    measure_id, lead = smr_measure
    upload = tmp_path / "smr.csv"
    expected = write_upload(upload)
    argv = ("submit", "--measure", measure_id, str(upload), "--chunk-size", str(ROWS_PER_CHUNK))

    proxy = AnswerLosingProxy(measurement_config["WEB_SERVER_ADDRESS"], CHUNKS_BEFORE_THE_KILL)
    try:
        first = start_pcnqi(tmp_path, "first", proxy.url, lead.key, *argv)
        assert proxy.held.wait(60), (tmp_path / "first.err").read_text()
        first.kill()  # half-way, while the 10th chunk's answer is on its way
        first.wait()
    finally:
        proxy.close()
    assert first.returncode == -9
    assert stored_rows(lead, measure_id) == CHUNKS_BEFORE_THE_KILL * ROWS_PER_CHUNK

    second = start_pcnqi(tmp_path, "second", f"http://{measurement_config['WEB_SERVER_ADDRESS']}",
                         lead.key, *argv)
    status, out, err = finish(second, tmp_path, "second")
    assert status == 0, err
    stored_before = CHUNKS_BEFORE_THE_KILL * ROWS_PER_CHUNK
    assert out.strip() == (
        f"1000 of 1000 rows stored in 20 chunk(s): {1000 - stored_before} created, "
        f"0 corrected, 0 unchanged; {stored_before} row(s) in {CHUNKS_BEFORE_THE_KILL} chunk(s) "
        "were already stored by an earlier run of this file (if another file changed them "
        "since, run again with --resend)")
    assert "1000/1000 rows (100%)" in err  # the progress bar, on stderr

    submissions = all_submissions(lead, measure_id)
    assert len(submissions) == 1000
    assert {s["version"] for s in submissions} == {1}  # nothing applied twice
    assert {(s["practice_id"], s["period"]) for s in submissions} == {
        (code, period) for period in expected for code in PRACTICES}

    def pooled_complete():
        periods = lead.get(f"/measures/{measure_id}/pooled").json()["periods"]
        complete = len(periods) == WEEKS and all(
            p["practices_submitted"] == len(PRACTICES) for p in periods)
        return complete and periods

    periods = wait_until(pooled_complete, timeout=120)
    assert periods, "the pooled series did not absorb every row"
    for period in periods:
        numerator, denominator = expected[period["period"]]
        assert (period["numerator"], period["denominator"]) == (numerator, denominator)
        assert period["value"] == numerator / denominator

    # the service's analysis and chart of it, through pcnqi
    api = ["--api", f"http://{measurement_config['WEB_SERVER_ADDRESS']}"]
    capsys.readouterr()
    assert cli.main(["spc", "--measure", measure_id, *api, "--format", "json"],
                    {"PCN_API_KEY": lead.key}) == 0
    assert json.loads(capsys.readouterr().out) == lead.get(f"/measures/{measure_id}/spc").json()
    chart = tmp_path / "pooled.svg"
    assert cli.main(["chart", "--measure", measure_id, *api, "-o", str(chart)],
                    {"PCN_API_KEY": lead.key}) == 0
    assert chart.read_bytes() == lead.get(f"/measures/{measure_id}/chart.svg").content

    # the same command once more: every chunk is a replay, nothing changes
    third = start_pcnqi(tmp_path, "third", f"http://{measurement_config['WEB_SERVER_ADDRESS']}",
                        lead.key, *argv, "--no-progress")
    status, out, err = finish(third, tmp_path, "third")
    assert status == 0 and err == ""
    assert "0 created, 0 corrected, 0 unchanged; 1000 row(s) in 20 chunk(s)" in out
    assert stored_rows(lead, measure_id) == 1000


def test_a_file_with_a_bad_row_names_its_line_and_stores_nothing(
        smr_measure, measurement_config, tmp_path):
    measure_id, lead = smr_measure
    api_url = f"http://{measurement_config['WEB_SERVER_ADDRESS']}"
    upload = tmp_path / "smr.csv"
    write_upload(upload, weeks=10)
    lines = upload.read_text().splitlines()

    # found by pcnqi itself: nothing is sent
    bad_locally = tmp_path / "bad-locally.csv"
    period, code, _, denominator = lines[40].split(",")
    too_many = int(denominator) + 1
    bad_locally.write_text("\n".join(lines[:40] + [f"{period},{code},{too_many},{denominator}"]
                                     + lines[41:]) + "\n")
    status, out, err = finish(start_pcnqi(tmp_path, "local", api_url, lead.key, "submit",
                                          "--measure", measure_id, str(bad_locally)),
                              tmp_path, "local")
    assert status == 1 and out == ""
    assert f"line 41: numerator: {too_many} is more than the denominator {denominator}" in err
    assert "nothing was sent" in err

    # found by the service (a practice outside the project): named by line, chunk not stored
    bad_remotely = tmp_path / "bad-remotely.csv"
    period, _, numerator, denominator = lines[20].split(",")
    bad_remotely.write_text("\n".join(lines[:20] + [f"{period},F84099,{numerator},{denominator}"]
                                      + lines[21:]) + "\n")
    status, out, err = finish(start_pcnqi(tmp_path, "remote", api_url, lead.key, "submit",
                                          "--measure", measure_id, str(bad_remotely)),
                              tmp_path, "remote")
    assert status == 1
    assert out.strip() == "0 of 200 rows stored in 1 chunk(s): 0 created, 0 corrected, 0 unchanged"
    assert ("line 21: practice: F84099 does not take part in this measure's project"
            in err), err
    assert stored_rows(lead, measure_id) == 0

    # an unknown measure and a wrong key: exit statuses scripts can rely on
    status, _, err = finish(start_pcnqi(tmp_path, "unknown", api_url, lead.key, "submit",
                                        "--measure", "msr_nope", str(upload)),
                            tmp_path, "unknown")
    assert status == 4 and "HTTP 404" in err
    status, _, err = finish(start_pcnqi(tmp_path, "badkey", api_url, "pcn_not_a_key", "spc",
                                        "--measure", measure_id), tmp_path, "badkey")
    assert status == 3 and "HTTP 401" in err


def test_the_readme_examples_that_need_the_service_run_as_written(
        smr_measure, network, measurement, measurement_config, tmp_path, monkeypatch, capsys):
    """The README's ``export``, ``submit``, ``spc --measure`` and ``chart --measure`` lines, in
    order, with F84001's key (a practice's rows), the measure's id and the service's address
    put in place of the README's placeholders; run in this process, in a folder holding
    weekly.csv."""
    measure_id, lead = smr_measure
    practice = measurement.as_key(network["F84001"].key)
    real = {readme_examples.MEASURE_ID: measure_id, readme_examples.API_KEY: practice.key,
            readme_examples.API_URL: f"http://{measurement_config['WEB_SERVER_ADDRESS']}"}
    weeks = [LAST_WEEK - timedelta(weeks=20 - i) for i in range(20)]
    counts = [(30 + i % 5, 50) for i in range(20)]
    (tmp_path / "weekly.csv").write_text("period,numerator,denominator\n" + "".join(
        f"{week},{n},{d}\n" for week, (n, d) in zip(weeks, counts)), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    environ, ran = {}, []
    for line, words in readme_examples.commands():
        if not readme_examples.needs_the_service(words):
            continue  # run by tests/unit/analytics/test_readme_examples.py
        words = [real.get(word, word) for word in words]
        if words[0] == "export":
            environ.update({name: real.get(value, value)
                            for name, value in readme_examples.exported(words).items()})
            continue
        for name in readme_examples.input_files(words):
            assert (tmp_path / name).exists(), f"the README names {name}: write it here"
        if words[1] == "chart":  # the pooled series is made from events: wait for it
            assert wait_until(lambda: len(practice.get(
                f"/measures/{measure_id}/pooled").json()["periods"]) == len(weeks))
        assert cli.main(words[1:], environ, today=LAST_WEEK) == 0, capsys.readouterr().err
        ran.append((words[1], capsys.readouterr().out))
        if "-o" in words:
            assert (tmp_path / words[words.index("-o") + 1]).stat().st_size > 1000

    assert [command for command, _ in ran] == ["submit", "spc", "chart"]
    assert ran[0][1].startswith("20 of 20 rows stored in 1 chunk(s): 20 created")
    assert environ == {"PCN_API_URL": real[readme_examples.API_URL], "PCN_API_KEY": practice.key}
    analysis = analyse(weeks, [n / d for n, d in counts], improvement="increase", target=0.6)
    assert ran[1][1].splitlines()[0] == verdict(analysis, 0.6)
