"""``pcnqi submit``: a practice's rows of a measure, checked whole, then sent in chunks that
are safe to send again (each with its ``Idempotency-Key``), with a progress bar."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

from analytics.cli.chunks import make_chunks, refused_rows
from analytics.cli.csv_reading import InputError
from analytics.cli.exit_statuses import EXIT_REFUSED, EXIT_UNREACHABLE, CommandFailed
from analytics.cli.progress import Progress
from analytics.cli.service_api import ServiceRefused, ServiceUnreachable, api_for
from analytics.cli.submission_file import FileRefused, read_submissions


def run_submit(args, stdout, stderr, environ, today: date) -> None:
    """``pcnqi submit``: check the whole file, then send it in chunks; ``today`` is the last
    day a period may start on."""
    api = api_for(args.api, environ)
    measure = api.measure(args.measure)
    if measure.get("feedback_source"):
        raise CommandFailed(EXIT_REFUSED, f"{args.measure} is fed by feedback "
                                          "(POST /projects/{id}/feedback), not by submissions")
    try:
        lines, file_digest = read_submissions(args.file, measure, today)
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
