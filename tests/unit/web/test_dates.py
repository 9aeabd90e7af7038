"""Days and moments as pages write them: the NHS.UK style, in UK time (the services send UTC)."""
from datetime import datetime, timezone

from services.web.dates import duration_words, long_date, moment


def test_a_day_has_no_leading_zero():
    assert long_date("2026-07-06") == "6 July 2026"


def test_a_summer_moment_is_shown_in_british_summer_time():
    assert moment("2026-07-06T09:05:00+00:00") == "6 July 2026 at 10:05"


def test_a_winter_moment_is_shown_in_greenwich_mean_time():
    assert moment("2026-12-06T09:05:00+00:00") == "6 December 2026 at 09:05"


def test_the_clocks_change_at_one_in_the_morning_utc():
    # 29 March 2026: GMT until 01:00 UTC, then BST.
    assert moment("2026-03-29T00:59:00+00:00") == "29 March 2026 at 00:59"
    assert moment("2026-03-29T01:00:00+00:00") == "29 March 2026 at 02:00"
    # 25 October 2026: BST until 01:00 UTC, then GMT.
    assert moment("2026-10-25T00:59:00+00:00") == "25 October 2026 at 01:59"
    assert moment("2026-10-25T01:00:00+00:00") == "25 October 2026 at 01:00"


def test_a_moment_late_in_a_summer_evening_falls_on_the_next_uk_day():
    assert long_date("2026-06-30T23:30:00+00:00") == "1 July 2026"
    assert moment(datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)) == "1 July 2026 at 00:30"


def test_a_naive_moment_is_utc_and_other_offsets_are_converted():
    assert moment("2026-07-06T09:05:00") == "6 July 2026 at 10:05"
    assert moment("2026-07-06T11:05:00+02:00") == "6 July 2026 at 10:05"


def test_empty_and_odd_values_still_show():
    assert moment(None) == "" and moment("") == "" and long_date(None) == ""
    assert moment("2026-07-06") == "6 July 2026"
    assert long_date("not a date") == "not a date" and moment("soonT") == "soonT"


def test_a_length_of_time_is_told_in_its_two_largest_units():
    minute, hour, day = 60, 3600, 86400
    assert duration_words(45 * minute) == "45 minutes"
    assert duration_words(3 * hour + 10 * minute) == "3 hours 10 minutes"
    assert duration_words(day + 2 * hour + 59 * minute) == "1 day 2 hours"  # no third unit
    assert duration_words(12 * day) == "12 days"
    assert duration_words(12 * day + 5 * minute) == "12 days"  # the hours are zero: no part
    assert duration_words(2 * day + 4 * hour + 30.9) == "2 days 4 hours"


def test_one_is_singular_and_the_rest_plural():
    assert duration_words(60) == "1 minute"
    assert duration_words(3600 + 60) == "1 hour 1 minute"
    assert duration_words(86400 + 3600) == "1 day 1 hour"
    assert duration_words(2 * 3600) == "2 hours"


def test_under_a_minute_and_nothing():
    assert duration_words(0) == duration_words(59.9) == "less than a minute"
    assert duration_words(None) == ""
