"""Tests of the ``pcnqi`` commands (analytics.cli) that need no service: spc and
chart on a CSV file, reading and checking submission files, chunks, idempotency keys, and
mapping the service's refusals back to the file's lines."""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import json
import re
import socket
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from analytics import charts, cli
from analytics.cli import service_api
from analytics.cli import main
from analytics.spc import POINT_FIELDS, analyse

REPO_ROOT = Path(__file__).resolve().parents[3]
START = date(2024, 1, 1)

# 19 points alternating 10/12 then 30: mean 11.9, limits 6.58 / 17.22 (the MR
# of 20 is screened out); 30 is above the upper limit.
ABOVE = [10, 12] * 9 + [10, 30]


def write_csv(tmp_path, rows, header="date,value", name="series.csv"):
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return str(path)


def series_rows(values, start=START):
    return [f"{(start + timedelta(weeks=i)).isoformat()},{v}" for i, v in enumerate(values)]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #
def test_json_output(tmp_path, capsys):
    path = write_csv(tmp_path, series_rows(ABOVE))
    code, out, err = run_cli(capsys, "spc", path, "--improvement", "increase", "--target", "5",
                             "--format", "json")
    assert code == 0
    assert err == ""
    data = json.loads(out)
    assert set(data) == {"points", "variation_type", "assurance_type"}
    assert data["variation_type"] == "special_cause_improvement"
    assert data["assurance_type"] == "consistent_pass"  # 5 < lpl 6.58
    assert len(data["points"]) == 20
    last = data["points"][-1]
    assert last["date"] == "2024-05-13"
    assert last["value"] == 30.0
    assert last["mean"] == pytest.approx(11.9)
    assert last["lpl"] == pytest.approx(6.58)
    assert last["upl"] == pytest.approx(17.22)
    assert last["rebase_group"] == 0
    assert last["relative_to_mean"] == 1
    assert last["outside_limits"] is True
    assert last["close_to_limits"] is False
    assert last["special_cause_type"] == "Above UCL"
    assert last["point_type"] == "special_cause_improvement"
    assert last["rules"] == ["outside_limits"]
    # the CLI output is exactly the engine's to_dict()
    dates = [START + timedelta(weeks=i) for i in range(20)]
    assert data == analyse(dates, [float(v) for v in ABOVE], target=5).to_dict()


def test_csv_output(tmp_path, capsys):
    path = write_csv(tmp_path, series_rows(ABOVE))
    code, out, err = run_cli(
        capsys, "spc", path, "--improvement", "decrease", "--format", "csv"
    )
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == POINT_FIELDS
    assert len(rows) == 21
    first = dict(zip(rows[0], rows[1]))
    assert first["date"] == "2024-01-01"
    assert first["value"] == "10.0"
    assert float(first["mean"]) == pytest.approx(11.9)
    assert first["relative_to_mean"] == "-1"
    assert first["outside_limits"] == "false"
    assert first["special_cause_type"] == "Common Cause"
    assert first["point_type"] == "common_cause"
    assert first["rules"] == ""
    last = dict(zip(rows[0], rows[-1]))
    assert last["outside_limits"] == "true"
    assert last["point_type"] == "special_cause_concern"
    assert last["rules"] == "outside_limits"


