"""LEDES 1998B / 1998BI invoice files from the e-billing inbox folder.

Files are read with the project's one LEDES parser (:mod:`lexrecon.ledes.parser`, shared with
``lexrecon check``). Only new and changed files are read: the resource state remembers each
file's size, modification time and SHA-256; a file whose size and time did not change is not
opened, and a file whose content hash was already loaded (under any name) loads nothing again
(it is counted as ``redelivered`` in the tally).

Tables (dataset ``raw_ledes``):
``ledes_files``  one row per file (merge on ``file``): sha256, format, record counts, status.
``ledes_lines``  one row per LEDES record, one text column per field
                 (:func:`lexrecon.ledes.fields.column_name`), plus ``file``, ``record_no``,
                 ``file_sha256``; merged with ``file`` as merge key, so a changed file replaces
                 all of its old lines.
Bad records (wrong field count, unparseable amount or date) and refused files (unknown format
line, wrong field-name line) go to ``quarantine`` with file, line and field.

Configuration: ``sources.ledes.inbox`` (``SOURCES__LEDES__INBOX``), ``sources.ledes.glob``.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import polars as pl

from ingestion.sources.common.ledger import Ledger
from ingestion.sources.ledes_files.helpers import (
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
LINE_HINTS = dlt.mark.make_hints(
    table_name="ledes_lines",
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
    primary_key=("file", "record_no"), merge_key="file", columns=LINE_COLUMNS,
    schema_contract=CONTRACT)
FILE_HINTS = dlt.mark.make_hints(
    table_name="ledes_files", write_disposition="merge", primary_key="file",
    columns=FILE_COLUMNS, schema_contract=CONTRACT)


@dlt.source(name="ledes", section="ledes", max_table_nesting=0)
def ledes_files(
    inbox: str = dlt.config.value,
    glob: str = DEFAULT_GLOB,
    batch_bytes: int = BATCH_BYTES,
    ledger: Any = None,
) -> Any:
    """The inbox folder's LEDES files into ``ledes_files`` and ``ledes_lines``."""
    ledger = ledger if ledger is not None else Ledger("ledes")
    return inbox_files(Path(inbox), glob, batch_bytes, ledger)


def inbox_files(inbox: Path, glob: str, batch_bytes_max: int, ledger: Ledger) -> Any:
    if not inbox.is_dir():
        from ingestion.sources.common.http import SourceError
        raise SourceError("ledes", f"the inbox folder {inbox} does not exist",
                          "Set sources.ledes.inbox (SOURCES__LEDES__INBOX) to the folder the "
                          "e-billing LEDES files are delivered to.")
    ledger.tally("ledes_files")
    ledger.tally("ledes_lines", column_name(MONEY_FIELD))

    # One resource writes both tables (each file is opened, hashed and parsed once); each
    # table gets its own hints as a table variant, so neither inherits the other's keys.
    @dlt.resource(name="ledes_inbox", write_disposition="append", schema_contract=CONTRACT)
    def ledes_inbox() -> Iterator[Any]:
        state = dlt.current.resource_state()
        seen: dict[str, list[Any]] = state.setdefault("files", {})  # name -> size, mtime, sha
        loaded_hashes = {v[2] for v in seen.values()}
        batch: list[tuple[Path, bytes, int, int]] = []
        batch_bytes = 0

        def process() -> Iterator[Any]:
            reads, lines = read_files([(path, data) for path, data, _, _ in batch])
            file_rows = []
            for read, (path, data, size, mtime) in zip(reads, batch, strict=True):
                if read.rejected:
                    ledger.quarantine("ledes_files", rejected_raw(path, data), read.rejected,
                                      file=path.name, line=1, field=None)
                    continue
                for bad in read.bad:
                    ledger.quarantine("ledes_lines", bad.raw_record, bad.reason,
                                      file=path.name, line=bad.line, field=bad.field,
                                      money=bad.money)
                file_rows.append(file_row(read, mtime))
                ledger.count_loaded("ledes_files", 1)
            if lines is not None and lines.height:
                ledger.count_loaded("ledes_lines", lines.height, line_money(lines))
                yield dlt.mark.with_hints(lines.to_arrow(compat_level=pl.CompatLevel.oldest()),
                                          LINE_HINTS, create_table_variant=True)
            if file_rows:
                yield dlt.mark.with_hints(file_rows, FILE_HINTS, create_table_variant=True)

        for path in sorted(inbox.glob(glob)):
            if not path.is_file():
                continue
            st = path.stat()
            prev = seen.get(path.name)
            if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
                continue  # unchanged since it was read: not opened again
            data = path.read_bytes()
            digest = sha256_of(data)
            seen[path.name] = [st.st_size, st.st_mtime_ns, digest]
            if digest in loaded_hashes:
                # the same content was already read (this name or another): nothing twice
                ledger.count_redelivered("ledes_files", 1)
                continue
            loaded_hashes.add(digest)
            batch.append((path, data, st.st_size, st.st_mtime_ns))
            batch_bytes += len(data)
            if batch_bytes >= batch_bytes_max:
                yield from process()
                batch, batch_bytes = [], 0
        if batch:
            yield from process()

    return ledes_inbox
