"""A series file for ``pcnqi spc`` and ``pcnqi chart``: columns ``period`` and ``value``, as a
submission file and the service name them (``date`` is taken for ``period`` too); other
columns are ignored."""

from __future__ import annotations

from typing import Optional

from analytics.cli.csv_reading import InputError, parse_iso_date, parse_number, read_text, records

PERIOD_COLUMNS = ("period", "date")  # the first is the name; the second is accepted too


def read_series(path: str) -> tuple:
    """``(dates, values)`` of a ``period,value`` file (or ``date,value``), in ascending
    order; :class:`InputError` (one line naming the line and field) if it is bad."""
    names, rows = records(path, read_text(path))
    period_column = next((name for name in PERIOD_COLUMNS if name in names), None)
    missing = [c for c in (period_column or "period", "value") if c not in names]
    if missing:
        raise InputError(
            f"{path}: line 1: missing column(s) {', '.join(map(repr, missing))} in "
            f"header (found {', '.join(map(repr, names))}; need 'period' (or 'date') and "
            "'value')"
        )
    if all(name in names for name in PERIOD_COLUMNS):
        raise InputError(f"{path}: line 1: both 'period' and 'date' in header: keep one")
    i_date, i_value = names.index(period_column), names.index("value")
    dates: list = []
    values: list = []
    seen: dict = {}
    prev: Optional[tuple] = None
    for line, row in rows:
        if len(row) <= max(i_date, i_value):
            field = period_column if len(row) <= i_date else "value"
            raise InputError(f"{path}: line {line}: field {field!r}: missing")
        try:
            d = parse_iso_date(row[i_date])
        except ValueError as exc:
            raise InputError(f"{path}: line {line}: field {period_column!r}: {exc}") from None
        if d in seen:
            raise InputError(
                f"{path}: line {line}: field {period_column!r}: duplicate date "
                f"{d.isoformat()} (also on line {seen[d]})"
            )
        if prev is not None and d < prev[0]:
            raise InputError(
                f"{path}: line {line}: field {period_column!r}: {d.isoformat()} comes before "
                f"{prev[0].isoformat()} on line {prev[1]} (dates must be in ascending "
                "order)"
            )
        try:
            x = parse_number(row[i_value])
        except ValueError as exc:
            raise InputError(f"{path}: line {line}: field 'value': {exc}") from None
        seen[d] = line
        prev = (d, line)
        dates.append(d)
        values.append(x)
    return dates, values