def test_missing_values_and_short_group_warning(tmp_path, capsys):
    path = write_csv(tmp_path, series_rows([10, 12, "NA", 12, "", 12, 10]))
    code, out, err = run_cli(capsys, "spc", path, "--improvement", "neutral", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [p["value"] for p in data["points"]] == [10.0, 12.0, None, 12.0, None, 12.0, 10.0]
    assert data["points"][2]["relative_to_mean"] is None
    assert data["points"][2]["outside_limits"] is None
    assert data["assurance_type"] is None
    assert "warning" in error_line(err) and "n < 12" in err


def test_options_are_passed_through(tmp_path, capsys):
    # two groups of 14: [10, 12] * 6 + [20, 20] and [30, 34] * 6 + [40, 40];
    # fixed on the first 12 points of each group: means 11 and 32
    values = [10, 12] * 6 + [20, 20] + [30, 34] * 6 + [40, 40]
    path = write_csv(tmp_path, series_rows(values))
    rebase = (START + timedelta(weeks=14)).isoformat()
    code, out, err = run_cli(
        capsys, "spc", path, "--improvement", "increase", "--fix-after", "12",
        "--rebase", rebase, "--rebase", "2000-01-01", "--no-screen-outliers", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    points = json.loads(out)["points"]
    assert [p["rebase_group"] for p in points] == [0] * 14 + [1] * 14
    assert {p["mean"] for p in points[:14]} == {11.0}
    assert {p["mean"] for p in points[14:]} == {32.0}
    assert points[12]["special_cause_type"] == "Above UCL"  # 20 > 16.32


def test_extra_columns_and_bom_are_accepted(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_text(
        "\ufeffpractice, value ,date\nA,1,2024-01-01\nA,2,2024-01-08\n", encoding="utf-8"
    )
    code, out, _ = run_cli(capsys, "spc", str(path), "--improvement", "increase", "--format", "json")
    assert code == 0
    assert [p["value"] for p in json.loads(out)["points"]] == [1.0, 2.0]


def test_empty_series_gives_empty_output(tmp_path, capsys):
    path = write_csv(tmp_path, [])
    code, out, _ = run_cli(capsys, "spc", path, "--improvement", "increase", "--format", "json")
    assert code == 0
    assert json.loads(out) == {"points": [], "variation_type": None, "assurance_type": None}


# --------------------------------------------------------------------------- #
# Errors: one line on stderr; exit status 1 for a refused file, 2 for bad arguments
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "rows, header, expected",
    [
        (["2024-01-01,1", "2024-01-08,abc"], "date,value", "line 3: field 'value': 'abc' is not a number"),
        (["2024-01-01,1", "2024-13-08,2"], "date,value", "line 3: field 'date': '2024-13-08' is not a valid date"),
        (["2024-01-01,1", "08/01/2024,2"], "date,value", "line 3: field 'date': '08/01/2024' is not an ISO date"),
        (["2024-01-01,1", "20240108,2"], "date,value", "line 3: field 'date'"),
        (["2024-01-08,1", "2024-01-01,2"], "date,value", "line 3: field 'date': 2024-01-01 comes before 2024-01-08 on line 2"),
        (["2024-01-01,1", "2024-01-08,2", "2024-01-01,3"], "date,value", "line 4: field 'date': duplicate date 2024-01-01 (also on line 2)"),
        (["2024-01-01,1", "2024-01-08,inf"], "date,value", "line 3: field 'value': 'inf' is not finite"),
        (["2024-01-01,1", "2024-01-08"], "date,value", "line 3: field 'value': missing"),
        (["2024-01-01,1"], "date,amount", "line 1: missing column(s) 'value'"),
        (["2024-01-01,1"], "day,value", "line 1: missing column(s) 'period'"),
    ],
)
def test_bad_input_file(tmp_path, capsys, rows, header, expected):
    path = write_csv(tmp_path, rows, header=header)
    code, out, err = run_cli(capsys, "spc", path, "--improvement", "increase")
    assert code == 1
    assert out == ""
    line = error_line(err)
    assert line.startswith("pcnqi spc: error: ")
    assert path in line
    assert expected in line


def test_missing_file(tmp_path, capsys):
    missing = str(tmp_path / "nope.csv")
    code, out, err = run_cli(capsys, "spc", missing, "--improvement", "increase")
    assert code == 1 and out == ""
    line = error_line(err)
    assert "cannot read" in line and "nope.csv" in line and "No such file" in line


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    code, _, err = run_cli(capsys, "spc", str(path), "--improvement", "increase")
    assert code == 1
    assert "line 1: empty file" in error_line(err)


def test_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"date,value\n2024-01-01,\xe91\n")
    code, _, err = run_cli(capsys, "spc", str(path), "--improvement", "increase")
    assert code == 1
    assert "not UTF-8" in error_line(err)


def test_analysis_error_is_reported(tmp_path, capsys):
    # R stops on a missing value inside a 7-point rising window
    path = write_csv(tmp_path, series_rows([1, 2, 3, "NA", 5, 6, 7]))
    code, out, err = run_cli(capsys, "spc", path, "--improvement", "increase")
    assert code == 1 and out == ""
    line = error_line(err)
    assert "missing value in the 7-point trend window ending 2024-02-12" in line


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--improvement", "up"], "invalid choice: 'up'"),
        ([], "the following arguments are required: --improvement"),
        (["--improvement", "increase", "--fix-after", "5"], "must be at least 12"),
        (["--improvement", "increase", "--fix-after", "x"], "not a whole number"),
        (["--improvement", "increase", "--target", "abc"], "'abc' is not a number"),
        (["--improvement", "increase", "--target", "nan"], "not a finite number"),
        (["--improvement", "increase", "--rebase", "2024-02-30"], "not a valid date"),
        (["--improvement", "increase", "--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, capsys, extra, expected):
    path = write_csv(tmp_path, series_rows(ABOVE))
    code, out, err = run_cli(capsys, "spc", path, *extra)
    assert code == 2
    assert out == ""
    assert expected in err


def test_no_command_and_help(capsys):
    assert main([]) == 2
    assert "required" in capsys.readouterr().err
    assert main(["spc", "--help"]) == 0
    assert "--no-screen-outliers" in capsys.readouterr().out


def test_runs_as_a_module(tmp_path):
    path = write_csv(tmp_path, series_rows(ABOVE))
    proc = subprocess.run(
        [sys.executable, "-m", "analytics.cli", "spc", path,
         "--improvement", "increase", "--format", "csv"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == ",".join(POINT_FIELDS)
    bad = subprocess.run(
        [sys.executable, "-m", "analytics.cli", "spc", str(tmp_path / "x.csv"),
         "--improvement", "increase"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "cannot read" in bad.stderr


# --------------------------------------------------------------------------- #
# chart FILE.csv: the service's chart code, locally
# --------------------------------------------------------------------------- #
def test_chart_from_a_file_is_the_services_drawing(tmp_path, capsys):
    path = write_csv(tmp_path, series_rows(ABOVE))
    out_svg = tmp_path / "chart.svg"
    code, out, err = run_cli(capsys, "chart", path, "--improvement", "increase",
                             "--target", "5", "--title", "Repeat attendances", "-o", str(out_svg))
    assert code == 0, err
    assert str(out_svg) in out
    dates = [START + timedelta(weeks=i) for i in range(20)]
    expected = charts.render_chart(analyse(dates, [float(v) for v in ABOVE], target=5),
                                   title="Repeat attendances", target=5, fmt="svg")
    assert out_svg.read_bytes() == expected  # SVG bytes are deterministic
    out_png = tmp_path / "chart.PNG"
    code, _, err = run_cli(capsys, "chart", path, "--improvement", "decrease", "-o", str(out_png))
    assert code == 0, err
    assert out_png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "extra, status, expected",
    [
        (["-o", "chart.pdf", "--improvement", "increase"], 2, "name a .svg or .png file"),
        (["-o", "chart.svg"], 2, "the following arguments are required: --improvement"),
        ([], 2, "the following arguments are required: -o/--output"),
        (["-o", "chart.svg", "--improvement", "increase", "--practice", "F84001"], 2,
         "--practice and --api go with --measure"),
        (["-o", "no-such-dir/chart.svg", "--improvement", "increase"], 1, "cannot write"),
    ],
)
def test_chart_refusals(tmp_path, capsys, monkeypatch, extra, status, expected):
    monkeypatch.chdir(tmp_path)
    path = write_csv(tmp_path, series_rows(ABOVE))
    code, out, err = run_cli(capsys, "chart", path, *extra)
    assert code == status
    assert expected in err


def test_file_and_measure_exclude_each_other(tmp_path, capsys):
    path = write_csv(tmp_path, series_rows(ABOVE))
    code, _, err = run_cli(capsys, "spc", path, "--measure", "msr_1", "--improvement", "increase")
    assert code == 2 and "either FILE.csv or --measure" in err
    code, _, err = run_cli(capsys, "spc")
    assert code == 2 and "either FILE.csv or --measure" in err
    env = {"PCN_API_KEY": "pcn_x"}
    code = main(["spc", "--measure", "msr_1", "--target", "3", "--no-screen-outliers"], env)
    err = capsys.readouterr().err
    assert code == 2 and "--target, --no-screen-outliers: not with --measure" in err


def test_help_shows_an_example_of_every_command_and_the_exit_statuses(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for example in ("pcnqi spc smr.csv", "pcnqi chart smr.csv", "pcnqi submit --measure",
                    "pcnqi spc --measure", "pcnqi chart --measure"):
        assert example in text
    for code, _ in cli.EXIT_STATUSES:
        assert f"  {code}  " in text
    for command in ("spc", "chart", "submit"):
        assert main([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert f"pcnqi {command} " in text.split("examples:")[-1].split("example:")[-1]
        assert "exit status:" in text


# --------------------------------------------------------------------------- #
# submit: reading and checking the file
# --------------------------------------------------------------------------- #
PROPORTION = {"id": "msr_smr", "value_kind": "proportion", "frequency": "week"}
COUNT = {"id": "msr_dna", "value_kind": "count", "frequency": "month"}
TODAY = date(2026, 11, 28)


def write_text(tmp_path, text, name="rows.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_submission_file_is_read_with_its_lines(tmp_path):
    path = write_text(tmp_path, "period,practice,numerator,denominator\n"
                                "2026-01-05,F84001,3,10\n"
                                "\n"
                                "2026-01-05,F84002,4,8\n"
                                "2026-01-14,F84001,5,10\n")
    lines, digest = cli.read_submissions(path, PROPORTION, TODAY)
    assert [(s.line, s.period, s.practice_id, s.numerator, s.denominator) for s in lines] == [
        (2, date(2026, 1, 5), "F84001", 3.0, 10.0),
        (4, date(2026, 1, 5), "F84002", 4.0, 8.0),
        (5, date(2026, 1, 14), "F84001", 5.0, 10.0),
    ]
    assert lines[2].to_row("msr_smr") == {"measure_id": "msr_smr", "period": "2026-01-14",
                                          "practice_id": "F84001", "numerator": 5.0,
                                          "denominator": 10.0}
    assert digest == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    # without a practice column the rows are the key's own practice's
    path = write_text(tmp_path, "\ufeffvalue,period\n4,2026-01-01\n0,2026-02-01\n", "own.csv")
    lines, _ = cli.read_submissions(path, COUNT, TODAY)
    assert [s.to_row("msr_dna") for s in lines] == [
        {"measure_id": "msr_dna", "period": "2026-01-01", "value": 4.0},
        {"measure_id": "msr_dna", "period": "2026-02-01", "value": 0.0}]


def refusal_of(tmp_path, text, measure=PROPORTION):
    with pytest.raises(cli.FileRefused) as refused:
        cli.read_submissions(write_text(tmp_path, text), measure, TODAY)
    return [str(error) for error in refused.value.errors]


@pytest.mark.parametrize(
    "header, measure, expected",
    [
        ("period,value", PROPORTION, ["line 1: numerator: missing column",
                                      "line 1: denominator: missing column",
                                      "line 1: value: a proportion is given as numerator and "
                                      "denominator"]),
        ("date,numerator,denominator", PROPORTION, [
            "line 1: period: missing column",
            "line 1: date: unknown column; the columns are period, practice, practice_id, "
            "numerator, denominator"]),
        ("period,numerator,denominator", COUNT, [
            "line 1: value: missing column",
            "line 1: numerator: a count is given as value",
            "line 1: denominator: a count is given as value"]),
        ("period,practice,practice_id,value", COUNT, ["line 1: header: a column appears twice"]),
    ],
)
def test_submission_file_header_refused(tmp_path, header, measure, expected):
    assert refusal_of(tmp_path, header + "\n", measure) == expected


def test_every_bad_row_is_named_by_line_and_column(tmp_path):
    errors = refusal_of(tmp_path, "period,practice,numerator,denominator\n"
                                  "2026-01-05,F84001,3,10\n"      # 2: fine
                                  "2026-01-12,F84001,abc,10\n"    # 3: not a number
                                  "12/01/2026,F84001,3,10\n"      # 4: not ISO
                                  "2026-02-30,F84001,3,10\n"      # 5: no such day
                                  "2026-01-19,f84001,3,10\n"      # 6: not an ODS code
                                  "2026-01-26,F84001,11,10\n"     # 7: numerator > denominator
                                  "2026-01-07,F84001,2,10\n"      # 8: same week as line 2
                                  "2026-01-07,F84002,2,10\n"      # 9: another practice: fine
                                  "2026-12-28,F84001,2,10\n"      # 10: in the future
                                  "1999-12-20,F84001,2,10\n"      # 11: before 2000
                                  "2026-02-02,F84001,,10\n"       # 12: numerator missing
                                  "2026-02-09,F84001,1,inf\n"     # 13: not finite
                                  "2026-02-16,F84001,1,10,9\n")   # 14: a cell too many
    assert errors == [
        "line 3: numerator: 'abc' is not a number",
        "line 4: period: '12/01/2026' is not an ISO date (YYYY-MM-DD)",
        "line 5: period: '2026-02-30' is not a valid date",
        "line 6: practice: 'f84001' is not an ODS practice code such as F84001",
        "line 7: numerator: 11 is more than the denominator 10",
        "line 8: period: F84001 in the period starting 2026-01-05 is also on line 2",
        "line 10: period: the period starting 2026-12-28 is in the future",
        "line 11: period: 1999-12-20 is before 2000-01-01",
        "line 12: numerator: required for a proportion",
        "line 13: denominator: 'inf' is not finite",
        "line 14: row: 5 cells for 4 columns",
    ]


def test_count_rows_are_checked_as_counts(tmp_path):
    errors = refusal_of(tmp_path, "period,value\n2026-01-01,2.5\n2026-02-01,-1\n"
                                  "2026-02-15,3\n2026-03-01,2e12\n", COUNT)
    assert errors == ["line 2: value: a count is a whole number, not negative",
                      "line 3: value: a count is a whole number, not negative",
                      "line 4: period: the period starting 2026-02-01 is also on line 3",
                      "line 5: value: 2e+12 is beyond ±1e+12"]


# --------------------------------------------------------------------------- #
# submit: chunks, idempotency keys, refusals mapped to lines
# --------------------------------------------------------------------------- #
def weekly_file(tmp_path, weeks, practices=("F84001", "F84002"), name="weekly.csv"):
    rows = [f"{(date(2016, 1, 4) + timedelta(weeks=w)).isoformat()},{code},{w % 7},10"
            for w in range(weeks) for code in practices]
    return write_text(tmp_path, "period,practice,numerator,denominator\n" + "\n".join(rows)
                      + "\n", name)


def test_chunks_cover_the_file_in_order(tmp_path):
    lines, digest = cli.read_submissions(weekly_file(tmp_path, 500), PROPORTION, TODAY)
    chunks = cli.make_chunks("msr_smr", lines, digest, 250)
    assert [len(c.lines) for c in chunks] == [250, 250, 250, 250]
    assert [(c.first_line, c.last_line) for c in chunks] == [
        (2, 251), (252, 501), (502, 751), (752, 1001)]
    assert [len(json.loads(c.body)["rows"]) for c in chunks] == [250] * 4
    assert json.loads(chunks[1].body)["rows"][0] == lines[250].to_row("msr_smr")
    assert len({c.idempotency_key for c in chunks}) == 4
    assert [len(c.lines) for c in cli.make_chunks("msr_smr", lines, digest, 300)] == [
        300, 300, 300, 100]
    with pytest.raises(ValueError):
        cli.make_chunks("msr_smr", lines, digest, 1001)


KEYS_SCRIPT = """
import sys
from datetime import date
from analytics import cli
lines, digest = cli.read_submissions(sys.argv[1], {"value_kind": "proportion",
                                                   "frequency": "week"}, date(2026, 11, 28))
print(" ".join(c.idempotency_key for c in cli.make_chunks("msr_smr", lines, digest, 40)))
"""


def test_idempotency_keys_are_the_same_in_every_run(tmp_path):
    path = weekly_file(tmp_path, 50)
    lines, digest = cli.read_submissions(path, PROPORTION, TODAY)
    keys = [c.idempotency_key for c in cli.make_chunks("msr_smr", lines, digest, 40)]
    # another process (another hash seed) derives the same keys from the same file
    other_run = subprocess.run([sys.executable, "-c", KEYS_SCRIPT, path], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=60,
                               env={"PYTHONHASHSEED": "12345"})
    assert other_run.returncode == 0, other_run.stderr
    assert other_run.stdout.split() == keys
    assert all(re.fullmatch(r"pcnqi-[0-9a-f]{40}", key) for key in keys)
    # another measure, or a changed file, gives other keys
    assert not set(keys) & {c.idempotency_key
                            for c in cli.make_chunks("msr_other", lines, digest, 40)}
    changed = Path(path).read_text().replace("2016-01-04,F84001,0,10", "2016-01-04,F84001,1,10")
    lines2, digest2 = cli.read_submissions(write_text(tmp_path, changed, "changed.csv"),
                                           PROPORTION, TODAY)
    assert not set(keys) & {c.idempotency_key
                            for c in cli.make_chunks("msr_smr", lines2, digest2, 40)}


def test_refused_rows_are_mapped_to_the_files_lines(tmp_path):
    lines, digest = cli.read_submissions(weekly_file(tmp_path, 10), PROPORTION, TODAY)
    second = cli.make_chunks("msr_smr", lines, digest, 8)[1]  # rows 8..15: lines 10..17
    errors = cli.refused_rows(second, {
        "rows.3.practice_id": ["F84002 does not take part in this measure's project"],
        "rows.0.period": ["the period starting 2016-02-01 is in the future"],
        "rows": ["Longer than maximum length 1000."],
    })
    assert [str(e) for e in errors] == [
        "line 10: period: the period starting 2016-02-01 is in the future",
        "line 10: rows: Longer than maximum length 1000. (lines 10-17)",
        "line 13: practice: F84002 does not take part in this measure's project",
    ]


def test_progress_bar(capsys):
    stream = io.StringIO()
    progress = cli.Progress(1000, stream)
    progress.show(250)
    progress.show(1000)
    assert stream.getvalue().splitlines() == [
        "[#######.......................] 250/1000 rows (25%)",
        "[##############################] 1000/1000 rows (100%)"]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    progress = cli.Progress(4, terminal)
    progress.show(2)
    progress.show(4)
    assert terminal.getvalue() == ("\r[###############...............] 2/4 rows (50%)"
                                   "\r[##############################] 4/4 rows (100%)\n")
    quiet = io.StringIO()
    cli.Progress(4, quiet, enabled=False).show(2)
    assert quiet.getvalue() == ""


# --------------------------------------------------------------------------- #
# The service commands against a stand-in HTTP service
# --------------------------------------------------------------------------- #
class StandIn:
    """A tiny HTTP service: ``answers[(method, path)]`` is a list of (status, headers, body)
    given in turn (the last one repeats); every request is kept in ``requests``."""

    def __init__(self):
        self.answers, self.requests = {}, []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stand_in.requests.append((self.command, self.path, dict(self.headers), body))
                path = self.path.split("?")[0]
                queue = stand_in.answers.get((self.command, path)) or [
                    (404, {}, {"error": "not_found", "message": "no such path", "fields": {}})]
                status, headers, payload = queue.pop(0) if len(queue) > 1 else queue[0]
                if callable(payload):
                    payload = payload(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def posts(self):
        return [r for r in self.requests if r[0] == "POST"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    service = StandIn()
    yield service
    service.close()


def batch_answer(body):
    rows = json.loads(body)["rows"]
    return {"rows": len(rows), "created": len(rows), "corrected": 0, "unchanged": 0,
            "results": []}


def run_with_service(capsys, stand_in, *argv, key="pcn_practice_key"):
    env = {"PCN_API_URL": stand_in.url}
    if key:
        env["PCN_API_KEY"] = key
    code = main(list(argv), env, today=TODAY)
    out, err = capsys.readouterr()
    return code, out, err


MEASURE_ANSWER = (200, {}, {"id": "msr_smr", "value_kind": "proportion", "frequency": "week",
                            "feedback_source": None})


def test_submit_sends_every_chunk_with_its_key(tmp_path, capsys, stand_in):
    path = weekly_file(tmp_path, 50)  # 100 rows
    stand_in.answers[("GET", "/measures/msr_smr")] = [MEASURE_ANSWER]
    stand_in.answers[("POST", "/submissions/batch")] = [
        (200, {"Idempotent-Replayed": "true"}, batch_answer), (200, {}, batch_answer)]
    code, out, err = run_with_service(capsys, stand_in, "submit", "--measure", "msr_smr",
                                      path, "--chunk-size", "30")
    assert code == 0, err
    assert out.strip() == ("100 of 100 rows stored in 4 chunk(s): 70 created, 0 corrected, "
                           "0 unchanged; 30 row(s) in 1 chunk(s) were already stored by an "
                           "earlier run of this file (if another file changed them since, run "
                           "again with --resend)")
    assert err.splitlines()[-1].endswith("100/100 rows (100%)")
    lines, digest = cli.read_submissions(path, PROPORTION, TODAY)
    chunks = cli.make_chunks("msr_smr", lines, digest, 30)
    posts = stand_in.posts()
    assert [body for *_, body in posts] == [c.body for c in chunks]
    assert [headers["Idempotency-Key"] for _, _, headers, _ in posts] == [
        c.idempotency_key for c in chunks]
    assert all(headers["Authorization"] == "Bearer pcn_practice_key"
               for _, _, headers, _ in stand_in.requests)


def test_a_bad_file_sends_nothing(tmp_path, capsys, stand_in):
    path = write_text(tmp_path, "period,numerator,denominator\n2026-01-05,3,10\n"
                                "2026-01-12,3,x\n")
    stand_in.answers[("GET", "/measures/msr_smr")] = [MEASURE_ANSWER]
    code, out, err = run_with_service(capsys, stand_in, "submit", "--measure", "msr_smr", path)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"pcnqi submit: error: {path}: 1 problem(s); nothing was sent",
        f"pcnqi submit: error: {path}: line 3: denominator: 'x' is not a number"]
    assert stand_in.posts() == []


def test_rows_the_service_refuses_are_named_by_line(tmp_path, capsys, stand_in):
    path = weekly_file(tmp_path, 10)  # 20 rows, lines 2..21
    refusal = {"error": "validation_failed", "message": "1 of 10 rows are invalid",
               "fields": {"rows.4.practice_id": ["F84002 does not take part"]}}
    stand_in.answers[("GET", "/measures/msr_smr")] = [MEASURE_ANSWER]
    stand_in.answers[("POST", "/submissions/batch")] = [
        (200, {}, batch_answer), (422, {}, refusal)]
    code, out, err = run_with_service(capsys, stand_in, "submit", "--measure", "msr_smr",
                                      path, "--chunk-size", "10", "--no-progress")
    assert code == 1
    assert out.startswith("10 of 20 rows stored in 2 chunk(s)")
    assert err.splitlines()[-1] == (f"pcnqi submit: error: {path}: line 16: practice: "
                                    "F84002 does not take part")


@pytest.mark.parametrize(
    "status, expected_exit",
    [(401, cli.EXIT_UNREACHABLE), (403, cli.EXIT_UNREACHABLE), (404, cli.EXIT_NOT_FOUND),
     (500, cli.EXIT_SERVICE_ERROR)],
)
def test_service_answers_give_exit_statuses(tmp_path, capsys, stand_in, status, expected_exit):
    stand_in.answers[("GET", "/measures/msr_smr")] = [
        (status, {}, {"error": "x", "message": "refused here", "fields": {"measure_id": ["no"]}})]
    code, _, err = run_with_service(capsys, stand_in, "submit", "--measure", "msr_smr",
                                    weekly_file(tmp_path, 2))
    assert code == expected_exit
    assert f"HTTP {status}: refused here (measure_id: no)" in err


def test_no_key_is_a_usage_error(tmp_path, capsys, stand_in):
    code, _, err = run_with_service(capsys, stand_in, "submit", "--measure", "msr_smr",
                                    weekly_file(tmp_path, 2), key=None)
    assert code == 2 and "set PCN_API_KEY" in err
    assert stand_in.requests == []


def test_an_unreachable_service_is_retried_then_exit_3(tmp_path, capsys, monkeypatch):
    pauses = []
    monkeypatch.setattr(service_api.time, "sleep", pauses.append)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["spc", "--measure", "msr_smr", "--api", f"http://127.0.0.1:{port}"],
                {"PCN_API_KEY": "pcn_x"})
    err = capsys.readouterr().err
    assert code == 3
    assert "cannot reach the service" in err and "tried 4 times" in err
    assert pauses == list(cli.RETRY_PAUSES_SECONDS)


def test_a_lost_answer_is_retried_with_the_same_key(tmp_path, capsys, stand_in, monkeypatch):
    pauses = []
    monkeypatch.setattr(service_api.time, "sleep", pauses.append)
    stand_in.answers[("GET", "/measures/msr_smr")] = [MEASURE_ANSWER]
    stand_in.answers[("POST", "/submissions/batch")] = [
        (503, {"Retry-After": "3"}, b"busy"), (502, {}, b"bad gateway"),
        (200, {"Idempotent-Replayed": "true"}, batch_answer)]
    code, out, err = run_with_service(capsys, stand_in, "submit", "--measure", "msr_smr",
                                      weekly_file(tmp_path, 5))
    assert code == 0, err
    keys = [headers["Idempotency-Key"] for _, _, headers, _ in stand_in.posts()]
    assert len(keys) == 3 and len(set(keys)) == 1
    assert pauses == [3, 2]  # the 503's Retry-After, then the usual pause
    assert "10 of 10 rows stored" in out


def test_spc_and_chart_of_a_measure_come_from_the_service(tmp_path, capsys, stand_in):
    dates = [START + timedelta(weeks=i) for i in range(20)]
    analysis = analyse(dates, [float(v) for v in ABOVE], target=5).to_dict()
    served = {"measure_id": "msr_smr", "series": "F84001", **analysis}
    stand_in.answers[("GET", "/measures/msr_smr/spc")] = [(200, {}, served)]
    code, out, err = run_with_service(capsys, stand_in, "spc", "--measure", "msr_smr",
                                      "--practice", "F84001", "--format", "json")
    assert code == 0, err
    assert json.loads(out) == served
    assert stand_in.requests[-1][1] == "/measures/msr_smr/spc?practice_id=F84001"
    code, out, _ = run_with_service(capsys, stand_in, "spc", "--measure", "msr_smr",
                                    "--format", "csv")
    assert code == 0
    assert out == cli.render_csv(analysis["points"])
    assert stand_in.requests[-1][1] == "/measures/msr_smr/spc"

    stand_in.answers[("GET", "/measures/msr_smr/chart.png")] = [
        (200, {"Content-Type": "image/png"}, b"\x89PNG-from-the-service")]
    target = tmp_path / "pooled.png"
    code, out, err = run_with_service(capsys, stand_in, "chart", "--measure", "msr_smr",
                                      "-o", str(target))
    assert code == 0, err
    assert target.read_bytes() == b"\x89PNG-from-the-service"
    code, _, err = run_with_service(capsys, stand_in, "chart", "--measure", "msr_nope",
                                    "-o", str(tmp_path / "x.svg"))
    assert code == 4 and "HTTP 404" in err
    assert not (tmp_path / "x.svg").exists()


def test_something_else_at_the_address_is_a_service_error(tmp_path, capsys, stand_in):
    stand_in.answers[("GET", "/measures/msr_smr")] = [
        (200, {"Content-Type": "text/html"}, b"<html>Sign in</html>")]
    code, _, err = run_with_service(capsys, stand_in, "submit", "--measure", "msr_smr",
                                    weekly_file(tmp_path, 2))
    assert code == cli.EXIT_SERVICE_ERROR
    assert "is --api/PCN_API_URL right?" in err
    assert stand_in.posts() == []


def test_resend_sends_every_chunk_under_new_keys(tmp_path, capsys, stand_in):
    path = weekly_file(tmp_path, 10)
    stand_in.answers[("GET", "/measures/msr_smr")] = [MEASURE_ANSWER]
    stand_in.answers[("POST", "/submissions/batch")] = [(200, {}, batch_answer)]
    runs = []
    for extra in ([], [], ["--resend"], ["--resend"]):
        stand_in.requests.clear()
        code, _, err = run_with_service(capsys, stand_in, "submit", "--measure", "msr_smr",
                                        path, "--chunk-size", "8", *extra)
        assert code == 0, err
        runs.append([(headers["Idempotency-Key"], body)
                     for _, _, headers, body in stand_in.posts()])
    keys = [[key for key, _ in run] for run in runs]
    assert keys[0] == keys[1]  # the same command: the same keys
    assert not set(keys[0]) & set(keys[2]) and not set(keys[2]) & set(keys[3])
    assert [body for _, body in runs[0]] == [body for _, body in runs[2]]  # the same rows
