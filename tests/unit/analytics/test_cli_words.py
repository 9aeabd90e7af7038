"""``pcnqi spc`` for a person: the verdict in words first; ``period`` as the column's name, as
``submit`` and the service name it (``date`` still taken)."""

import json
from datetime import date, timedelta

import pytest

from analytics.cli import main
from analytics.spc import analyse
from tests.unit.analytics.test_cli import StandIn

START = date(2026, 1, 5)
SMR = [0.52, 0.58, 0.55, 0.61, 0.54, 0.57, 0.53, 0.6, 0.56, 0.55, 0.59, 0.54, 0.57, 0.56,
       0.64, 0.62, 0.65, 0.63, 0.66, 0.64, 0.65]
WORDS = """\
special-cause improvement since 13 April 2026; assurance: hit and miss against the target 0.6
21 points from 5 January 2026 to 25 May 2026; the latest 0.65
mean 0.5886, process limits 0.4888 to 0.6883
special cause:
  13 April 2026 to 25 May 2026: improvement, 7 points (a run of 7 above the mean)
every point: add --format csv (or --format json)
"""


def write_series(tmp_path, header="period,value", values=SMR, name="smr.csv"):
    rows = [f"{START + timedelta(weeks=i)},{v}" for i, v in enumerate(values)]
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def run(capsys, *argv, environ=None):
    code = main(list(argv), environ or {})
    out, err = capsys.readouterr()
    return code, out, err


def test_spc_leads_with_the_verdict_in_words(tmp_path, capsys):
    code, out, err = run(capsys, "spc", write_series(tmp_path), "--improvement", "increase",
                         "--target", "0.6")
    assert (code, err) == (0, "")
    assert out == WORDS


def test_a_period_column_and_a_date_column_give_the_same_analysis(tmp_path, capsys):
    by_period = write_series(tmp_path)
    by_date = write_series(tmp_path, header="date,value", name="by-date.csv")
    outputs = [run(capsys, "spc", path, "--improvement", "increase", "--format", "json")[1]
               for path in (by_period, by_date)]
    assert outputs[0] == outputs[1]
    expected = analyse([START + timedelta(weeks=i) for i in range(len(SMR))], SMR)
    assert json.loads(outputs[0]) == expected.to_dict()


@pytest.mark.parametrize("header, rows, expected", [
    ("period,value", ["2026-01-05,1", "2026-01-05,2"],
     "line 3: field 'period': duplicate date 2026-01-05 (also on line 2)"),
    ("value,period", ["1,2026-01-05", "2,05/01/2026"],
     "line 3: field 'period': '05/01/2026' is not an ISO date (YYYY-MM-DD)"),
    ("period,date,value", ["2026-01-05,2026-01-05,1"],
     "line 1: both 'period' and 'date' in header: keep one"),
    ("week,value", ["2026-01-05,1"],
     "line 1: missing column(s) 'period' in header (found 'week', 'value'; need 'period' "
     "(or 'date') and 'value')"),
])
def test_a_bad_period_names_the_period_column(tmp_path, capsys, header, rows, expected):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "spc", str(path), "--improvement", "increase")
    assert (code, out) == (1, "")
    assert err == f"pcnqi spc: error: {path}: {expected}\n"


def test_words_of_a_rebased_series_without_a_target(tmp_path, capsys):
    code, out, _ = run(capsys, "spc", write_series(tmp_path), "--improvement", "decrease",
                       "--rebase", "2026-04-13")
    assert code == 0
    assert out.splitlines()[:3] == [
        "common cause variation",
        "21 points from 5 January 2026 to 25 May 2026; the latest 0.65",
        "mean 0.6414, process limits 0.5838 to 0.6991 (since the rebase on 13 April 2026)"]


def test_words_of_an_empty_file(tmp_path, capsys):
    code, out, _ = run(capsys, "spc", write_series(tmp_path, values=[]), "--improvement",
                       "increase", "--target", "3")
    assert (code, out) == (0, "no data yet\n")


def test_words_of_a_measure_use_the_measures_target(capsys):
    analysis = analyse([START + timedelta(weeks=i) for i in range(len(SMR))], SMR,
                       target=0.6)
    service = StandIn()
    try:
        service.answers[("GET", "/measures/msr_smr/spc")] = [
            (200, {}, {"measure_id": "msr_smr", "series": "pooled", **analysis.to_dict()})]
        service.answers[("GET", "/measures/msr_smr")] = [
            (200, {}, {"id": "msr_smr", "value_kind": "proportion", "frequency": "week",
                       "target": 0.6})]
        code, out, err = run(capsys, "spc", "--measure", "msr_smr",
                             environ={"PCN_API_URL": service.url, "PCN_API_KEY": "pcn_x"})
    finally:
        service.close()
    assert (code, err) == (0, "")
    assert out == WORDS
