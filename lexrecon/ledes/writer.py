"""Write LEDES 1998B / 1998BI text from rows (used by ``lexrecon ledes export`` and tests).

``ledes_text(rows, format_line=FORMAT_1998B)`` returns the file's text and
``write_ledes_file(path, rows, ...)`` writes it. A row is a mapping keyed by column name
(:func:`lexrecon.ledes.fields.column_name`, e.g. ``line_item_total``) or by LEDES field
name; a polars DataFrame with those columns works too. Missing keys and None write as blank;
other values are written with ``str()`` (use Decimal or text for money, never float).
A value holding ``|``, a newline or ``[]`` cannot be represented and raises ValueError.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from lexrecon.ledes.fields import FORMAT_1998B, column_name
from lexrecon.ledes.parser import fields_for_format

FORBIDDEN = ("|", "\n", "\r", "[]")


def _record(row: Mapping[str, Any], fields: tuple[str, ...], names: tuple[str, ...],
            line: int) -> str:
    values = []
    for field, name in zip(fields, names, strict=True):
        value = row.get(name, row.get(field))
        if isinstance(value, float):
            raise TypeError(f"row {line}: {field} is a float ({value!r}); "
                             "pass Decimal or text")
        values.append("" if value is None else str(value))
    record = "|".join(values)
    if record.count("|") != len(fields) - 1 or any(b in record for b in FORBIDDEN[1:]):
        for field, value in zip(fields, values, strict=True):
            for bad in FORBIDDEN:
                if bad in value:
                    raise ValueError(f"row {line}: {field} value {value[:40]!r} contains "
                                     f"{bad!r}, which LEDES cannot carry")
    return record + "[]"


def ledes_text(rows: Iterable[Mapping[str, Any]] | pl.DataFrame,
               format_line: str = FORMAT_1998B, line_end: str = "\r\n") -> str:
    """The whole file: format line, field names, one ``[]``-terminated record per row."""
    fields = fields_for_format(format_line)
    if fields is None:
        raise ValueError(f"unknown LEDES format line {format_line!r}")
    names = tuple(column_name(f) for f in fields)
    records = rows.iter_rows(named=True) if isinstance(rows, pl.DataFrame) else rows
    out = [format_line, "|".join(fields) + "[]"]
    out.extend(_record(row, fields, names, i) for i, row in enumerate(records, start=1))
    return line_end.join(out) + line_end


def write_ledes_file(path: str | Path, rows: Iterable[Mapping[str, Any]] | pl.DataFrame,
                     format_line: str = FORMAT_1998B, line_end: str = "\r\n") -> None:
    Path(path).write_text(ledes_text(rows, format_line, line_end), encoding="utf-8",
                          newline="")
