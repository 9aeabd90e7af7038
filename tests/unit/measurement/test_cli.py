"""Tests of the ``pcnqi spc`` command (services.measurement.cli)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.measurement.cli import main
from services.measurement.spc import POINT_FIELDS, analyse

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
    code, out, err = run_cli(capsys, "spc", path, "--improvement", "increase", "--target", "5")
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
    code, out, err = run_cli(capsys, "spc", path, "--improvement", "neutral")
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
        "--rebase", rebase, "--rebase", "2000-01-01", "--no-screen-outliers",
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
    code, out, _ = run_cli(capsys, "spc", str(path), "--improvement", "increase")
    assert code == 0
    assert [p["value"] for p in json.loads(out)["points"]] == [1.0, 2.0]


def test_empty_series_gives_empty_output(tmp_path, capsys):
    path = write_csv(tmp_path, [])
    code, out, _ = run_cli(capsys, "spc", path, "--improvement", "increase")
    assert code == 0
    assert json.loads(out) == {"points": [], "variation_type": None, "assurance_type": None}


# --------------------------------------------------------------------------- #
# Errors: one line on stderr, exit status 2
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
        (["2024-01-01,1"], "day,value", "line 1: missing column(s) 'date'"),
    ],
)
def test_bad_input_file(tmp_path, capsys, rows, header, expected):
    path = write_csv(tmp_path, rows, header=header)
    code, out, err = run_cli(capsys, "spc", path, "--improvement", "increase")
    assert code == 2
    assert out == ""
    line = error_line(err)
    assert line.startswith("pcnqi spc: error: ")
    assert path in line
    assert expected in line


def test_missing_file(tmp_path, capsys):
    missing = str(tmp_path / "nope.csv")
    code, out, err = run_cli(capsys, "spc", missing, "--improvement", "increase")
    assert code == 2 and out == ""
    line = error_line(err)
    assert "cannot read" in line and "nope.csv" in line and "No such file" in line


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    code, _, err = run_cli(capsys, "spc", str(path), "--improvement", "increase")
    assert code == 2
    assert "line 1: empty file" in error_line(err)


def test_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"date,value\n2024-01-01,\xe91\n")
    code, _, err = run_cli(capsys, "spc", str(path), "--improvement", "increase")
    assert code == 2
    assert "not UTF-8" in error_line(err)


def test_analysis_error_is_reported(tmp_path, capsys):
    # R stops on a missing value inside a 7-point rising window
    path = write_csv(tmp_path, series_rows([1, 2, 3, "NA", 5, 6, 7]))
    code, out, err = run_cli(capsys, "spc", path, "--improvement", "increase")
    assert code == 2 and out == ""
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
        [sys.executable, "-m", "services.measurement.cli", "spc", path,
         "--improvement", "increase", "--format", "csv"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == ",".join(POINT_FIELDS)
    bad = subprocess.run(
        [sys.executable, "-m", "services.measurement.cli", "spc", str(tmp_path / "x.csv"),
         "--improvement", "increase"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "cannot read" in bad.stderr
