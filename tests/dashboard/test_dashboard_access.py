"""Access: anonymous is refused everywhere; a partner gets only their own clients' matters,
whatever the browser sends; CSV exports cannot start spreadsheet formulas."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dashboards import queries
from dashboards.app import PAGE_MODULES, create_app
from dashboards.shell import PAGE_PATHS
from tests.dashboard.conftest import USERS_FILE, Callbacks, login, response_props

EVIL = ["' OR 1=1 --", "NY-TK0002' OR '1'='1", "C0001; DROP TABLE fct_invoices; --",
        "1=1", "%", "_", "C000%"]


def partner_matters(db, tk: str) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute(
            "select matter_number from marts.dim_matters where billing_partner_timekeeper_id = ?",
            [tk]).fetchall()}
    finally:
        con.close()


# --------------------------------------------------------------------------- anonymous
def test_anonymous_refused_on_every_route(app, callbacks):
    anon = app.server.test_client()
    for page in PAGE_MODULES:
        resp = anon.get(PAGE_PATHS[page][0])
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    for path in ["/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/_favicon.ico",
                 "/nonexistent", "/export/invoices.csv", "/export/collections_worklist.csv",
                 "/export/nonexistent.csv", "/export/write_offs.csv", "/evidence-pack",
                 "/evidence-pack?period_from=2026-01"]:
        resp = anon.get(path)
        assert resp.status_code in (302, 401), path
        assert b"INV-" not in resp.data
    # every callback the app declares
    for dep in callbacks.deps:
        body = json.dumps(callbacks.payload(dep, {}))
        resp = anon.post("/_dash-update-component", data=body, content_type="application/json")
        assert resp.status_code == 401, dep["output"]
    # the component suites (JS) are not served to anonymous either
    resp = anon.get("/_dash-component-suites/dash/deps/polyfill@7.v4_4_1m1.8.7.min.js")
    assert resp.status_code in (302, 401)


def test_login_page_and_static_assets_are_public(app):
    anon = app.server.test_client()
    assert anon.get("/login").status_code == 200
    assert anon.get("/assets/lexrecon.css").status_code == 200
    assert anon.get("/assets/fonts/LiberationSans-Regular.ttf").status_code == 200


def test_wrong_password_and_open_redirect(app):
    anon = app.server.test_client()
    resp = anon.post("/login", data={"username": "finance", "password": "nope"})
    assert resp.status_code == 401 and b"wrong password" in resp.data
    resp = anon.post("/login", data={"username": "ghost", "password": "x"})
    assert resp.status_code == 401
    resp = anon.post("/login", data={"username": "finance", "password": "finance-demo",
                                     "next": "https://evil.example/"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_logout_ends_the_session(app):
    client = login(app, "analyst")
    assert client.get("/_dash-layout").status_code == 200
    client.get("/logout")
    assert client.get("/_dash-layout").status_code == 401


# --------------------------------------------------------------------------- partner scope
@pytest.mark.parametrize("field", ["flt-client.value", "flt-partner.value", "flt-matter.value",
                                   "flt-office.value"])
def test_partner_tampering_with_filters_gets_nothing_foreign(callbacks, clients, serving_db,
                                                             facts, field):
    own = partner_matters(serving_db, "NY-TK0001")
    assert facts.foreign_clients["NY-TK0001"] and facts.foreign_matters["NY-TK0001"]
    foreign_values = {"flt-client.value": facts.foreign_clients["NY-TK0001"][:3],
                      "flt-partner.value": [p for p in facts.own_clients if p != "NY-TK0001"],
                      "flt-matter.value": facts.foreign_matters["NY-TK0001"][:3],
                      "flt-office.value": ["LDN"]}[field]
    for value in foreign_values + EVIL:
        req = {"startRow": 0, "endRow": 500, "sortModel": [], "filterModel": {}}
        props = response_props(callbacks.call(clients["partner.nyc"], "ov-invoices",
                                              {field: value, "ov-invoices.getRowsRequest": req}))
        rows = props["ov-invoices"]["getRowsResponse"]["rowData"]
        assert {r["matter_number"] for r in rows} <= own, (field, value)
        props = response_props(callbacks.call(clients["partner.nyc"], "ag-worklist",
                                              {field: value,
                                               "ag-worklist.getRowsRequest": req}))
        rows = props["ag-worklist"]["getRowsResponse"]["rowData"]
        assert {r["matter_number"] for r in rows} <= own, (field, value)


def test_partner_tampering_with_grid_sort_and_filter_model(callbacks, clients, serving_db):
    own = partner_matters(serving_db, "NY-TK0001")
    reqs = [
        {"startRow": 0, "endRow": 500, "sortModel": [{"colId": "1; drop table x", "sort": "asc"}]},
        {"startRow": 0, "endRow": 500, "sortModel": [{"colId": "total_amount_usd) or (1=1",
                                                      "sort": "desc"}]},
        {"startRow": 0, "endRow": 500, "filterModel": {
            "matter_number": {"filterType": "text", "type": "contains", "filter": "' or 1=1 --"},
        }},
        {"startRow": 0, "endRow": 500, "filterModel": {
            "billing_partner_timekeeper_id": {"filterType": "text", "type": "equals",
                                              "filter": "LN-TK0001"}}},
        {"startRow": 0, "endRow": 500, "filterModel": {
            "1=1 or matter_number": {"filterType": "text", "type": "contains", "filter": "x"}}},
        {"startRow": -50, "endRow": 10**9},
    ]
    for req in reqs:
        resp = callbacks.call(clients["partner.nyc"], "ov-invoices",
                              {"ov-invoices.getRowsRequest": req})
        rows = response_props(resp)["ov-invoices"]["getRowsResponse"]["rowData"]
        assert {r["matter_number"] for r in rows} <= own
        assert len(rows) <= 1000


def test_partner_cannot_widen_scope_via_overview_or_aging(callbacks, clients, serving_db,
                                                          facts):
    own_clients = facts.own_clients["NY-TK0001"]
    for value in [facts.foreign_clients["NY-TK0001"][0], "LN-TK0001"] + EVIL:
        props = response_props(callbacks.call(clients["partner.nyc"], "ag-buckets",
                                              {"flt-client.value": value, "ag-by.value": "client"}))
        labels = set()
        for trace in props["ag-buckets"]["figure"]["data"]:
            labels |= {str(y) for y in trace.get("y", [])}
        assert all(any(c in lbl for c in own_clients) for lbl in labels), labels
    # the query layer itself ignores a partner filter that is not the partner's own
    k = queries.overview_kpis(serving_db, queries.Scope("partner", "NY-TK0001"),
                              queries.Filters(partner="LN-TK0001"))
    assert k["billed_usd"] == 0 and k["ar_usd"] == 0


def test_partner_without_timekeeper_id_sees_nothing(serving_db):
    scope = queries.Scope("partner", None)
    assert queries.table_rows(serving_db, "invoices", scope, queries.Filters())["rowCount"] == 0
    assert queries.overview_kpis(serving_db, scope, queries.Filters())["billed_usd"] == 0


def test_partner_export_is_scoped(clients, serving_db, facts):
    own = partner_matters(serving_db, "NY-TK0001")
    client = facts.foreign_clients["NY-TK0001"][0]
    matter = facts.foreign_matters["NY-TK0001"][0]
    for qs in ["", f"?client={client}", "?partner=LN-TK0001", f"?x_matter_number={matter}",
               "?client=%27%20OR%201%3D1%20--"]:
        resp = clients["partner.nyc"].get("/export/invoices.csv" + qs)
        assert resp.status_code == 200
        rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
        assert {r["matter_number"] for r in rows} <= own, qs


def test_export_refused_for_role_without_the_page(clients):
    assert clients["partner.nyc"].get("/export/invoice_lines.csv").status_code == 200
    assert clients["auditor"].get("/export/write_offs.csv").status_code == 403
    assert clients["auditor"].get("/export/collections_worklist.csv").status_code == 403


# --------------------------------------------------------------------------- CSV safety
def test_csv_export_neutralises_formulas(serving_db, tmp_path):
    planted = Path(shutil.copy(serving_db, tmp_path / "serving.duckdb"))
    con = duckdb.connect(str(planted))
    code = con.execute("select min(client_code) from marts.fct_collections_worklist").fetchone()[0]
    con.execute("update marts.fct_collections_worklist set client_name = ?, ebilling_status = ? "
                "where client_code = ?", ['=HYPERLINK("http://x")', "@SUM(A1)", code])
    con.close()
    client = login(create_app(serving_db=planted, users_file=USERS_FILE), "finance")
    resp = client.get(f"/export/collections_worklist.csv?client={code}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    records = list(csv.DictReader(io.StringIO(text)))
    assert records
    assert {r["client_name"] for r in records} == {"'=HYPERLINK(\"http://x\")"}
    assert {r["ebilling_status"] for r in records} == {"'@SUM(A1)"}
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            if cell.startswith("-"):
                float(cell)  # only genuine negative numbers may start with '-'


def test_neutralise_rules():
    from dashboards.routes import neutralise

    for bad in ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]:
        assert neutralise(bad) == "'" + bad
    assert neutralise("ok") == "ok"
    assert neutralise(-5) == -5


# --------------------------------------------------------------------------- atomic publish
def test_keeps_serving_across_atomic_replace(serving_db, tmp_path):
    """Publishing replaces serving.duckdb with os.replace while the app is answering: no
    request fails, and the next requests see the new file."""
    db = Path(shutil.copy(serving_db, tmp_path / "serving.duckdb"))
    app = create_app(serving_db=db, users_file=USERS_FILE)
    client = login(app, "finance")
    cbs = Callbacks(app)
    req = {"startRow": 0, "endRow": 50, "sortModel": [], "filterModel": {}}

    def billed():
        return round(queries.overview_kpis(db, queries.Scope("finance"),
                                           queries.Filters())["billed_usd"], 2)

    before = billed()
    errors: list[str] = []
    stop = threading.Event()

    def reader():
        c = login(app, "analyst")
        while not stop.is_set():
            for output, values in (("ov-invoices", {"ov-invoices.getRowsRequest": req}),
                                   ("ov-kpis", {})):
                resp = cbs.call(c, output, values)
                if resp.status_code != 200:
                    errors.append(f"{output}: {resp.status_code}")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(1, 4):
            new = tmp_path / f"build{i}.duckdb"
            shutil.copy(db, new)
            con = duckdb.connect(str(new))
            con.execute("update marts.fct_realization_monthly set billed_usd = billed_usd + 1")
            con.close()
            os.replace(new, db)  # what `lexrecon publish` does
            time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:5]
    assert billed() == pytest.approx(before + 3 * row_count(db, "marts.fct_realization_monthly"))
    assert client.get("/export/invoices.csv").status_code == 200


def row_count(db, relation: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"select count(*) from {relation}").fetchone()[0]
    finally:
        con.close()
