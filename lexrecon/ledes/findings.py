"""The finding record shared by the LEDES file checks and the OCG rules engine.

A findings frame has the contract's keys as columns (see shared/spec/check-contract.md):
``file, invoice_number, line_item_number, code, severity, message, amount_at_risk`` (all
Utf8; ``amount_at_risk`` a 2-place decimal string or null), plus ``record_no`` (Int64, the
line in the file the finding points at; null for file-level findings) used for ordering.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

FINDING_KEYS: tuple[str, ...] = (
    "file",
    "invoice_number",
    "line_item_number",
    "code",
    "severity",
    "message",
    "amount_at_risk",
)
FINDING_SCHEMA: dict[str, pl.DataType] = {k: pl.Utf8() for k in FINDING_KEYS}
FINDING_SCHEMA["record_no"] = pl.Int64()


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


def findings_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Findings from dicts; missing keys are null and severity defaults to ``error``."""
    full = [
        {k: row.get(k, "error" if k == "severity" else None) for k in FINDING_SCHEMA}
        for row in rows
    ]
    return pl.DataFrame(full, schema=FINDING_SCHEMA)


def combine_findings(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate findings and keep one per (file, invoice, line, code).

    When two records share a key (a repeated line item number), their messages are
    joined and their amounts added. The result is ordered by file (first appearance),
    record and code.
    """
    parts = [f.select(list(FINDING_SCHEMA)) for f in frames if f.height]
    if not parts:
        return empty_findings()
    all_rows = pl.concat(parts).with_row_index("_order")
    key = ["file", "invoice_number", "line_item_number", "code"]
    merged = all_rows.group_by(key, maintain_order=True).agg(
        pl.col("_order").min(),
        pl.col("severity").first(),
        pl.col("message").unique(maintain_order=True).str.join("; "),
        pl.when(pl.col("amount_at_risk").is_null().all())
        .then(pl.lit(None, dtype=pl.Decimal(38, 2)))
        .otherwise(pl.col("amount_at_risk").cast(pl.Decimal(38, 2)).sum())
        .cast(pl.Utf8)
        .alias("amount_at_risk"),
        pl.col("record_no").min(),
    )
    file_order = all_rows.group_by("file").agg(pl.col("_order").min().alias("_file_order"))
    return (
        merged.join(file_order, on="file", how="left")
        .sort(["_file_order", "record_no", "code", "_order"], nulls_last=False)
        .select(list(FINDING_SCHEMA))
    )
