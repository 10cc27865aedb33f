"""The collections worklist scored by payment likelihood, computed at build time.

grain: one row per open invoice of fct_collections_worklist, ranked (``rank``) firm-wide as
``lexrecon collections`` ranks it: the same code (reports.collections.score_worklist) run on the
build's own connection, so the dashboard's first call after a publish reads a table instead of
fitting the model. The model's evaluation is the same for every row (model_* columns).
"""
from __future__ import annotations

import polars as pl

from reports.collections import LIKELIHOOD, CollectionsError, score_worklist


def model(dbt, session):
    dbt.config(materialized="table")
    # the relations the report code reads: dbt runs this model after them
    dbt.ref("fct_collections_worklist")
    dbt.ref("fct_ar_aging")
    dbt.ref("fct_invoices")
    dbt.ref("fct_payments")
    dbt.ref("fct_rejections")
    try:
        worklist = score_worklist(session)
    except CollectionsError as exc:  # too little history to learn from: no scored rows
        print(f"warning: collections worklist not scored: {exc}")
        return pl.DataFrame(schema={"rank": pl.UInt32, "invoice_number": pl.Utf8,
                                    "payment_likelihood": LIKELIHOOD,
                                    "expected_unpaid_usd": pl.Decimal(18, 2),
                                    "model_as_of": pl.Date, "model_auc": LIKELIHOOD,
                                    "model_evaluation": pl.Utf8})
    ev = worklist.evaluation
    return worklist.rows.with_columns(
        model_as_of=pl.lit(worklist.as_of, dtype=pl.Date),
        model_auc=pl.lit(None if ev.auc is None else round(ev.auc, 4)).cast(LIKELIHOOD),
        model_evaluation=pl.lit(ev.summary(), dtype=pl.Utf8),
    )
