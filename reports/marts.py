"""The marts a report reads: the published file, or a connection the caller already holds.

Reports run in two places with one implementation: from the CLI and the dashboard on the
published ``serving.duckdb`` (opened read-only here and closed after), and inside the dbt
build, whose Python models pass their own session so the results are stored as serving marts.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

Source = str | Path | duckdb.DuckDBPyConnection  # or dbt-duckdb's cursor wrapper


@contextmanager
def open_marts(source: Source, error: type[Exception]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the marts; ``error`` (the report's own) when no published file exists."""
    if not isinstance(source, (str, Path)):  # a connection (or dbt-duckdb's wrapper of one)
        yield source
        return
    path = Path(source)
    if not path.is_file():
        raise error(f"no published warehouse at {path}")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def with_scope_columns(con, rows: pl.DataFrame) -> pl.DataFrame:
    """The matter's billing partner and office on every row: the columns the dashboard's query
    layer scopes a partner's rows by (rows must carry ``matter_number``)."""
    matters = pl.from_arrow(con.sql(
        "select matter_number, billing_partner_timekeeper_id, office from marts.dim_matters"
    ).to_arrow_table())
    keep = [c for c in rows.columns if c not in ("billing_partner_timekeeper_id", "office")]
    return rows.select(keep).join(matters, on="matter_number", how="left")
