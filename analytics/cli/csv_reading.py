"""Reading a CSV file a person made: text, header, rows with their line numbers, and the
cells every file has (ISO dates, numbers or a missing value); each problem is one line that
names the file, the line and the field."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date
from typing import Optional

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MISSING = {"", "na", "nan"}


class InputError(Exception):
    """A problem with the input file; the message is one line for stderr."""


def parse_iso_date(text: str) -> date:
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None


def parse_number(text: str) -> Optional[float]:
    """A finite number, or None for an empty cell, ``NA`` or ``NaN`` (a missing value)."""
    text = text.strip()
    if text.lower() in _MISSING:
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if math.isinf(number):
        raise ValueError(f"{text!r} is not finite")
    return number


def read_text(path: str) -> str:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None


def records(path: str, text: str):
    """(header names, iterator of (line number, cells)) skipping blank lines."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: {exc}") from None
    if header is None:
        raise InputError(f"{path}: line 1: empty file, expected a header")

    def rows():
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
            if cells and any(c.strip() for c in cells):
                yield reader.line_num, cells

    return [h.strip() for h in header], rows()
