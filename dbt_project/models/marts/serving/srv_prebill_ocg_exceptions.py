"""Pre-bill exceptions: unbilled time that will break the client's OCG rules, at build time.

grain: one row per (unbilled billable time entry, rule broken), as ``lexrecon prebill`` reports
them: the same code (reports.prebill.ocg_exceptions, the project's one OCG rules engine) run on
the build's own connection, bill date = the latest time entry date. Rules files: every *.yml in
the dbt var ``ocg_rules_dir`` (default ``$LEXRECON_FIRM/ocg``), as int_ocg_findings_evaluated.
``rules_files`` (the number of rules files applied) is the same on every row.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from lexrecon.config import paths
from reports.marts import with_scope_columns
from reports.prebill import load_rules_dir, ocg_exceptions


def model(dbt, session):
    dbt.config(materialized="table")
    # the relations the report code reads: dbt runs this model after them
    dbt.ref("fct_time_entries")
    dbt.ref("dim_clients")
    dbt.ref("dim_timekeepers")
    dbt.ref("dim_matters")
    configured = dbt.config.get("ocg_rules_dir")
    folder = Path(configured) if configured else paths().firm / "ocg"
    rules = load_rules_dir(folder) if folder.is_dir() else []
    if not folder.is_dir():
        print(f"warning: OCG rules folder {folder} does not exist: no pre-bill rule findings")
    found = ocg_exceptions(session, rules)
    if "client_code" not in found.columns:  # no findings: the full column set, no rows
        found = found.with_columns(
            *(pl.lit(None, dtype=pl.Utf8).alias(c) for c in (
                "client_code", "client_name", "matter_number", "timekeeper_id",
                "timekeeper_name", "billing_partner_timekeeper_id", "currency", "task_code",
                "activity_code", "narrative")),
            pl.lit(None, dtype=pl.Date).alias("entry_date"),
            # the facts' types: hours DECIMAL(18,4), rate and value DECIMAL(18,2)
            pl.lit(None, dtype=pl.Decimal(18, 4)).alias("hours_billable"),
            *(pl.lit(None, dtype=pl.Decimal(18, 2)).alias(c) for c in (
                "recorded_rate", "recorded_value")))
    found = found.with_columns(rules_files=pl.lit(len(rules), dtype=pl.Int64))
    return with_scope_columns(session, found)
