"""Reading one LEDES file with the project's parser and splitting good and bad records."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from ingestion.sources.common.ledger import raw_json
from ingestion.sources.ledes_files.settings import (
    DATE_FIELDS,
    INVOICE_KEY,
    MONEY_FIELD,
    NUMBER_FIELDS,
    RAW_FILE_CHARS,
)
from lexrecon.ledes import values
from lexrecon.ledes.fields import column_name
from lexrecon.ledes.parser import decode, parse_ledes_many


@dataclass
class BadLine:
    line: int | None
    field: str | None
    reason: str
    raw_record: str
    money: Decimal | None


@dataclass
class ReadFile:
    name: str
    sha256: str
    size: int
    format: str | None
    lines: pl.DataFrame          # the parser's records of this file (before value checks)
    bad: list[BadLine]
    rejected: str | None         # why the whole file was refused (bad format line / header)
    invoice_number: str | None
    invoice_total: str | None
    loaded: int = 0              # good records after the value checks
    # the file's invoices, as invoice_key(LAW_FIRM_ID, CLIENT_ID, INVOICE_NUMBER)
    invoices: list[str] = field(default_factory=list)

    @property
    def record_count(self) -> int:
        return self.loaded + len(self.bad)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_sha256(data: bytes) -> str:
    """SHA-256 of the file's text with its framing normalised: decoded as the parser decodes
    (a UTF-8 byte order mark dropped; Windows-1252 when not UTF-8), CRLF or CR line ends as LF,
    ``[]`` record terminators and blank lines removed. Two deliveries of the same records that
    differ only in those bytes get the same value (C-speed string operations only)."""
    text = decode(data)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("[]\n", "\n").removesuffix("[]")
    while "\n\n" in text:
        text = text.replace("\n\n", "\n")
    return hashlib.sha256(text.strip("\n").encode("utf-8", "surrogatepass")).hexdigest()


def invoice_key(law_firm_id: str, client_id: str, invoice_number: str) -> str:
    """An invoice's identity: the same number may be used by another firm or client."""
    return f"{law_firm_id}|{client_id}|{invoice_number}"


def _money(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text.strip()) if text.strip() else None
    except (ArithmeticError, ValueError):
        return None


