"""Yardstick for the variance engine: datacompy's polars comparison of the same join.

Runs in its own environment (``.venv-datacompy``: datacompy pins an older polars than the
project), so it imports nothing from lexrecon. Usage:

    python datacompy_yardstick.py INVOICES.parquet BOOKINGS.parquet OUT.json

Both files have columns ``join_key`` and ``amount_usd``; the result is the matched /
mismatched / only-in-invoices / only-in-bookings row counts and the comparison time.
"""
from __future__ import annotations

import json
import sys
import time

import datacompy
import polars as pl


def main(invoices: str, bookings: str, out: str) -> None:
    base = pl.read_parquet(invoices)
    compare = pl.read_parquet(bookings)
    started = time.perf_counter()
    cmp = datacompy.PolarsCompare(
        base, compare, join_columns="join_key", abs_tol=0, rel_tol=0,
        df1_name="invoices", df2_name="bookings",
    )
    intersect = cmp.intersect_rows
    mismatched = cmp.all_mismatch().height
    result = {
        "seconds": round(time.perf_counter() - started, 4),
        "matched": intersect.height - mismatched,
        "mismatched": mismatched,
        "only_invoices": cmp.df1_unq_rows.height,
        "only_bookings": cmp.df2_unq_rows.height,
        "datacompy": datacompy.__version__,
        "polars": pl.__version__,
    }
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
