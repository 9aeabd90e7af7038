"""Rebase groups: where a series starts afresh, and R's warning for a short group.

``ptd_add_rebase_column()`` then ``cumsum(date %in% rebase_dates)``: a rebase date starts a
new group, so groups count from 0, or from 1 when the first date is itself a rebase date;
rebase dates absent from the data are ignored.  A group with fewer than 13 points raises R's
"Some groups have 'n < 12' observations..." warning (R's default threshold is
``getOption("ptd_spc.warning_threshold", 13)`` although the text says 12).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterable

from analytics.spc.inputs import SpcInputError

SHORT_GROUP_THRESHOLD = 13  # getOption("ptd_spc.warning_threshold", 13)
SHORT_GROUP_WARNING = (
    "Some groups have 'n < 12' observations. These have trial limits, which will be "
    "revised with each additional observation until 'n = fix_after_n_points' has been "
    "reached."
)


def check_rebase_dates(rebase_dates: Iterable[date]) -> set:
    """The rebase dates as a set; one ``date`` is taken as a list of one (as R takes a date
    as a vector of length 1)."""
    if isinstance(rebase_dates, date):
        rebase_dates = (rebase_dates,)
    elif isinstance(rebase_dates, (str, bytes)):
        raise SpcInputError("rebase_dates must be datetime.date values, not a string")
    rebase = set()
    for i, d in enumerate(rebase_dates):
        if not isinstance(d, date) or isinstance(d, datetime):
            raise SpcInputError(
                f"rebase_dates[{i}] must be a datetime.date, got {d!r}"
            )
        rebase.add(d)
    return rebase


def group_bounds(dates: list, rebase: set) -> tuple:
    """``(starts, first_group)``: the index where each group starts, then ``len(dates)``;
    and the number of the first group (1 when the first date is a rebase date)."""
    n = len(dates)
    starts = [0]
    first_group = 0
    if rebase:
        if dates[0] in rebase:
            first_group = 1
        for i in range(1, n):
            if dates[i] in rebase:
                starts.append(i)
    starts.append(n)
    return starts, first_group
