"""``pcnqi``'s entry point, :func:`main`, and its ``spc`` and ``chart`` commands (``submit`` is
in :mod:`analytics.cli.submit`): a CSV file analysed locally, or a measure's analysis and
chart read from the service."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

from analytics.cli.arguments import build_parser
from analytics.cli.csv_reading import InputError
from analytics.cli.exit_statuses import (
    EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE, CommandFailed,
)
from analytics.cli.output import render_csv, render_json, render_words
from analytics.cli.series_file import read_series
from analytics.cli.service_api import ServiceRefused, ServiceUnreachable, api_for
from analytics.cli.submit import run_submit
from analytics.spc import SpcAnalysis, SpcInputError, analyse

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


def _local_analysis(args, stderr) -> SpcAnalysis:
    try:
        dates, values = read_series(args.file)
    except InputError as exc:
        raise CommandFailed(EXIT_REFUSED, str(exc)) from None
    try:
        analysis = analyse(dates, values, improvement=args.improvement, target=args.target,
                           fix_after_n_points=args.fix_after, rebase_dates=args.rebase,
                           screen_outliers=args.screen_outliers)
    except SpcInputError as exc:
        raise CommandFailed(EXIT_REFUSED, f"{args.file}: {exc}") from None
    for warning in analysis.warnings:
        print(f"pcnqi {args.command}: warning: {warning}", file=stderr)
    return analysis


def _chart_format(args, charts) -> str:
    suffix = Path(args.output).suffix.lower().lstrip(".")
    if suffix not in charts.FORMATS:
        raise CommandFailed(EXIT_USAGE, f"-o {args.output}: name a .svg or .png file")
    return suffix


def run_spc(args, stdout, stderr, environ, today: date) -> None:
    """``pcnqi spc``: the verdict in words, or every point as JSON or CSV."""
    _check_source(args)
    if args.measure:
        api = api_for(args.api, environ)
        served = api.spc(args.measure, args.practice)
        if args.format == "words":  # the target the service's assurance is measured against
            target = api.measure(args.measure).get("target")
            stdout.write(render_words(SpcAnalysis.from_dict(served), target))
            return
    else:
        analysis = _local_analysis(args, stderr)
        if args.format == "words":
            stdout.write(render_words(analysis, args.target))
            return
        served = analysis.to_dict()
    stdout.write(render_json(served) if args.format == "json"
                 else render_csv(served["points"]))


def run_chart(args, stdout, stderr, environ, today: date) -> None:
    """``pcnqi chart``: the Making Data Count chart, drawn here or by the service."""
    # matplotlib takes seconds to import: only this command loads it
    from analytics import charts

    _check_source(args)
    fmt = _chart_format(args, charts)
    if args.measure:
        image = api_for(args.api, environ).chart(args.measure, fmt, args.practice)
    else:
        analysis = _local_analysis(args, stderr)
        image = charts.render_chart(analysis, title=args.title or Path(args.file).stem,
                                    unit=args.unit, target=args.target, fmt=fmt)
    try:
        Path(args.output).write_bytes(image)
    except OSError as exc:
        raise CommandFailed(EXIT_REFUSED, f"cannot write {args.output!r}: "
                                          f"{exc.strerror or exc}") from None
    print(f"{args.output}: {fmt.upper()} chart, {len(image)} bytes", file=stdout)


COMMANDS = {"spc": run_spc, "chart": run_chart, "submit": run_submit}


def main(argv: Optional[Sequence[str]] = None, environ=None,
         today: Optional[date] = None) -> int:
    """Entry point of the ``pcnqi`` console script; returns the exit status.

    ``environ`` defaults to the process's environment, ``today`` (the last day a submitted
    period may start on) to today's date in UTC; tests pass both."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    environ = os.environ if environ is None else environ
    today = datetime.now(timezone.utc).date() if today is None else today
    try:
        COMMANDS[args.command](args, sys.stdout, sys.stderr, environ, today)
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