def read_files(items: list[tuple[Path, bytes]]) -> tuple[list[ReadFile], pl.DataFrame | None]:
    """Parse a batch of files with :func:`lexrecon.ledes.parser.parse_ledes_many` (one polars
    pass per format) and check their values in one vectorised pass: one ReadFile per item and
    the good lines of the whole batch as one frame (None if there are none)."""
    parsed_all = parse_ledes_many([(data, path.name) for path, data in items])
    out: list[ReadFile | None] = [None] * len(items)
    frames: list[pl.DataFrame] = []
    digests: list[str] = []
    for k, ((path, data), parsed) in enumerate(zip(items, parsed_all, strict=True)):
        digest = sha256_of(data)
        digests.append(digest)
        codes = parsed.findings["code"].to_list() if parsed.findings.height else []
        if parsed.format is None or (parsed.lines.height == 0 and codes and codes[0] in (
                "LEDES_FORMAT", "LEDES_COLUMNS", "LEDES_REQUIRED")):
            message = parsed.findings["message"][0] if codes else "no records"
            out[k] = ReadFile(path.name, digest, len(data), parsed.format, parsed.lines, [],
                              f"{codes[0] if codes else 'LEDES_FORMAT'}: {message}", None, None)
            continue
        bad: list[BadLine] = []
        if "LEDES_FIELD_COUNT" in codes:
            text_lines = decode(data).split("\n")
            fc = parsed.findings.filter(pl.col("code") == "LEDES_FIELD_COUNT")
            for row in fc.iter_rows(named=True):
                no = row["record_no"]
                raw = text_lines[no - 1].rstrip("\r") if no and no <= len(text_lines) else ""
                bad.append(BadLine(no, None, f"LEDES_FIELD_COUNT: {row['message']}",
                                   raw_json(raw), None))
        out[k] = ReadFile(path.name, digest, len(data), parsed.format, parsed.lines, bad, None,
                          None, None)
        if parsed.lines.height:
            frames.append(parsed.lines)
    if not frames:
        return [r for r in out if r is not None], None
    # one frame: same-format slices stacked, then formats aligned (1998B has fewer columns)
    by_width: dict[int, list[pl.DataFrame]] = {}
    for frame in frames:
        by_width.setdefault(frame.width, []).append(frame)
    stacked = [pl.concat(group, how="vertical", rechunk=True) for group in by_width.values()]
    lines = pl.concat(stacked, how="diagonal") if len(stacked) > 1 else stacked[0]
    sha_of = {r.name: r.sha256 for r in out if r is not None}
    lines = lines.with_columns(file_sha256=pl.col("file").replace_strict(sha_of,
                                                                         return_dtype=pl.Utf8))
    heads = lines.group_by("file").agg(pl.col("invoice_number").first(),
                                       pl.col("invoice_total").first())
    head_of = {file: (number, total) for file, number, total in heads.iter_rows()}
    # each file's invoices: (LAW_FIRM_ID, CLIENT_ID, INVOICE_NUMBER), over all its records
    ids = lines.select("file", *[values.text(column_name(f)).alias(f) for f in INVOICE_KEY]) \
        .unique(maintain_order=True)
    invoices_of: dict[str, list[str]] = {}
    for file, *key in ids.iter_rows():
        if key[-1]:  # a record without an invoice number is the value checks' business
            invoices_of.setdefault(file, []).append(invoice_key(*key))
    # values that cannot be read (unparseable amounts, impossible dates) and amounts that
    # cannot be negative (units, unit cost and total of fee and expense lines), vectorised
    kind = values.text(column_name("EXP/FEE/INV_ADJ_TYPE"))
    checks = [(f"{f}|number", values.is_bad_number(column_name(f))) for f in NUMBER_FIELDS
              if column_name(f) in lines.columns]
    checks += [(f"{f}|date", values.is_bad_date(column_name(f))) for f in DATE_FIELDS
               if column_name(f) in lines.columns]
    checks += [(f"{f}|negative", values.is_negative_on_fee_or_expense(kind, column_name(f)))
               for f in values.NON_NEGATIVE_ON_FEES_AND_EXPENSES if column_name(f) in lines.columns]
    flags = lines.select(*[expr.alias(label) for label, expr in checks])
    any_bad = flags.select(pl.any_horizontal(pl.all())).to_series()
    index = {r.name: r for r in out if r is not None}
    if any_bad.any():
        bad_idx = any_bad.arg_true().to_list()
        for row, flag in zip(lines[bad_idx].iter_rows(named=True),
                             flags[bad_idx].iter_rows(named=True), strict=True):
            field, problem = next(k for k, is_bad in flag.items() if is_bad).split("|")
            value = row[column_name(field)]
            line_type = (row.get(column_name("EXP/FEE/INV_ADJ_TYPE")) or "").strip()
            reason = {
                "number": f"{field} on line {row['record_no']} is {value!r}, not a number",
                "date": f"{field} on line {row['record_no']} is {value!r}, not a YYYYMMDD date",
                "negative": f"{field} on line {row['record_no']} is {value!r}: negative on an "
                            f"{line_type} line (a fee or expense line cannot be negative; a "
                            "discount goes in LINE_ITEM_ADJUSTMENT_AMOUNT, a credit on an IF "
                            "or IE line)",
            }[problem]
            record = {k: v for k, v in row.items()
                      if k not in ("file", "record_no", "file_sha256") and v is not None}
            readable = field != MONEY_FIELD or problem == "negative"
            index[row["file"]].bad.append(BadLine(
                row["record_no"], field, reason, raw_json(record),
                _money(row.get(column_name(MONEY_FIELD))) if readable else None))
        lines = lines.filter(~any_bad)
    # the good lines of the batch, one frame; per file only the counts are needed
    counts = dict(lines.group_by("file").len().iter_rows()) if lines.height else {}
    for r in index.values():
        r.bad.sort(key=lambda b: b.line or 0)
        r.invoices = invoices_of.get(r.name, [])
        r.loaded = counts.get(r.name, 0)
        r.invoice_number, r.invoice_total = head_of.get(r.name, (None, None))
    return [r for r in out if r is not None], lines


def read_file(path: Path, data: bytes | None = None) -> ReadFile:
    """One file (see :func:`read_files`)."""
    return read_files([(path, path.read_bytes() if data is None else data)])[0][0]


def rejected_raw(path: Path, data: bytes) -> str:
    """What the quarantine keeps of a refused file: its first characters, as JSON text."""
    text = decode(data)
    return raw_json({"file": path.name, "head": text[:RAW_FILE_CHARS],
                     "truncated": len(text) > RAW_FILE_CHARS})


def file_row(read: ReadFile, modified_ns: int) -> dict[str, Any]:
    return {
        "file": read.name, "sha256": read.sha256, "format": read.format,
        "record_count": read.record_count, "loaded_records": read.loaded,
        "quarantined_records": len(read.bad), "size_bytes": read.size,
        "invoice_number": read.invoice_number, "invoice_total": read.invoice_total,
        "status": "rejected" if read.rejected else ("partial" if read.bad else "loaded"),
        "file_modified_ns": modified_ns,
    }


def line_money(lines: pl.DataFrame) -> Decimal:
    col = column_name(MONEY_FIELD)
    if lines.height == 0 or col not in lines.columns:
        return Decimal(0)
    total = lines.select(values.number(col).sum()).item()
    return Decimal(total) if total is not None else Decimal(0)
