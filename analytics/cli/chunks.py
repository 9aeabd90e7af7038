"""A checked submission file as chunks of rows: the exact bytes of each batch request and
its ``Idempotency-Key``, and the service's refusal of a chunk mapped back to the file's lines."""

from __future__ import annotations

import hashlib
import json
import re
from typing import NamedTuple, Sequence

from analytics.cli.submission_file import RowError, SubmissionLine
from analytics.submission_rules import MAX_BATCH_ROWS


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
