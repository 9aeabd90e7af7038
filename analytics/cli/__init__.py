"""``pcnqi``: the practice manager's and the PCN analyst's command line.

    pcnqi spc FILE.csv --improvement increase|decrease|neutral [--target X] [--fix-after N]
          [--rebase DATE ...] [--no-screen-outliers] [--format words|json|csv]
    pcnqi chart FILE.csv -o chart.svg|chart.png  [the options of spc] [--title T] [--unit U]
    pcnqi submit --measure ID FILE.csv [--chunk-size N] [--resend] [--no-progress]
    pcnqi spc --measure ID [--practice CODE] [--format words|json|csv]
    pcnqi chart --measure ID [--practice CODE] -o chart.svg|chart.png

``spc`` and ``chart`` on a FILE.csv (columns ``period`` and ``value``, as ``submit`` and the
service name them; ``date`` is taken for ``period``) run the same SPC engine and chart code as
the measurement service, locally; with ``--measure`` they read the service's own analysis and
chart. ``spc`` leads with the verdict in words; ``--format json|csv`` gives every point, for
scripts. ``submit`` uploads a practice's rows through ``POST /submissions/batch`` in chunks,
each with an ``Idempotency-Key`` derived from the file and the chunk, so running the same
command again after any failure stores nothing twice. The service is ``--api``, else
``PCN_API_URL``, else http://127.0.0.1:8002; the key is ``PCN_API_KEY``.

Also runnable as ``python -m analytics.cli ...``. The exit statuses are in
:data:`EXIT_STATUSES`. One module per part: :mod:`~analytics.cli.commands` (``main``, ``spc``,
``chart``), :mod:`~analytics.cli.submit`, :mod:`~analytics.cli.arguments`,
:mod:`~analytics.cli.output`, :mod:`~analytics.cli.csv_reading`,
:mod:`~analytics.cli.series_file`, :mod:`~analytics.cli.submission_file`,
:mod:`~analytics.cli.chunks`, :mod:`~analytics.cli.service_api`,
:mod:`~analytics.cli.progress`, :mod:`~analytics.cli.exit_statuses`.
"""

from analytics.cli.arguments import DEFAULT_CHUNK_ROWS, build_parser
from analytics.cli.chunks import Chunk, chunk_body, idempotency_key, make_chunks, refused_rows
from analytics.cli.commands import COMMANDS, main
from analytics.cli.csv_reading import InputError
from analytics.cli.exit_statuses import (
    EXIT_NOT_FOUND, EXIT_OK, EXIT_REFUSED, EXIT_SERVICE_ERROR, EXIT_STATUSES, EXIT_UNREACHABLE,
    EXIT_USAGE, CommandFailed,
)
from analytics.cli.output import render_csv, render_json, render_words
from analytics.cli.progress import Progress
from analytics.cli.series_file import read_series
from analytics.cli.service_api import (
    DEFAULT_API_URL, RETRY_PAUSES_SECONDS, MeasurementApi, ServiceAnswer, ServiceRefused,
    ServiceUnreachable,
)
from analytics.cli.submission_file import FileRefused, RowError, SubmissionLine, read_submissions
