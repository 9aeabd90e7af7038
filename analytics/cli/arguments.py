"""The command line's words: ``pcnqi``'s commands, their options and examples, and the
checks on each option's value (a bad one is exit status 2 with argparse's usage line)."""

from __future__ import annotations

import argparse
import math
from datetime import date

from analytics.cli.csv_reading import parse_iso_date
from analytics.cli.exit_statuses import exit_status_text
from analytics.cli.service_api import DEFAULT_API_URL
from analytics.cli.submission_file import ODS_CODE
from analytics.spc import IMPROVEMENT_DIRECTIONS
from analytics.submission_rules import MAX_BATCH_ROWS

DEFAULT_CHUNK_ROWS = 250
FORMATS = ("words", "json", "csv")


def _arg_date(text: str) -> date:
    try:
        return parse_iso_date(text)
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


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _arg_fix_after(text: str) -> int:
    n = _whole_number(text)
    if n < 12:
        raise argparse.ArgumentTypeError(
            f"{n} is too small: fix_after_n_points must be at least 12"
        )
    return n


def _arg_chunk_rows(text: str) -> int:
    n = _whole_number(text)
    if not 1 <= n <= MAX_BATCH_ROWS:
        raise argparse.ArgumentTypeError(f"{n} is not from 1 to {MAX_BATCH_ROWS}")
    return n


def _arg_practice(text: str) -> str:
    if not ODS_CODE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an ODS practice code such as F84001")
    return text


_SERVICE_TEXT = (f"the service: --api, else $PCN_API_URL, else {DEFAULT_API_URL};\n"
                 "the key: $PCN_API_KEY")

_TOP_EXAMPLES = """\
  pcnqi spc smr.csv --improvement increase --target 0.6
  pcnqi chart smr.csv --improvement increase --target 0.6 -o smr.svg
  pcnqi submit --measure msr_0123abcd weekly.csv
  pcnqi spc --measure msr_0123abcd --practice F84001
  pcnqi chart --measure msr_0123abcd -o pooled.png
"""
_SERIES_FILE = """FILE.csv: a header, then one row per period (other columns are ignored):
  period,value
  2026-01-05,0.52
"""
_SPC_EXAMPLES = _SERIES_FILE + """
examples:
  pcnqi spc smr.csv --improvement increase --target 0.6
  pcnqi spc smr.csv --improvement increase --target 0.6 --format json > smr.json
  pcnqi spc smr.csv --improvement decrease --rebase 2025-03-03 --format csv > points.csv
  PCN_API_KEY=pcn_... pcnqi spc --measure msr_0123abcd --practice F84001
"""
_CHART_EXAMPLES = _SERIES_FILE + """
examples:
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
                        help="CSV file with columns period,value (or use --measure)")
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
        parser.add_argument(
            "--format", choices=FORMATS, default="words",
            help="words: the verdict first, for a person (default); json or csv: every "
                 "point, for scripts")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="pcnqi", formatter_class=formatter,
        description="PCN Improvement Network quality-improvement tools: SPC analysis and "
                    "Making Data Count charts of a CSV file or of a measure in the service, "
                    "and bulk upload of a practice's data.",
        epilog=f"examples:\n{_TOP_EXAMPLES}\n{_SERVICE_TEXT}\n\n{exit_status_text()}\n\n"
               "'pcnqi COMMAND --help' shows each command's options and more examples")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    spc = sub.add_parser(
        "spc", formatter_class=formatter,
        help="XmR (statistical process control) analysis of a series",
        description="XmR chart analysis matching NHSRplotthedots v0.2.2 ('Making Data "
                    "Count') of a CSV with columns period,value, or of a measure's pooled or "
                    "practice series in the service (whose options come from the measure).",
        epilog=f"{_SPC_EXAMPLES}\n{_SERVICE_TEXT}\n\n{exit_status_text()}")
    _add_spc_options(spc, with_format=True)

    chart = sub.add_parser(
        "chart", formatter_class=formatter,
        help="Making Data Count chart (SVG or PNG) of a series",
        description="The Making Data Count XmR chart, drawn by the same code as the service, "
                    "of a CSV with columns period,value, or of a measure in the service.",
        epilog=f"{_CHART_EXAMPLES}\n{_SERVICE_TEXT}\n\n{exit_status_text()}")
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
        epilog=f"{_SUBMIT_EXAMPLES}\n{_SERVICE_TEXT}\n\n{exit_status_text()}")
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
