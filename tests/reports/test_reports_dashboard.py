"""The report pages of the dashboard: the collections worklist, pre-bill exceptions and the
LEDES export. Scored rows for finance, only own invoices for a partner, refused on the server
for a role without access and for anonymous callers."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dashboards.queries import Filters, Scope, ledes_export_invoices, scored_collections_worklist

HERE = Path(__file__).resolve().parent


def _set(db: Path, sql: str) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute(sql).fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def seen(serving_db) -> dict:
    done = subprocess.run([sys.executable, str(HERE / "dashboard_probe.py"), str(serving_db)],
                          capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_queries_restrict_a_partner_to_own_invoices(serving_db):
    everyone = scored_collections_worklist(serving_db, Scope("finance"), Filters())
    mine = scored_collections_worklist(serving_db, Scope("partner", "NY-TK0001"), Filters())
    nobody = scored_collections_worklist(serving_db, Scope("partner", None), Filters())
    assert everyone["rows"] and everyone["evaluation"]
    assert {r["billing_partner_timekeeper_id"] for r in mine["rows"]} <= {"NY-TK0001"}
    assert len(mine["rows"]) < len(everyone["rows"]) and nobody["rows"] == []
    assert [r["rank"] for r in mine["rows"]] == list(range(1, len(mine["rows"]) + 1))
    own = set(ledes_export_invoices(serving_db, Scope("partner", "NY-TK0001"), Filters()))
    assert own == _set(serving_db, "select invoice_number from marts.fct_invoices where not "
                                   "is_void and billing_partner_timekeeper_id = 'NY-TK0001'")


def test_collections_page(seen, serving_db):
    all_open = _set(serving_db, "select invoice_number from marts.fct_collections_worklist")
    own = _set(serving_db, "select invoice_number from marts.fct_collections_worklist where "
                           "billing_partner_timekeeper_id = 'NY-TK0001'")
    out = "cw-summary.children"
    assert seen["finance"][out]["status"] == 200
    assert set(seen["finance"][out]["invoices"]) == all_open
    assert seen["partner.nyc"][out]["status"] == 200
    assert set(seen["partner.nyc"][out]["invoices"]) == own
    assert seen["auditor"][out]["status"] == 403 and not seen["auditor"][out]["invoices"]
    assert seen["None"][out]["status"] == 401


def test_prebill_page(seen):
    out = "pb-summary.children"
    assert seen["finance"][out]["status"] == 200
    assert "Suggestion accuracy" in seen["finance"][out]["body"]
    assert seen["auditor"][out]["status"] == 403 and seen["None"][out]["status"] == 401


def test_ledes_export_page_downloads_only_what_the_user_may_see(seen, serving_db):
    out = "lx-download.data"
    everything = _set(serving_db, "select invoice_number from marts.fct_invoices where not "
                                  "is_void")
    own = _set(serving_db, "select invoice_number from marts.fct_invoices where not is_void "
                           "and billing_partner_timekeeper_id = 'NY-TK0001'")
    assert seen["finance"][out]["status"] == 200
    assert "LEDES1998B[]" in seen["finance"][out]["body"]
    assert set(seen["finance"][out]["invoices"]) == everything
    assert set(seen["partner.nyc"][out]["invoices"]) == own
    assert seen["auditor"][out]["status"] == 403 and seen["None"][out]["status"] == 401
