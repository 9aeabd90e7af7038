"""``pcnqi``: the analysts' command line.

    pcnqi spc FILE.csv --improvement increase|decrease|neutral [--target X]
          [--fix-after N] [--rebase DATE ...] [--no-screen-outliers]
          [--format json|csv]

FILE.csv has a header with (at least) the columns ``date`` and ``value``;
dates are ISO ``YYYY-MM-DD``, strictly increasing.  A value that is empty,
``NA`` or ``NaN`` is a missing value (R's ``NA``).  The JSON output is
``SpcAnalysis.to_dict()``; the CSV output has one row per point with the same
fields (``rules`` joined with ``;``, booleans as ``true``/``false``, missing
values empty).  Bad input prints one line to stderr and exits with status 2.

Also runnable as ``python -m services.measurement.cli spc ...``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import sys
from datetime import date
from typing import Optional, Sequence

from services.measurement.spc import (
    IMPROVEMENT_DIRECTIONS,
    POINT_FIELDS,
    SpcAnalysis,
    SpcInputError,
    analyse,
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MISSING = {"", "na", "nan"}


class InputError(Exception):
    """A problem with the input file; the message is one line for stderr."""


def _parse_iso_date(text: str) -> date:
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pcnqi", description="PCN Improvement Network quality-improvement tools."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    spc = sub.add_parser(
        "spc",
        help="XmR (statistical process control) chart of a series",
        description=(
            "XmR chart analysis matching NHSRplotthedots v0.2.2 ('Making Data "
            "Count'). Reads a CSV with columns date,value."
        ),
    )
    spc.add_argument("file", metavar="FILE.csv", help="CSV file with columns date,value")
    spc.add_argument(
        "--improvement",
        required=True,
        choices=IMPROVEMENT_DIRECTIONS,
        help="direction that counts as improvement",
    )
    spc.add_argument("--target", type=_arg_number, help="target value (assurance)")
    spc.add_argument(
        "--fix-after",
        type=_arg_fix_after,
        metavar="N",
        help="fix mean and limits on the first N points of each group (N >= 12)",
    )
    spc.add_argument(
        "--rebase",
        type=_arg_date,
        nargs="+",
        action="extend",
        default=[],
        metavar="DATE",
        help="date(s) starting a new rebase group (may be repeated)",
    )
    spc.add_argument(
        "--no-screen-outliers",
        dest="screen_outliers",
        action="store_false",
        help="do not screen large moving ranges before computing the limits",
    )
    spc.add_argument("--format", choices=("json", "csv"), default="json")
    return parser


def read_series(path: str) -> tuple:
    """Read ``date,value`` rows; raise :class:`InputError` with a one-line message."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None

    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: {exc}") from None
    if header is None:
        raise InputError(f"{path}: line 1: empty file, expected a header 'date,value'")
    names = [h.strip() for h in header]
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
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue  # blank line
        if len(row) <= max(i_date, i_value):
            field = "date" if len(row) <= i_date else "value"
            raise InputError(f"{path}: line {line}: field {field!r}: missing")
        raw_date, raw_value = row[i_date], row[i_value]
        try:
            d = _parse_iso_date(raw_date)
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
        v = raw_value.strip()
        if v.lower() in _MISSING:
            x = None
        else:
            try:
                x = float(v)
            except ValueError:
                raise InputError(
                    f"{path}: line {line}: field 'value': {raw_value!r} is not a number"
                ) from None
            if math.isinf(x):
                raise InputError(
                    f"{path}: line {line}: field 'value': {raw_value!r} is not finite"
                )
        seen[d] = line
        prev = (d, line)
        dates.append(d)
        values.append(x)
    return dates, values


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


def render_csv(analysis: SpcAnalysis) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(POINT_FIELDS)
    for point in analysis.points:
        d = point.to_dict()
        writer.writerow([_csv_cell(d[f]) for f in POINT_FIELDS])
    return out.getvalue()


def render_json(analysis: SpcAnalysis) -> str:
    return json.dumps(analysis.to_dict(), indent=2, allow_nan=False) + "\n"


def _run_spc(args, stdout, stderr) -> int:
    try:
        dates, values = read_series(args.file)
    except InputError as exc:
        print(f"pcnqi spc: error: {exc}", file=stderr)
        return EXIT_BAD_INPUT
    try:
        analysis = analyse(
            dates,
            values,
            improvement=args.improvement,
            target=args.target,
            fix_after_n_points=args.fix_after,
            rebase_dates=args.rebase,
            screen_outliers=args.screen_outliers,
        )
    except SpcInputError as exc:
        print(f"pcnqi spc: error: {args.file}: {exc}", file=stderr)
        return EXIT_BAD_INPUT
    for warning in analysis.warnings:
        print(f"pcnqi spc: warning: {warning}", file=stderr)
    stdout.write(render_json(analysis) if args.format == "json" else render_csv(analysis))
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``pcnqi`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if args.command == "spc":
        return _run_spc(args, sys.stdout, sys.stderr)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return EXIT_BAD_INPUT  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
