"""Read a LEDES 1998B / 1998BI file into a polars DataFrame of line records.

``parse_ledes(data, file)`` never raises on bad content: whatever the bytes, it returns a
:class:`LedesFile` whose ``lines`` frame holds the well-formed records and whose ``findings``
frame holds the structural problems (LEDES_FORMAT, LEDES_COLUMNS, LEDES_FIELD_COUNT).

A file whose format and field-name lines are fine but that holds no record after them gets
one file-level LEDES_REQUIRED finding (an invoice file without an invoice: every required
field is missing; see docs/check.md).

``lines`` has one Utf8 column per field of the file's format, named by
:func:`lexrecon.ledes.fields.column_name`, plus ``file`` (the path as given) and
``record_no`` (1-based line number in the file; the format line is 1, the field names 2).
Values are kept exactly as written (no trimming); checks decide how to read them.

Accepted framing: LF or CRLF line ends, ``[]`` record terminators (optional), trailing or
interspersed blank lines, a UTF-8 byte order mark. Bytes that are not UTF-8 are read as
Windows-1252 (the "ANSI" of the e-billing portals); non-ASCII is flagged later as a warning.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from lexrecon.ledes.fields import (
    FIELDS_1998B,
    FIELDS_1998BI,
    FORMAT_1998B,
    FORMATS_1998BI,
    column_name,
)
from lexrecon.ledes.findings import empty_findings, findings_frame

RECORD_END = "[]"


@dataclass(frozen=True)
class LedesFile:
    """One parsed file: its format line (None if unknown), field list, records and findings."""

    file: str
    format: str | None
    fields: tuple[str, ...]
    lines: pl.DataFrame
    findings: pl.DataFrame

    @property
    def is_1998bi(self) -> bool:
        return self.format in FORMATS_1998BI


def fields_for_format(format_line: str) -> tuple[str, ...] | None:
    """The field list for a format line such as ``LEDES1998B[]``, or None if unknown."""
    if format_line == FORMAT_1998B:
        return FIELDS_1998B
    if format_line in FORMATS_1998BI:
        return FIELDS_1998BI
    return None


def empty_lines(fields: tuple[str, ...] = FIELDS_1998B) -> pl.DataFrame:
    """A line-record frame with no rows (the shape :func:`parse_ledes` returns)."""
    schema: dict[str, pl.DataType] = {"file": pl.Utf8(), "record_no": pl.Int64()}
    schema.update({column_name(f): pl.Utf8() for f in fields})
    return pl.DataFrame(schema=schema)


def decode(data: bytes) -> str:
    """Bytes to text: UTF-8 (BOM dropped), else Windows-1252 with replacement characters."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _strip_record_end(line: str) -> str:
    line = line.rstrip("\r")
    return line.removesuffix(RECORD_END)


