"""Checks and exact decimal types for sales-system batches (Arrow tables from sql_database)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from ingestion.sources.common.ledger import (
    Ledger,
    add_dlt_id,
    dlt_id_hints,
    first_delivery,
    money_sum,
    raw_json,
)
from ingestion.sources.sales.settings import DECIMALS, TABLES


def numeric_from_checker(sql_type: Any) -> Any:
    """SQLite: no reflected type for NUMERIC columns. They arrive as text (see
    :func:`select_numeric_as_text`) and the checker makes them exact ``decimal128(p, s)``
    Arrow columns, whose type dlt takes for the destination column."""
    if isinstance(sql_type, sa.Numeric):
        return None
    return sql_type


def select_numeric_as_text(query: Any, table: sa.Table) -> Any:
    """SQLite keeps NUMERIC values as REAL, INTEGER or, when they are not numbers, TEXT: select
    them ``CAST(... AS TEXT)`` so a bad value reaches the checker (and the quarantine) instead
    of failing the whole batch, and good values become exact decimals in Arrow, vectorised."""
    columns = [sa.cast(c, sa.Text).label(c.name) if isinstance(c.type, sa.Numeric) else c
               for c in table.columns]
    return query.with_only_columns(*columns)


def column_hints(table: str, decimals: bool = True) -> dict[str, dict[str, Any]]:
    hints: dict[str, dict[str, Any]] = {
        col: {"data_type": "decimal", "precision": p, "scale": s}
        for col, (p, s) in DECIMALS[table].items()
    } if decimals else {}
    for col in TABLES[table]["primary_key"]:
        hints.setdefault(col, {})["nullable"] = False
    hints.update(dlt_id_hints())  # the checker adds _dlt_id to each batch
    return hints


def _is_iso_date(col: pa.ChunkedArray) -> pa.Array:
    """True where the value is a real YYYY-MM-DD date (null stays null)."""
    if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
        return pc.is_valid(col)
    text = pc.cast(col, pa.string())
    try:
        pc.cast(text, pa.date32())  # strict: 2026-02-30 fails (strptime would roll it over)
        return pc.is_valid(text)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = []
        for v in text.to_pylist():
            try:
                out.append(None if v is None else
                           (len(v) == 10 and dt.date.fromisoformat(v) is not None))
            except ValueError:
                out.append(False)
        return pa.array(out, pa.bool_())


def checker(table: str, ledger: Ledger) -> Callable[[pa.Table], pa.Table | None]:
    """A dlt map step (after the incremental step): exact decimals, bad rows quarantined."""
    spec = TABLES[table]
    money_col = spec["money"]
    ledger.tally(table, money_col)
    seen: set[Any] = set()  # primary keys delivered in this run (a key without a database
    # constraint could repeat; it is loaded once, counted as redelivered)

    def check(batch: Any) -> pa.Table | None:
        tbl = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        if all(k in tbl.column_names for k in spec["primary_key"]):
            tbl = first_delivery(tbl, tuple(spec["primary_key"]), seen, ledger, table)
        batch = tbl
        n = tbl.num_rows
        if n == 0:
            return None
        reasons: dict[int, tuple[str, str]] = {}
        # decimals: exact types; a value that cannot be a decimal is a bad row
        for col, (p, s) in DECIMALS[table].items():
            if col not in tbl.column_names:
                continue
            arr = tbl.column(col)
            target = pa.decimal128(p, s)
            if arr.type == target:
                continue
            try:
                cast = pc.cast(arr, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                values = arr.to_pylist()
                out = []
                for i, v in enumerate(values):
                    try:
                        out.append(None if v is None else Decimal(str(v)).quantize(
                            Decimal(1).scaleb(-s)))
                    except (ArithmeticError, ValueError):
                        reasons.setdefault(i, (col, f"column {col}: {v!r} is not a number"))
                        out.append(None)
                cast = pa.array(out, target)
            tbl = tbl.set_column(tbl.column_names.index(col), col, cast)
        for col in spec["required"]:
            if col in tbl.column_names and tbl.column(col).null_count:
                for i in pc.indices_nonzero(pc.is_null(tbl.column(col))).to_pylist():
                    reasons.setdefault(i, (col, f"column {col} is empty (null)"))
        for col in spec["dates"]:
            if col in tbl.column_names:
                ok = pc.fill_null(_is_iso_date(tbl.column(col)), True)
                if not pc.all(ok).as_py():
                    bad_values = tbl.column(col)
                    for i in pc.indices_nonzero(pc.invert(ok)).to_pylist():
                        why = (f"column {col}: {bad_values[i].as_py()!r} is not an ISO date "
                               "(YYYY-MM-DD)")
                        reasons.setdefault(i, (col, why))
        if reasons:
            for i in sorted(reasons):
                col, why = reasons[i]
                row = batch.slice(i, 1).to_pylist()[0] if isinstance(batch, pa.Table) else \
                    pa.Table.from_batches([batch]).slice(i, 1).to_pylist()[0]
                money = None
                if money_col and row.get(money_col) is not None:
                    try:
                        money = Decimal(str(row[money_col])).quantize(Decimal("0.01"))
                    except (ArithmeticError, ValueError):
                        money = None
                ledger.quarantine(table, raw_json(row), why, field=col, money=money)
            tbl = tbl.filter(pa.array([i not in reasons for i in range(n)]))
        ledger.count_loaded(table, tbl.num_rows, money_sum(tbl, money_col))
        return add_dlt_id(tbl) if tbl.num_rows else None

    return check
