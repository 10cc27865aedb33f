"""The dashboard tests run on the tiny demo firm's warehouse built by the real pipeline."""
from __future__ import annotations

import duckdb


def test_dashboard_tests_run_on_the_real_tiny_warehouse(warehouse_source, serving_db):
    print(f"dashboard tests ran on: {warehouse_source}")
    assert warehouse_source.get("kind") in ("real", "real-unpublished", "given")
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        marts = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
    finally:
        con.close()
    # every mart a page reads
    assert {"dim_clients", "dim_matters", "dim_timekeepers", "fct_invoices", "fct_invoice_lines",
            "fct_payments", "fct_rejections", "fct_ocg_violations", "fct_ar_aging",
            "fct_ar_roll_forward", "fct_write_offs", "fct_invoice_sales_variance",
            "fct_sales_variance_monthly", "fct_revenue_leakage", "fct_unrecorded_time",
            "fct_collections_worklist", "fct_realization_monthly", "fct_lockup_monthly",
            "fct_time_entries"} <= marts
