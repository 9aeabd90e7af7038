"""tools/shifted_clock.py under the real faketime: a test that holds a fixed date is caught."""
import shutil

import pytest

from tools import shifted_clock

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None,
                                reason="faketime is not installed (apt-get install faketime)")

DATED_TEST = '''
from datetime import date

def test_written_in_2026_and_true_only_before_2027():
    assert date.today() < date(2027, 1, 1)
'''
CLOCK_FREE_TEST = '''
from datetime import date, timedelta

def test_a_week_after_a_date_passed_in():
    assert date(2026, 11, 26) + timedelta(days=7) == date(2026, 12, 3)
'''


def test_a_test_that_depends_on_the_day_fails_under_every_shifted_clock(tmp_path, capsys):
    (tmp_path / "test_dated.py").write_text(DATED_TEST)
    assert shifted_clock.main(["--tests", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count("1 failed") == len(shifted_clock.CLOCKS), out
    assert "test_written_in_2026_and_true_only_before_2027" in out
    assert "FAILED under 3 of 3 clocks" in out


def test_a_test_with_its_clock_passed_in_passes_under_every_shifted_clock(tmp_path, capsys):
    (tmp_path / "test_clock_free.py").write_text(CLOCK_FREE_TEST)
    assert shifted_clock.main(["--tests", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("1 passed") == len(shifted_clock.CLOCKS), out
