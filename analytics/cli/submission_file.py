"""A submission file: every row checked against the measure as the service will check it,
so a bad file is refused whole, every problem named by line and column, before a row is sent."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import NamedTuple, Optional

from analytics.cli.csv_reading import parse_iso_date, parse_number, read_text, records
from analytics.submission_rules import align_period, contribution_of
from shared.validation import EARLIEST_DATE, MAX_MAGNITUDE, ODS_CODE_PATTERN

ODS_CODE = re.compile(ODS_CODE_PATTERN)
_PRACTICE_COLUMNS = ("practice", "practice_id")
_VALUE_COLUMNS = {"count": ("value",), "continuous": ("value",),
                  "proportion": ("numerator", "denominator"),
                  "rate": ("numerator", "denominator")}


class RowError(NamedTuple):
    """One refused row: its line in the CSV file, the column, and why."""

    line: int
    column: str
    reason: str

    def __str__(self):
        return f"line {self.line}: {self.column}: {self.reason}"


class FileRefused(Exception):
    """The file cannot be submitted; ``errors`` names every bad line and column."""

    def __init__(self, path, errors):
        super().__init__(f"{path}: {len(errors)} problem(s)")
        self.path = path
        self.errors = errors


class SubmissionLine(NamedTuple):
    """One row of a submission file, checked, with the line it came from."""

    line: int
    period: date
    practice_id: Optional[str]
    value: Optional[float]
    numerator: Optional[float]
    denominator: Optional[float]

    def to_row(self, measure_id) -> dict:
        """The row as ``POST /submissions/batch`` takes it (only the fields given)."""
        row = {"measure_id": measure_id, "period": self.period.isoformat()}
        if self.practice_id:
            row["practice_id"] = self.practice_id
        for field in ("value", "numerator", "denominator"):
            if getattr(self, field) is not None:
                row[field] = getattr(self, field)
        return row


def read_submissions(path: str, measure: dict, today: date) -> tuple:
    """``(lines, file_digest)``: every row of a submission file checked against ``measure``
    (its value kind and frequency) as the service will check it. Raises :class:`InputError`
    if the file cannot be read at all, :class:`FileRefused` naming every bad line otherwise.

    Columns: ``period`` (any day of the period, YYYY-MM-DD), ``value`` (counts, continuous)
    or ``numerator`` and ``denominator`` (proportions, rates), and optionally ``practice``
    (or ``practice_id``: an ODS code; without it rows are for the key's own practice)."""
    return check_submission_text(path, read_text(path), measure, today)


def check_submission_text(path: str, text: str, measure: dict, today: date) -> tuple:
    """:func:`read_submissions` of a file already read (``text``; ``path`` names it in
    messages), for a file uploaded to the web front end."""
    names, rows = records(path, text)
    kind = measure["value_kind"]
    value_columns = _VALUE_COLUMNS[kind]
    practice_columns = [c for c in _PRACTICE_COLUMNS if c in names]
    known = ("period", *_PRACTICE_COLUMNS, *value_columns)
    header_errors = [RowError(1, c, "missing column") for c in ("period", *value_columns)
                     if c not in names]
    for name in names:
        if name not in known:
            why = (f"a {kind} is given as {' and '.join(value_columns)}"
                   if name in ("value", "numerator", "denominator") else
                   f"unknown column; the columns are {', '.join(known)}")
            header_errors.append(RowError(1, name or "(empty)", why))
    if len(practice_columns) > 1 or len(set(names)) != len(names):
        header_errors.append(RowError(1, "header", "a column appears twice"))
    if header_errors:
        raise FileRefused(path, header_errors)
    column = {name: names.index(name) for name in names}
    practice_column = practice_columns[0] if practice_columns else None

    errors, lines, seen = [], [], {}
    for line, cells in rows:
        cells = cells + [""] * (len(names) - len(cells))
        row_errors = []
        if len(cells) > len(names):
            row_errors.append(RowError(line, "row", f"{len(cells)} cells for {len(names)} "
                                                    "columns"))
        period = None
        try:
            day = parse_iso_date(cells[column["period"]])
            period = align_period(day, measure["frequency"])
            if period < EARLIEST_DATE:
                row_errors.append(RowError(line, "period", f"{day} is before {EARLIEST_DATE}"))
            elif period > today:
                row_errors.append(RowError(line, "period",
                                           f"the period starting {period} is in the future"))
        except ValueError as exc:
            row_errors.append(RowError(line, "period", str(exc)))
        practice_id = cells[column[practice_column]].strip() if practice_column else ""
        if practice_id and not ODS_CODE.fullmatch(practice_id):
            row_errors.append(RowError(line, practice_column,
                                       f"{practice_id!r} is not an ODS practice code such as "
                                       "F84001"))
        numbers = {}
        for name in value_columns:
            try:
                numbers[name] = parse_number(cells[column[name]])
            except ValueError as exc:
                row_errors.append(RowError(line, name, str(exc)))
                continue
            if numbers[name] is not None and abs(numbers[name]) > MAX_MAGNITUDE:
                row_errors.append(RowError(line, name, f"{numbers[name]:g} is beyond "
                                                       f"±{MAX_MAGNITUDE:g}"))
        if not row_errors:
            _, kind_errors = contribution_of(kind, numbers)
            row_errors += [RowError(line, field, "; ".join(reasons))
                           for field, reasons in kind_errors.items()]
        if period is not None:
            key = (practice_id, period)
            if key in seen:
                where = f"{practice_id} in " if practice_id else ""
                row_errors.append(RowError(line, "period", f"{where}the period starting "
                                                           f"{period} is also on line {seen[key]}"))
            seen[key] = line
        if row_errors:
            errors += row_errors
        else:
            lines.append(SubmissionLine(line, day, practice_id or None, numbers.get("value"),
                                        numbers.get("numerator"), numbers.get("denominator")))
    if errors:
        raise FileRefused(path, errors)
    return lines, hashlib.sha256(text.encode("utf-8")).hexdigest()
