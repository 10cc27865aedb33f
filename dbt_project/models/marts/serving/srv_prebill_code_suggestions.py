"""Uncoded unbilled time with a suggested UTBMS task and activity code, at build time.

grain: one row per unbilled billable time entry lacking a task or activity code, as
``lexrecon prebill`` suggests them: the same code (reports.prebill.suggest_codes, a naive Bayes
learned from the firm's coded entries) run on the build's own connection. The held-out accuracy
of the suggestions is the same on every row (model_* columns).
"""
from __future__ import annotations

import polars as pl

from reports.marts import with_scope_columns
from reports.prebill import CONFIDENCE, suggest_codes

ACCURACY = pl.Decimal(5, 4)  # share of held-out entries, rounded to 4 places


def model(dbt, session):
    dbt.config(materialized="table")
    # the relations the report code reads: dbt runs this model after them
    dbt.ref("fct_time_entries")
    dbt.ref("dim_matters")
    dbt.ref("dim_timekeepers")
    codes = suggest_codes(session)
    rows = codes.suggestions
    if rows.width == 0:  # no coded history: nothing to suggest
        rows = pl.DataFrame(schema={"time_entry_key": pl.Utf8, "matter_number": pl.Utf8,
                                    "confidence": CONFIDENCE})
    rows = rows.with_columns(
        model_summary=pl.lit(codes.summary(), dtype=pl.Utf8),
        model_pair_accuracy=pl.lit(None if codes.pair_accuracy is None
                                   else round(codes.pair_accuracy, 4)).cast(ACCURACY),
        model_held_out=pl.lit(codes.held_out, dtype=pl.Int64),
    )
    return with_scope_columns(session, rows)
