"""LEDES 1998B / 1998BI invoice files from the e-billing inbox folder.

Files are read with the project's one LEDES parser (:mod:`lexrecon.ledes.parser`, shared with
``lexrecon check``). Only new and changed files are read: the resource state remembers each
file's size, modification time, SHA-256 of its bytes and SHA-256 of its normalised content
(:func:`helpers.content_sha256`: line ends, byte order mark, ``[]`` terminators, blank lines
and the encoding of the same characters do not count); a file whose size and time did not
change is not opened, and a file whose bytes or normalised content were already read (under
any name) loads nothing again (it is counted as ``redelivered`` in the tally).

The state also maps each loaded invoice (LAW_FIRM_ID, CLIENT_ID, INVOICE_NUMBER) to the file
it came from. A new file that holds an invoice already loaded from another file, with other
content, is a conflicting re-delivery: the whole file is quarantined (resource
``ledes_files``, the reason names both files and the invoice) and the first delivery stays;
a revision is loaded by delivering it under the first file's name (a changed file replaces
all of its earlier lines).

Tables (dataset ``raw_ledes``):
``ledes_files``  one row per file (merge on ``file``): sha256, format, record counts, status.
``ledes_lines``  one row per LEDES record, one text column per field
                 (:func:`lexrecon.ledes.fields.column_name`), plus ``file``, ``record_no``,
                 ``file_sha256``; merged with ``file`` as merge key, so a changed file replaces
                 all of its old lines.
Bad records (wrong field count, unparseable amount or date, a negative units, unit cost or
total on a fee or expense line) and refused files (unknown format line, wrong field-name line,
no invoice record, a conflicting re-delivery) go to ``quarantine`` with file, line and field.

Configuration: ``sources.ledes.inbox`` (``SOURCES__LEDES__INBOX``), ``sources.ledes.glob``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dlt
import polars as pl
import pyarrow as pa

from ingestion.sources.common.ledger import Ledger, add_dlt_id, conform, dlt_id_hints
from ingestion.sources.ledes_files.helpers import (
    content_sha256,
    file_row,
    line_money,
    read_files,
    rejected_raw,
    sha256_of,
)
from ingestion.sources.ledes_files.settings import BATCH_BYTES, DEFAULT_GLOB, MONEY_FIELD
from lexrecon.ledes.fields import FIELDS_1998BI, column_name

CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}

LINE_COLUMNS: dict[str, dict[str, Any]] = {
    "file": {"data_type": "text", "nullable": False},
    "record_no": {"data_type": "bigint", "nullable": False},
    "file_sha256": {"data_type": "text", "nullable": False},
    **{column_name(f): {"data_type": "text", "nullable": True} for f in FIELDS_1998BI},
    **dlt_id_hints(),
}
FILE_COLUMNS: dict[str, dict[str, Any]] = {
    "file": {"data_type": "text", "nullable": False},
    "sha256": {"data_type": "text", "nullable": False},
    "format": {"data_type": "text", "nullable": True},
    "record_count": {"data_type": "bigint", "nullable": False},
    "loaded_records": {"data_type": "bigint", "nullable": False},
    "quarantined_records": {"data_type": "bigint", "nullable": False},
    "size_bytes": {"data_type": "bigint", "nullable": False},
    "invoice_number": {"data_type": "text", "nullable": True},
    "invoice_total": {"data_type": "text", "nullable": True},
    "status": {"data_type": "text", "nullable": False},
    "file_modified_ns": {"data_type": "bigint", "nullable": False},
}
FILE_COLUMNS.update(dlt_id_hints())
MERGE = {"disposition": "merge", "strategy": "delete-insert"}


def line_hints(write_disposition: Any = MERGE) -> Any:
    return dlt.mark.make_hints(
        table_name="ledes_lines", write_disposition=write_disposition,
        primary_key=("file", "record_no"), merge_key="file", columns=LINE_COLUMNS,
        schema_contract=CONTRACT)


def file_hints(write_disposition: Any = "merge") -> Any:
    return dlt.mark.make_hints(
        table_name="ledes_files", write_disposition=write_disposition, primary_key="file",
        columns=FILE_COLUMNS, schema_contract=CONTRACT)


LINE_HINTS = line_hints()
FILE_HINTS = file_hints()
# ledes_files rows as Arrow (dlt's per-row JSON normalizer is not needed for them)
FILE_SCHEMA = pa.schema([
    ("file", pa.string()), ("sha256", pa.string()), ("format", pa.string()),
    ("record_count", pa.int64()), ("loaded_records", pa.int64()),
    ("quarantined_records", pa.int64()), ("size_bytes", pa.int64()),
    ("invoice_number", pa.string()), ("invoice_total", pa.string()), ("status", pa.string()),
    ("file_modified_ns", pa.int64()),
])


@dlt.source(name="ledes", section="ledes", max_table_nesting=0)
def ledes_files(
    inbox: str = dlt.config.value,
    glob: str = DEFAULT_GLOB,
    batch_bytes: int = BATCH_BYTES,
    ledger: Any = None,
    append_tables: Sequence[str] = (),
) -> Any:
    """The inbox folder's LEDES files into ``ledes_files`` and ``ledes_lines``.

    ``append_tables``: tables that are still empty, written with ``append`` in this run
    (nothing to replace; each file is read once per run, so keys are unique)."""
    ledger = ledger if ledger is not None else Ledger("ledes")
    return inbox_files(Path(inbox), glob, batch_bytes, ledger, tuple(append_tables))


def inbox_files(inbox: Path, glob: str, batch_bytes_max: int, ledger: Ledger,
                append_tables: tuple[str, ...] = ()) -> Any:
    if not inbox.is_dir():
        from ingestion.sources.common.http import SourceError
        raise SourceError("ledes", f"the inbox folder {inbox} does not exist",
                          "Set sources.ledes.inbox (SOURCES__LEDES__INBOX) to the folder the "
                          "e-billing LEDES files are delivered to.")
    ledger.tally("ledes_files")
    ledger.tally("ledes_lines", column_name(MONEY_FIELD))
    lines_hints = line_hints("append") if "ledes_lines" in append_tables else LINE_HINTS
    files_hints = file_hints("append") if "ledes_files" in append_tables else FILE_HINTS

    # One resource writes both tables (each file is opened, hashed and parsed once); each
    # table gets its own hints as a table variant, so neither inherits the other's keys.
    @dlt.resource(name="ledes_inbox", write_disposition="append", schema_contract=CONTRACT)
    def ledes_inbox() -> Iterator[Any]:
        state = dlt.current.resource_state()
        # name -> [size, mtime_ns, sha256 of the bytes, sha256 of the normalised content]
        seen: dict[str, list[Any]] = state.setdefault("files", {})
        # invoice_key(LAW_FIRM_ID, CLIENT_ID, INVOICE_NUMBER) -> the file it was loaded from
        owners: dict[str, str] = state.setdefault("invoices", {})
        loaded_hashes = {h for v in seen.values() for h in v[2:4]}
        batch: list[tuple[Path, bytes, int, int]] = []
        batch_bytes = 0

        def process() -> Iterator[Any]:
            reads, lines = read_files([(path, data) for path, data, _, _ in batch])
            file_rows = []
            refused: set[str] = set()
            for read, (path, data, size, mtime) in zip(reads, batch, strict=True):
                if read.rejected:
                    ledger.quarantine("ledes_files", rejected_raw(path, data), read.rejected,
                                      file=path.name, line=1, field=None)
                    continue
                conflict = next(((key, owners[key]) for key in read.invoices
                                 if owners.get(key, path.name) != path.name), None)
                if conflict is not None:
                    ledger.quarantine("ledes_files", rejected_raw(path, data),
                                      conflict_reason(path.name, *conflict),
                                      file=path.name, line=None, field=None)
                    refused.add(path.name)
                    # not "read" for re-delivery: the same content may still come as a
                    # revision under the first file's name
                    loaded_hashes.difference_update(seen[path.name][2:4])
                    seen[path.name][2:4] = [None, None]
                    continue
                for key in read.invoices:
                    owners[key] = path.name
                for bad in read.bad:
                    ledger.quarantine("ledes_lines", bad.raw_record, bad.reason,
                                      file=path.name, line=bad.line, field=bad.field,
                                      money=bad.money)
                file_rows.append(file_row(read, mtime))
                ledger.count_loaded("ledes_files", 1)
            if lines is not None and refused:
                lines = lines.filter(~pl.col("file").is_in(list(refused)))
            if lines is not None and lines.height:
                ledger.count_loaded("ledes_lines", lines.height, line_money(lines))
                table = add_dlt_id(lines.to_arrow(compat_level=pl.CompatLevel.oldest()))
                yield dlt.mark.with_hints(conform(table, LINE_COLUMNS), lines_hints,
                                          create_table_variant=True)
            if file_rows:
                table = add_dlt_id(pa.Table.from_pylist(file_rows, schema=FILE_SCHEMA))
                yield dlt.mark.with_hints(conform(table, FILE_COLUMNS), files_hints,
                                          create_table_variant=True)

        for path in sorted(inbox.glob(glob)):
            if not path.is_file():
                continue
            st = path.stat()
            prev = seen.get(path.name)
            if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
                continue  # unchanged since it was read: not opened again
            data = path.read_bytes()
            digest, content = sha256_of(data), content_sha256(data)
            seen[path.name] = [st.st_size, st.st_mtime_ns, digest, content]
            if digest in loaded_hashes or content in loaded_hashes:
                # the same records were already read (this name or another, in these bytes or
                # with other line ends, BOM, terminators): nothing twice
                ledger.count_redelivered("ledes_files", 1)
                continue
            loaded_hashes.update((digest, content))
            batch.append((path, data, st.st_size, st.st_mtime_ns))
            batch_bytes += len(data)
            if batch_bytes >= batch_bytes_max:
                yield from process()
                batch, batch_bytes = [], 0
        if batch:
            yield from process()

    return ledes_inbox


def conflict_reason(name: str, key: str, owner: str) -> str:
    """Why a file holding an invoice already loaded from another file, with other content,
    is quarantined instead of loaded."""
    firm, client, number = key.split("|", 2)
    return (f"{name}: invoice {number} (client {client}, law firm {firm}) was already loaded "
            f"from {owner} with different content; this file is not loaded, so the invoice does "
            f"not count twice. If it is a revision of that invoice, deliver it as {owner} (a "
            "changed file replaces its earlier lines); if it is another invoice, give it its "
            "own invoice number")
