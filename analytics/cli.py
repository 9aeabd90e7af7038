"""``pcnqi``: the practice manager's and the PCN analyst's command line.

    pcnqi spc FILE.csv --improvement increase|decrease|neutral [--target X] [--fix-after N]
          [--rebase DATE ...] [--no-screen-outliers] [--format json|csv]
    pcnqi chart FILE.csv -o chart.svg|chart.png  [the options of spc] [--title T] [--unit U]
    pcnqi submit --measure ID FILE.csv [--chunk-size N] [--resend] [--no-progress]
    pcnqi spc --measure ID [--practice CODE] [--format json|csv]
    pcnqi chart --measure ID [--practice CODE] -o chart.svg|chart.png

``spc`` and ``chart`` on a FILE.csv (columns ``date`` and ``value``) run the same SPC engine and
chart code as the measurement service, locally; with ``--measure`` they read the service's own
analysis and chart. ``submit`` uploads a practice's rows through ``POST /submissions/batch`` in
chunks, each with an ``Idempotency-Key`` derived from the file and the chunk, so running the same
command again after any failure stores nothing twice. The service is ``--api``, else
``PCN_API_URL``, else http://127.0.0.1:8002; the key is ``PCN_API_KEY``.

Also runnable as ``python -m analytics.cli ...``. The exit statuses are in
:data:`EXIT_STATUSES`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.client
import io
import json
import math
import os
import re
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

from services.measurement.domain import MAX_BATCH_ROWS, align_period, contribution_of
from analytics.spc import (
    IMPROVEMENT_DIRECTIONS,
    POINT_FIELDS,
    SpcInputError,
    analyse,
)
from shared.validation import EARLIEST_DATE, MAX_MAGNITUDE, ODS_CODE_PATTERN

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_NOT_FOUND = 4
EXIT_SERVICE_ERROR = 5
EXIT_STATUSES = (
    (EXIT_OK, "done"),
    (EXIT_REFUSED, "refused input: the file is unreadable or invalid, or the service refused "
                   "rows (named by line and field)"),
    (EXIT_USAGE, "bad or missing arguments, or PCN_API_KEY not set"),
    (EXIT_UNREACHABLE, "the service is unreachable or refused the key (401/403): run the "
                       "same command again later"),
    (EXIT_NOT_FOUND, "no such measure (or practice) for this key (404)"),
    (EXIT_SERVICE_ERROR, "the service failed or answered something unexpected"),
)

DEFAULT_API_URL = "http://127.0.0.1:8002"
DEFAULT_CHUNK_ROWS = 250
REQUEST_TIMEOUT_SECONDS = 60
# Pauses before retrying a request that met a network error or a 502/503/504: the same
# Idempotency-Key makes a retried chunk safe even when its first answer was lost.
RETRY_PAUSES_SECONDS = (1, 2, 4)
RETRIED_STATUSES = (502, 503, 504)
PROGRESS_BAR_WIDTH = 30

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ODS_CODE = re.compile(ODS_CODE_PATTERN)
_MISSING = {"", "na", "nan"}
_PRACTICE_COLUMNS = ("practice", "practice_id")
_VALUE_COLUMNS = {"count": ("value",), "continuous": ("value",),
                  "proportion": ("numerator", "denominator"),
                  "rate": ("numerator", "denominator")}


class InputError(Exception):
    """A problem with the input file; the message is one line for stderr."""


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


class Chunk(NamedTuple):
    """The rows of one batch request, the exact body sent, and its Idempotency-Key."""

    lines: tuple
    body: bytes
    idempotency_key: str

    @property
    def first_line(self):
        return self.lines[0].line

    @property
    def last_line(self):
        return self.lines[-1].line


# --------------------------------------------------------------------------- #
# Reading CSV files
# --------------------------------------------------------------------------- #
def _parse_iso_date(text: str) -> date:
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None


def _parse_number(text: str) -> Optional[float]:
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


def _read_text(path: str) -> str:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _records(path: str, text: str):
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


def read_series(path: str) -> tuple:
    """``(dates, values)`` of a ``date,value`` file; :class:`InputError` (one line) if bad."""
    names, rows = _records(path, _read_text(path))
    missing = [c for c in ("date", "value") if c not in names]
    if missing:
        raise InputError(
            f"{path}: line 1: missing column(s) {', '.join(map(repr, missing))} in "
            f"header (found {', '.join(map(repr, names))}; need 'date' and 'value')"
        )
    i_date, i_value = names.index("date"), names.index("value")
    dates: list = []
    values: list = []
    seen: dict = {}
    prev: Optional[tuple] = None
    for line, row in rows:
        if len(row) <= max(i_date, i_value):
            field = "date" if len(row) <= i_date else "value"
            raise InputError(f"{path}: line {line}: field {field!r}: missing")
        try:
            d = _parse_iso_date(row[i_date])
        except ValueError as exc:
            raise InputError(f"{path}: line {line}: field 'date': {exc}") from None
        if d in seen:
            raise InputError(
                f"{path}: line {line}: field 'date': duplicate date {d.isoformat()} "
                f"(also on line {seen[d]})"
            )
        if prev is not None and d < prev[0]:
            raise InputError(
                f"{path}: line {line}: field 'date': {d.isoformat()} comes before "
                f"{prev[0].isoformat()} on line {prev[1]} (dates must be in ascending "
                "order)"
            )
        try:
            x = _parse_number(row[i_value])
        except ValueError as exc:
            raise InputError(f"{path}: line {line}: field 'value': {exc}") from None
        seen[d] = line
        prev = (d, line)
        dates.append(d)
        values.append(x)
    return dates, values


def read_submissions(path: str, measure: dict, today: date) -> tuple:
    """``(lines, file_digest)``: every row of a submission file checked against ``measure``
    (its value kind and frequency) as the service will check it. Raises :class:`InputError`
    if the file cannot be read at all, :class:`FileRefused` naming every bad line otherwise.

    Columns: ``period`` (any day of the period, YYYY-MM-DD), ``value`` (counts, continuous)
    or ``numerator`` and ``denominator`` (proportions, rates), and optionally ``practice``
    (or ``practice_id``: an ODS code; without it rows are for the key's own practice)."""
    text = _read_text(path)
    names, rows = _records(path, text)
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
            day = _parse_iso_date(cells[column["period"]])
            period = align_period(day, measure["frequency"])
            if period < EARLIEST_DATE:
                row_errors.append(RowError(line, "period", f"{day} is before {EARLIEST_DATE}"))
            elif period > today:
                row_errors.append(RowError(line, "period",
                                           f"the period starting {period} is in the future"))
        except ValueError as exc:
            row_errors.append(RowError(line, "period", str(exc)))
        practice_id = cells[column[practice_column]].strip() if practice_column else ""
        if practice_id and not _ODS_CODE.fullmatch(practice_id):
            row_errors.append(RowError(line, practice_column,
                                       f"{practice_id!r} is not an ODS practice code such as "
                                       "F84001"))
        numbers = {}
        for name in value_columns:
            try:
                numbers[name] = _parse_number(cells[column[name]])
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


# --------------------------------------------------------------------------- #
# Chunks and their idempotency keys
# --------------------------------------------------------------------------- #
def chunk_body(measure_id: str, lines: Sequence[SubmissionLine]) -> bytes:
    """The exact bytes of the batch request for ``lines``: the same rows, the same bytes."""
    rows = [line.to_row(measure_id) for line in lines]
    return json.dumps({"rows": rows}, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def idempotency_key(file_digest: str, measure_id: str, body: bytes) -> str:
    """The key of one chunk: from the file's content, the measure and the chunk's own bytes,
    so the same command on the same file sends the same keys, and a changed chunk a new one
    (the service answers 409 to an old key with a different body)."""
    digest = hashlib.sha256()
    for part in (file_digest.encode(), measure_id.encode(), hashlib.sha256(body).digest()):
        digest.update(part + b"\n")
    return f"pcnqi-{digest.hexdigest()[:40]}"


def make_chunks(measure_id: str, lines: Sequence[SubmissionLine], file_digest: str,
                rows_per_chunk: int) -> list:
    """``lines`` in file order as :class:`Chunk` s of at most ``rows_per_chunk`` rows."""
    if not 1 <= rows_per_chunk <= MAX_BATCH_ROWS:
        raise ValueError(f"rows_per_chunk must be from 1 to {MAX_BATCH_ROWS}")
    chunks = []
    for start in range(0, len(lines), rows_per_chunk):
        part = tuple(lines[start:start + rows_per_chunk])
        body = chunk_body(measure_id, part)
        chunks.append(Chunk(part, body, idempotency_key(file_digest, measure_id, body)))
    return chunks


_ROW_FIELD = re.compile(r"rows\.(\d+)\.(\w+)")
_FIELD_COLUMNS = {"practice_id": "practice"}


def refused_rows(chunk: Chunk, fields: dict) -> list:
    """The service's ``{"rows.<index>.<field>": [why]}`` as :class:`RowError` s on the file's
    lines; a field that names no row is given against the chunk's first line."""
    errors = []
    for name, reasons in fields.items():
        match = _ROW_FIELD.fullmatch(name)
        reason = "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)
        if match and int(match.group(1)) < len(chunk.lines):
            line = chunk.lines[int(match.group(1))].line
            errors.append(RowError(line, _FIELD_COLUMNS.get(match.group(2), match.group(2)),
                                   reason))
        else:
            errors.append(RowError(chunk.first_line, name,
                                   f"{reason} (lines {chunk.first_line}-{chunk.last_line})"))
    return sorted(errors)


# --------------------------------------------------------------------------- #
# The measurement service
# --------------------------------------------------------------------------- #
class ServiceUnreachable(Exception):
    """No answer (network error, timeout) even after the retries."""


class ServiceAnswer(NamedTuple):
    status: int
    headers: dict
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class ServiceRefused(Exception):
    """The service answered 4xx/5xx (or not what was asked for: ``message`` says so);
    ``fields`` is its JSON error's ``fields``."""

    def __init__(self, answer: ServiceAnswer, message=None):
        error = answer.json() if isinstance(answer.json(), dict) else {}
        self.status = answer.status
        self.message = message or error.get("message") or answer.body[:200].decode(
            "utf-8", "replace")
        self.fields = error.get("fields") or {}
        super().__init__(f"HTTP {self.status}: {self.message}")

    def exit_status(self):
        if self.status in (401, 403):
            return EXIT_UNREACHABLE
        if self.status == 404:
            return EXIT_NOT_FOUND
        if self.status in (400, 422):
            return EXIT_REFUSED
        return EXIT_SERVICE_ERROR

    def describe(self):
        details = "; ".join(
            f"{field}: {', '.join(map(str, why)) if isinstance(why, list) else why}"
            for field, why in self.fields.items())
        return f"HTTP {self.status}: {self.message}" + (f" ({details})" if details else "")


class MeasurementApi:
    """The few calls ``pcnqi`` makes, over the standard library's HTTP client."""

    def __init__(self, base_url: str, api_key: str, timeout=REQUEST_TIMEOUT_SECONDS,
                 retry_pauses=None, sleep=None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retry_pauses = RETRY_PAUSES_SECONDS if retry_pauses is None else retry_pauses
        self.sleep = sleep or time.sleep

    def request(self, method, path, query=None, body=None, headers=None) -> ServiceAnswer:
        """The answer to one request, retried on network errors and 502/503/504; raises
        :class:`ServiceUnreachable`, or :class:`ServiceRefused` for any other status >= 400."""
        url = self.base_url + path
        query = {k: v for k, v in (query or {}).items() if v}
        if query:
            url += "?" + urllib.parse.urlencode(query)
        all_headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "*/*"}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        problem, asked_pause = None, 0
        for pause in (0, *self.retry_pauses):
            if pause:
                self.sleep(max(pause, asked_pause))
            request = urllib.request.Request(url, data=body, headers=all_headers,
                                             method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return ServiceAnswer(response.status, dict(response.headers),
                                         response.read())
            except urllib.error.HTTPError as exc:
                answer = ServiceAnswer(exc.code, dict(exc.headers or {}), exc.read())
                if exc.code not in RETRIED_STATUSES:
                    raise ServiceRefused(answer) from None
                problem = f"HTTP {exc.code}"
                asked_pause = _retry_after(exc.headers)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                problem = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
        raise ServiceUnreachable(f"{method} {url}: {problem} (tried "
                                 f"{len(self.retry_pauses) + 1} times)")

    def measure(self, measure_id) -> dict:
        answer = self.request("GET", f"/measures/{_path(measure_id)}")
        return _json_object(answer, ("value_kind", "frequency"))

    def spc(self, measure_id, practice_id=None) -> dict:
        answer = self.request("GET", f"/measures/{_path(measure_id)}/spc",
                              {"practice_id": practice_id})
        return _json_object(answer, ("points",))

    def chart(self, measure_id, fmt, practice_id=None) -> bytes:
        return self.request("GET", f"/measures/{_path(measure_id)}/chart.{fmt}",
                            {"practice_id": practice_id}).body

    def submit_chunk(self, chunk: Chunk) -> tuple:
        """(the service's batch answer, True if it replays an earlier run's answer)."""
        answer = self.request("POST", "/submissions/batch", body=chunk.body,
                              headers={"Idempotency-Key": chunk.idempotency_key})
        body = _json_object(answer, ("rows",))
        replayed = any(k.lower() == "idempotent-replayed" and v == "true"
                       for k, v in answer.headers.items())
        return body, replayed


def _retry_after(headers) -> float:
    """A 503's ``Retry-After`` in seconds (a number of seconds only), at most a minute."""
    try:
        return min(max(float((headers or {}).get("Retry-After", 0)), 0), 60)
    except ValueError:
        return 0


def _json_object(answer: ServiceAnswer, required: Sequence[str]) -> dict:
    """The answer's JSON object, which must hold ``required``; else :class:`ServiceRefused`
    (a proxy's page, or another service at that address)."""
    body = answer.json()
    if not isinstance(body, dict) or any(name not in body for name in required):
        raise ServiceRefused(answer, f"expected the measurement service's JSON with "
                                     f"{', '.join(required)}; is --api/PCN_API_URL right?")
    return body


def _path(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


class Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, one line per
    step otherwise (logs, CI)."""

    def __init__(self, total, stream, enabled=True):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.in_place = enabled and getattr(stream, "isatty", lambda: False)()

    def show(self, done):
        if not self.enabled:
            return
        filled = PROGRESS_BAR_WIDTH * done // self.total if self.total else PROGRESS_BAR_WIDTH
        bar = "#" * filled + "." * (PROGRESS_BAR_WIDTH - filled)
        text = f"[{bar}] {done}/{self.total} rows ({100 * done // max(self.total, 1)}%)"
        if self.in_place:
            self.stream.write("\r" + text + ("\n" if done >= self.total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def stop(self):
        if self.in_place:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------- #
# Arguments
# --------------------------------------------------------------------------- #
def _arg_date(text: str) -> date:
    try:
        return _parse_iso_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _arg_number(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return x


def _arg_fix_after(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 12:
        raise argparse.ArgumentTypeError(
            f"{n} is too small: fix_after_n_points must be at least 12"
        )
    return n


def _arg_chunk_rows(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= n <= MAX_BATCH_ROWS:
        raise argparse.ArgumentTypeError(f"{n} is not from 1 to {MAX_BATCH_ROWS}")
    return n


def _arg_practice(text: str) -> str:
    if not _ODS_CODE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an ODS practice code such as F84001")
    return text


def _exit_status_text() -> str:
    return "exit status:\n" + "\n".join(
        textwrap.fill(what, 88, initial_indent=f"  {code}  ", subsequent_indent=" " * 5)
        for code, what in EXIT_STATUSES)


_SERVICE_TEXT = (f"the service: --api, else $PCN_API_URL, else {DEFAULT_API_URL};\n"
                 "the key: $PCN_API_KEY")

_TOP_EXAMPLES = """\
  pcnqi spc smr.csv --improvement increase --target 0.6
  pcnqi chart smr.csv --improvement increase --target 0.6 -o smr.svg
  pcnqi submit --measure msr_0123abcd weekly.csv
  pcnqi spc --measure msr_0123abcd --practice F84001
  pcnqi chart --measure msr_0123abcd -o pooled.png
"""
_SPC_EXAMPLES = """examples:
  pcnqi spc smr.csv --improvement increase --target 0.6
  pcnqi spc smr.csv --improvement decrease --rebase 2025-03-03 --format csv > points.csv
  PCN_API_KEY=pcn_... pcnqi spc --measure msr_0123abcd --practice F84001
"""
_CHART_EXAMPLES = """examples:
  pcnqi chart smr.csv --improvement increase --target 0.6 -o smr.svg
  PCN_API_KEY=pcn_... pcnqi chart --measure msr_0123abcd -o pooled.png
"""
_SUBMIT_EXAMPLES = """FILE.csv: a header, then one row per period:
  period,numerator,denominator          (a proportion or a rate)
  2025-01-06,31,40
  period,practice,value                 (a count or a continuous value; practice is an
  2025-01-06,F84001,12                   ODS code, needed only with a network lead's key)

example:
  export PCN_API_URL=https://pcn.example.nhs.uk/measurement PCN_API_KEY=pcn_...
  pcnqi submit --measure msr_0123abcd weekly.csv

Every row is checked first; a bad file sends nothing. Each chunk of rows carries an
Idempotency-Key derived from the file and the chunk: after a failure, run the same command
again and nothing is stored twice.
"""


def _add_spc_options(parser, with_format):
    parser.add_argument("file", metavar="FILE.csv", nargs="?",
                        help="CSV file with columns date,value (or use --measure)")
    parser.add_argument("--measure", metavar="ID",
                        help="read the series of this measure from the service instead")
    parser.add_argument("--practice", type=_arg_practice, metavar="CODE",
                        help="with --measure: this practice's series (default: pooled)")
    parser.add_argument("--api", metavar="URL", help="the measurement service's address")
    parser.add_argument("--improvement", choices=IMPROVEMENT_DIRECTIONS,
                        help="direction that counts as improvement (required with FILE.csv)")
    parser.add_argument("--target", type=_arg_number, help="target value (assurance)")
    parser.add_argument(
        "--fix-after", type=_arg_fix_after, metavar="N",
        help="fix mean and limits on the first N points of each group (N >= 12)")
    parser.add_argument(
        "--rebase", type=_arg_date, nargs="+", action="extend", default=[], metavar="DATE",
        help="date(s) starting a new rebase group (may be repeated)")
    parser.add_argument(
        "--no-screen-outliers", dest="screen_outliers", action="store_false",
        help="do not screen large moving ranges before computing the limits")
    if with_format:
        parser.add_argument("--format", choices=("json", "csv"), default="json")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="pcnqi", formatter_class=formatter,
        description="PCN Improvement Network quality-improvement tools: SPC analysis and "
                    "Making Data Count charts of a CSV file or of a measure in the service, "
                    "and bulk upload of a practice's data.",
        epilog=f"examples:\n{_TOP_EXAMPLES}\n{_SERVICE_TEXT}\n\n{_exit_status_text()}\n\n"
               "'pcnqi COMMAND --help' shows each command's options and more examples")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    spc = sub.add_parser(
        "spc", formatter_class=formatter,
        help="XmR (statistical process control) analysis of a series",
        description="XmR chart analysis matching NHSRplotthedots v0.2.2 ('Making Data "
                    "Count') of a CSV with columns date,value, or of a measure's pooled or "
                    "practice series in the service (whose options come from the measure).",
        epilog=f"{_SPC_EXAMPLES}\n{_SERVICE_TEXT}\n\n{_exit_status_text()}")
    _add_spc_options(spc, with_format=True)

    chart = sub.add_parser(
        "chart", formatter_class=formatter,
        help="Making Data Count chart (SVG or PNG) of a series",
        description="The Making Data Count XmR chart, drawn by the same code as the service, "
                    "of a CSV with columns date,value, or of a measure in the service.",
        epilog=f"{_CHART_EXAMPLES}\n{_SERVICE_TEXT}\n\n{_exit_status_text()}")
    _add_spc_options(chart, with_format=False)
    chart.add_argument("-o", "--output", required=True, metavar="FILE.svg|FILE.png",
                       help="where to write the chart; its suffix chooses the format")
    chart.add_argument("--title", help="with FILE.csv: the chart's title (default: the file "
                                       "name)")
    chart.add_argument("--unit", help="with FILE.csv: the y-axis label")

    submit = sub.add_parser(
        "submit", formatter_class=formatter,
        help="upload a practice's rows of a measure from a CSV file",
        description="Upload rows of a measure through POST /submissions/batch, in chunks.",
        epilog=f"{_SUBMIT_EXAMPLES}\n{_SERVICE_TEXT}\n\n{_exit_status_text()}")
    submit.add_argument("file", metavar="FILE.csv", help="the rows to submit")
    submit.add_argument("--measure", metavar="ID", required=True, help="the measure's id")
    submit.add_argument("--api", metavar="URL", help="the measurement service's address")
    submit.add_argument("--chunk-size", type=_arg_chunk_rows, default=DEFAULT_CHUNK_ROWS,
                        metavar="N", help=f"rows per request, 1 to {MAX_BATCH_ROWS} "
                                          f"(default {DEFAULT_CHUNK_ROWS})")
    submit.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar on stderr")
    submit.add_argument("--resend", action="store_true",
                        help="send every chunk afresh, even those an earlier run of this file "
                             "sent (to put this file's values back after another file "
                             "changed them)")
    return parser


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #
def _csv_cell(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ";".join(value)
    return str(value)


def render_csv(points: Sequence[dict]) -> str:
    """One CSV row per point (``SpcPoint.to_dict()`` or the service's JSON points)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(POINT_FIELDS)
    for point in points:
        writer.writerow([_csv_cell(point.get(f)) for f in POINT_FIELDS])
    return out.getvalue()


def render_json(analysis: dict) -> str:
    return json.dumps(analysis, indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------- #
# Commands
# --------------------------------------------------------------------------- #
class CommandFailed(Exception):
    """Ends a command: ``message`` (one line or more) for stderr, and the exit status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


# options that shape a local analysis; with --measure the measure's definition does
_LOCAL_ONLY = {"improvement": "--improvement", "target": "--target", "fix_after": "--fix-after",
               "rebase": "--rebase", "screen_outliers": "--no-screen-outliers",
               "title": "--title", "unit": "--unit"}


def _check_source(args):
    """FILE.csv xor --measure, and only the options that source takes."""
    if bool(args.file) == bool(args.measure):
        raise CommandFailed(EXIT_USAGE, "give either FILE.csv or --measure ID")
    if args.measure:
        given = [option for name, option in _LOCAL_ONLY.items()
                 if getattr(args, name, None) not in (None, [], True)]
        if given:
            options = ", ".join(given)
            raise CommandFailed(EXIT_USAGE, f"{options}: not with --measure (the measure "
                                            "defines its analysis)")
    else:
        if args.practice or args.api:
            raise CommandFailed(EXIT_USAGE, "--practice and --api go with --measure")
        if not args.improvement:
            raise CommandFailed(EXIT_USAGE, "the following arguments are required: "
                                            "--improvement (with FILE.csv)")


def _api(args, environ) -> MeasurementApi:
    key = environ.get("PCN_API_KEY", "").strip()
    if not key:
        raise CommandFailed(EXIT_USAGE, "set PCN_API_KEY to your API key (pcn_...)")
    return MeasurementApi(args.api or environ.get("PCN_API_URL") or DEFAULT_API_URL, key)


def _local_analysis(args):
    try:
        dates, values = read_series(args.file)
    except InputError as exc:
        raise CommandFailed(EXIT_REFUSED, str(exc)) from None
    try:
        return analyse(dates, values, improvement=args.improvement, target=args.target,
                       fix_after_n_points=args.fix_after, rebase_dates=args.rebase,
                       screen_outliers=args.screen_outliers)
    except SpcInputError as exc:
        raise CommandFailed(EXIT_REFUSED, f"{args.file}: {exc}") from None


def _chart_format(args, charts) -> str:
    suffix = Path(args.output).suffix.lower().lstrip(".")
    if suffix not in charts.FORMATS:
        raise CommandFailed(EXIT_USAGE, f"-o {args.output}: name a .svg or .png file")
    return suffix


def _run_spc(args, stdout, stderr, environ) -> None:
    _check_source(args)
    if args.measure:
        analysis = _api(args, environ).spc(args.measure, args.practice)
    else:
        result = _local_analysis(args)
        for warning in result.warnings:
            print(f"pcnqi spc: warning: {warning}", file=stderr)
        analysis = result.to_dict()
    stdout.write(render_json(analysis) if args.format == "json"
                 else render_csv(analysis["points"]))


def _run_chart(args, stdout, stderr, environ) -> None:
    # matplotlib takes seconds to import: only this command loads it
    from analytics import charts

    _check_source(args)
    fmt = _chart_format(args, charts)
    if args.measure:
        image = _api(args, environ).chart(args.measure, fmt, args.practice)
    else:
        analysis = _local_analysis(args)
        for warning in analysis.warnings:
            print(f"pcnqi chart: warning: {warning}", file=stderr)
        image = charts.render_chart(analysis, title=args.title or Path(args.file).stem,
                                    unit=args.unit, target=args.target, fmt=fmt)
    try:
        Path(args.output).write_bytes(image)
    except OSError as exc:
        raise CommandFailed(EXIT_REFUSED, f"cannot write {args.output!r}: "
                                          f"{exc.strerror or exc}") from None
    print(f"{args.output}: {fmt.upper()} chart, {len(image)} bytes", file=stdout)


def _run_submit(args, stdout, stderr, environ) -> None:
    api = _api(args, environ)
    measure = api.measure(args.measure)
    if measure.get("feedback_source"):
        raise CommandFailed(EXIT_REFUSED, f"{args.measure} is fed by feedback "
                                          "(POST /projects/{id}/feedback), not by submissions")
    try:
        lines, file_digest = read_submissions(args.file, measure,
                                              datetime.now(timezone.utc).date())
    except InputError as exc:
        raise CommandFailed(EXIT_REFUSED, str(exc)) from None
    except FileRefused as exc:
        raise CommandFailed(EXIT_REFUSED, "\n".join(
            [f"{exc.path}: {len(exc.errors)} problem(s); nothing was sent"]
            + [f"{exc.path}: {error}" for error in exc.errors]))
    if not lines:
        raise CommandFailed(EXIT_REFUSED, f"{args.file}: no rows to submit")
    if args.resend:  # new keys: the service applies every chunk again instead of replaying
        file_digest = hashlib.sha256(f"{file_digest}:{uuid.uuid4()}".encode()).hexdigest()
    chunks = make_chunks(args.measure, lines, file_digest, args.chunk_size)
    progress = Progress(len(lines), stderr, enabled=args.progress and len(chunks) > 1)
    counts = {"created": 0, "corrected": 0, "unchanged": 0}
    sent, stored, refusals = 0, 0, []
    replayed_chunks = replayed_rows = 0
    for chunk in chunks:
        try:
            answer, was_replayed = api.submit_chunk(chunk)
        except ServiceRefused as exc:
            if exc.status not in (400, 422):
                progress.stop()
                raise
            refusals += refused_rows(chunk, exc.fields)
        except ServiceUnreachable as exc:
            progress.stop()
            raise CommandFailed(EXIT_UNREACHABLE, (
                f"cannot reach the service: {exc}\n{stored} of {len(lines)} rows are stored; "
                "run the same command again to finish: nothing is stored twice")) from None
        else:
            stored += len(chunk.lines)
            if was_replayed:  # the answer an earlier run got (or lost): not counted again
                replayed_chunks += 1
                replayed_rows += len(chunk.lines)
            else:
                for name in counts:
                    counts[name] += answer.get(name, 0)
        sent += len(chunk.lines)
        progress.show(sent)
    summary = (f"{stored} of {len(lines)} rows stored in {len(chunks)} chunk(s): "
               f"{counts['created']} created, {counts['corrected']} corrected, "
               f"{counts['unchanged']} unchanged")
    if replayed_chunks:
        summary += (f"; {replayed_rows} row(s) in {replayed_chunks} chunk(s) were already "
                    "stored by an earlier run of this file (if another file changed them "
                    "since, run again with --resend)")
    print(summary, file=stdout)
    if refusals:
        raise CommandFailed(EXIT_REFUSED, "\n".join(
            [f"{args.file}: the service refused {len({r.line for r in refusals})} row(s); "
             "their chunks stored nothing: fix them and run the same command again"]
            + [f"{args.file}: {error}" for error in refusals]))


COMMANDS = {"spc": _run_spc, "chart": _run_chart, "submit": _run_submit}


def main(argv: Optional[Sequence[str]] = None, environ=None) -> int:
    """Entry point of the ``pcnqi`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    environ = os.environ if environ is None else environ
    try:
        COMMANDS[args.command](args, sys.stdout, sys.stderr, environ)
    except CommandFailed as exc:
        for line in exc.message.splitlines():
            print(f"pcnqi {args.command}: error: {line}", file=sys.stderr)
        return exc.status
    except ServiceRefused as exc:
        print(f"pcnqi {args.command}: error: {exc.describe()}", file=sys.stderr)
        return exc.exit_status()
    except ServiceUnreachable as exc:
        print(f"pcnqi {args.command}: error: cannot reach the service: {exc}",
              file=sys.stderr)
        return EXIT_UNREACHABLE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
