"""CSV files as spreadsheets write them: a staff import and a session's register. Every common
line ending reads (``\\r\\n``, ``\\n``, a bare ``\\r``), with or without a byte-order mark, and a
quoted field may hold line breaks; what cannot be read is refused naming ``csv`` and the line."""
import csv
import io

from services.training.domain.people import MAX_IMPORT_ROWS
from shared.domain import RuleBroken

BYTE_ORDER_MARK = "\ufeff"


def csv_records(text):
    """(line number, values) of each record of CSV ``text``, whichever line ending a
    spreadsheet wrote (``\\r\\n``, ``\\n`` or a bare ``\\r``), with or without a byte-order mark;
    a quoted field may hold line breaks (the number is the line its record starts on). A
    record that cannot be read refuses the file, naming ``csv`` and the line."""
    # newline="": the csv module splits the lines itself, so every line ending reads.
    reader = csv.reader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK), newline=""))
    line = 1
    try:
        for values in reader:
            yield line, values
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RuleBroken("the CSV cannot be read; nothing was written",
                         {"csv": [f"line {line}: {exc}"]}) from None


def csv_rows(text):
    """(the header's column names, or None for no header; an iterator of the rows as dicts
    by column, a value missing at a row's end as None). Blank lines are skipped; a row with
    more values than the header has columns refuses the file, naming its line."""
    records = csv_records(text)
    _, header = next(records, (1, None))

    def rows():
        for line, values in records:
            if not values:
                continue
            if len(values) > len(header):
                raise RuleBroken("a row has more values than the header has columns", {
                    "csv": [f"line {line}: {len(values)} values for {len(header)} columns"]})
            yield dict(zip(header, values + [None] * (len(header) - len(values))))
    return header, rows()


def parse_register_csv(text):
    """A session's register as CSV with a header ``staff_id,status``: the rows as dicts."""
    header, rows = csv_rows(text)
    if not header or {"staff_id", "status"} - set(header):
        raise RuleBroken("the register needs the columns staff_id and status",
                         {"csv": [f"header is {header}"]})
    rows = list(rows)
    if len(rows) > MAX_IMPORT_ROWS:
        raise RuleBroken(f"at most {MAX_IMPORT_ROWS} rows", {"csv": [f"{len(rows)} rows"]})
    return rows


def parse_staff_csv(text):
    """A staff import as CSV with a header row of StaffIn's fields: the rows as dicts, empty
    values left out."""
    header, found = csv_rows(text)
    if not header:
        raise RuleBroken("the file is empty", {"csv": ["give a header row and rows"]})
    rows = []
    for row in found:
        if len(rows) >= MAX_IMPORT_ROWS:
            raise RuleBroken(f"at most {MAX_IMPORT_ROWS} rows per import",
                             {"csv": ["too many rows; split the file"]})
        rows.append({k: v for k, v in row.items() if v not in (None, "")})
    return rows