def _show(text: str, limit: int = 60) -> str:
    """A value quoted for a message, shortened if long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def read_ledes(path: str | Path) -> LedesFile:
    """Read and parse a file; raises OSError only if the file cannot be read."""
    return parse_ledes(Path(path).read_bytes(), str(path))


def parse_ledes(data: bytes, file: str) -> LedesFile:
    """Parse LEDES bytes; structural problems become findings, never exceptions."""
    return parse_ledes_many([(data, file)])[0]


def parse_ledes_many(items: Sequence[tuple[bytes, str]]) -> list[LedesFile]:
    """Parse several files at once (one polars pass per format, so thousands of small
    invoices are cheap). Returns one :class:`LedesFile` per item, in order."""
    labels = [_label(file) for _, file in items]
    if len(set(labels)) < len(labels):  # the same label twice: keep the files apart
        return [parse_ledes_many([item])[0] for item in items]
    done: dict[int, LedesFile] = {}
    batches: dict[tuple[str, ...], list[tuple[int, str, str, list[str]]]] = {}
    for index, ((data, _), file) in enumerate(zip(items, labels, strict=True)):
        outcome = _read_framing(data, file)
        if isinstance(outcome, LedesFile):
            done[index] = outcome
        else:
            format_line, fields, records = outcome
            batches.setdefault(fields, []).append((index, file, format_line, records))
    for fields, batch in batches.items():
        done.update(_parse_records(fields, batch))
    return [done[i] for i in range(len(items))]


def _label(file: str) -> str:
    """A path that is not valid UTF-8 (undecodable bytes in a file name) is shown escaped."""
    return file.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _read_framing(data: bytes, file: str
                  ) -> LedesFile | tuple[str, tuple[str, ...], list[str]]:
    """Check lines 1 and 2; a LedesFile with the finding, or (format, fields, lines 3..)."""
    raw_lines = decode(data).split("\n")
    while raw_lines and not raw_lines[-1].strip():
        raw_lines.pop()

    def file_finding(code: str, message: str, format_line: str | None = None,
                     fields: tuple[str, ...] = ()) -> LedesFile:
        frame = findings_frame([{"file": file, "code": code, "message": message}])
        return LedesFile(file, format_line, fields, empty_lines(fields or FIELDS_1998B), frame)

    if not raw_lines:
        return file_finding("LEDES_FORMAT", "the file is empty; expected LEDES1998B[] or "
                            "LEDES98BI V2[] on line 1")
    format_line = raw_lines[0].rstrip("\r").strip()
    fields = fields_for_format(format_line)
    if fields is None:
        return file_finding(
            "LEDES_FORMAT",
            f"line 1 is {_show(format_line)}, not a known format line "
            f"({FORMAT_1998B}, {' or '.join(FORMATS_1998BI)})",
        )
    header = _strip_record_end(raw_lines[1]).strip() if len(raw_lines) > 1 else ""
    if header != "|".join(fields):
        got = header.split("|")
        wrong = [
            f"field {i + 1} is {_show(g, 30)}, expected {f}"
            for i, (g, f) in enumerate(zip(got, fields, strict=False))
            if g != f
        ][:3]
        if len(got) != len(fields):
            wrong.append(f"{len(got)} names where {format_line} has {len(fields)}")
        detail = "; ".join(wrong) if header else "it is missing"
        return file_finding(
            "LEDES_COLUMNS", f"line 2 is not the {format_line} field-name list: {detail}",
            format_line, fields,
        )
    if len(raw_lines) <= 2:  # (blank lines after the header were dropped above)
        return file_finding(
            "LEDES_REQUIRED",
            f"{file} has the {format_line} format line and field names but no invoice "
            "record after them (cut off?): an invoice file needs at least one line item with "
            "the required fields (INVOICE_NUMBER, INVOICE_DATE, CLIENT_ID, LINE_ITEM_TOTAL, ...)",
            format_line, fields,
        )
    return format_line, fields, raw_lines[2:]


def _parse_records(fields: tuple[str, ...], batch: list[tuple[int, str, str, list[str]]]
                   ) -> dict[int, LedesFile]:
    """Split the records of a batch of same-format files into fields, in one polars pass."""
    files: list[str] = []
    numbers: list[int] = []
    raw: list[str] = []
    for _, file, _, records in batch:
        files.extend([file] * len(records))
        numbers.extend(range(3, len(records) + 3))
        raw.extend(records)
    frame = (
        pl.DataFrame({"file": files, "record_no": numbers, "raw": raw},
                     schema={"file": pl.Utf8(), "record_no": pl.Int64(), "raw": pl.Utf8()})
        .filter(pl.col("raw").str.strip_chars() != "")
        .with_columns(
            parts=pl.col("raw").str.strip_chars_end("\r").str.strip_suffix(RECORD_END)
            .str.split("|")
        )
        .with_columns(n=pl.col("parts").list.len())
    )
    lines = frame.filter(pl.col("n") == len(fields)).select(
        "file", "record_no",
        *[pl.col("parts").list.get(i).alias(column_name(f)) for i, f in enumerate(fields)],
    )
    bad = frame.filter(pl.col("n") != len(fields)).select(
        "file",
        pl.col("parts").list.get(1, null_on_oob=True).str.strip_chars().alias("invoice_number"),
        pl.col("parts").list.get(8, null_on_oob=True).str.strip_chars()
        .alias("line_item_number"),
        pl.lit("LEDES_FIELD_COUNT").alias("code"),
        pl.lit("error").alias("severity"),
        pl.format(
            "record on line {} has {} fields; {} has {} (check for a '|' inside a value or "
            "a missing field)",
            "record_no", "n", pl.lit("LEDES 1998BI" if len(fields) == 52 else "LEDES 1998B"),
            pl.lit(len(fields)),
        ).alias("message"),
        pl.lit(None, dtype=pl.Utf8).alias("amount_at_risk"),
        "record_no",
    )
    # Records stay in batch order, so each file's lines are one slice (no copy).
    counts = dict(lines.group_by("file", maintain_order=True).len().iter_rows())
    by_file: dict[tuple[str], pl.DataFrame] = {}
    offset = 0
    for _, file, _, _ in batch:
        if counts.get(file):
            by_file[(file,)] = lines.slice(offset, counts[file])
            offset += counts[file]
    bad_by_file = bad.partition_by("file", as_dict=True, maintain_order=True) \
        if bad.height else {}
    no_lines, no_findings = lines.clear(), empty_findings()  # shared: frames are immutable
    return {
        index: LedesFile(
            file, format_line, fields,
            by_file.get((file,), no_lines),
            bad_by_file.get((file,), no_findings),
        )
        for index, file, format_line, _ in batch
    }
