"""Browserless: every page's layout and main callbacks, for every role."""
from __future__ import annotations

import json

import pytest

from dashboards import auth
from dashboards.app import PAGE_MODULES
from dashboards.shell import PAGE_PATHS
from tests.dashboard.conftest import response_props

USERS = ["finance", "analyst", "auditor", "admin", "partner.nyc", "partner.ldn"]
ROLE = {"finance": "finance", "analyst": "analyst", "auditor": "auditor", "admin": "admin",
        "partner.nyc": "partner", "partner.ldn": "partner"}
ALL = {"flt-period-from.value": None, "flt-period-to.value": None}


def route(callbacks, client, path):
    return callbacks.call(client, "_pages_content", {"_pages_location.pathname": path,
                                                     "_pages_location.search": ""})


def test_layout_served_to_every_role(clients):
    for user in USERS:
        resp = clients[user].get("/_dash-layout")
        assert resp.status_code == 200
        body = resp.get_data(as_text=True)
        assert "filter-bar" in body
        for page in PAGE_MODULES:
            shown = f'"nav-{page}"' in body
            assert shown == (ROLE[user] in auth.PAGE_ACCESS[page]), (user, page)


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("page", PAGE_MODULES)
def test_every_page_renders_or_is_refused_for_role(app, callbacks, clients, user, page):
    client = clients[user]
    assert client.get(PAGE_PATHS[page][0]).status_code == 200  # the Dash index page
    props = response_props(route(callbacks, client, PAGE_PATHS[page][0]))
    text = str(props["_pages_content"]["children"])
    if ROLE[user] in auth.PAGE_ACCESS[page]:
        assert f"page-{page}" in text
    else:
        assert "not available to the" in text


def test_overview_callback_every_role(callbacks, clients):
    for user in USERS:
        resp = callbacks.call(clients[user], "ov-kpis", ALL)
        props = response_props(resp)
        assert "Billed" in str(props["ov-kpis"]["children"])
        assert props["ov-trend"]["figure"]["data"], user


def test_overview_numbers_are_scoped_for_partners(serving_db):
    import duckdb

    from dashboards import queries

    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        for tk in ("NY-TK0001", "LN-TK0001"):
            expected = con.execute(
                "select sum(total_amount_usd) from marts.fct_invoices i "
                "join marts.dim_matters m on m.matter_number = i.matter_number "
                "where m.billing_partner_timekeeper_id = ? and not i.is_void", [tk]).fetchone()[0]
            got = queries.overview_kpis(serving_db, queries.Scope("partner", tk),
                                        queries.Filters())["billed_usd"]
            assert round(got, 2) == float(expected)
        firm = con.execute("select sum(total_amount_usd) from marts.fct_invoices "
                           "where not is_void").fetchone()[0]
    finally:
        con.close()
    got = queries.overview_kpis(serving_db, queries.Scope("finance"),
                                queries.Filters())["billed_usd"]
    assert round(got, 2) == float(firm)


def test_aging_callback_by_client_and_matter(callbacks, clients):
    for user in ["finance", "analyst", "admin", "partner.nyc"]:
        for by in ("client", "matter"):
            props = response_props(callbacks.call(clients[user], "ag-buckets",
                                                  {"ag-by.value": by}))
            assert props["ag-buckets"]["figure"]["data"], (user, by)
            assert props["ag-trend"]["figure"]["data"]


def test_aging_refused_for_auditor(callbacks, clients):
    resp = callbacks.call(clients["auditor"], "ag-buckets", {"ag-by.value": "client"})
    assert resp.status_code == 403


def test_filter_options_for_partner_are_own_only(callbacks, clients, serving_db):
    props = response_props(callbacks.call(clients["partner.nyc"], "flt-client",
                                          {"url.pathname": "/"}, output_prop="options"))
    partners = [o["value"] for o in props["flt-partner"]["options"]]
    assert partners == ["NY-TK0001"]
    props_all = response_props(callbacks.call(clients["finance"], "flt-client",
                                              {"url.pathname": "/"}, output_prop="options"))
    assert len(props_all["flt-partner"]["options"]) > 1


def grid_request(start=0, end=100, sort=None, filt=None):
    return {"startRow": start, "endRow": end, "sortModel": sort or [], "filterModel": filt or {}}


@pytest.mark.parametrize("grid,user", [("ov-invoices", u) for u in USERS]
                         + [("rj-rejections", "finance"), ("rj-cuts", "partner.nyc"),
                            ("rj-violations", "finance"), ("rj-violations", "partner.ldn"),
                            ("lk-unrecorded", "analyst"), ("va-invoices", "auditor"),
                            ("lk-write-offs", "analyst"), ("lk-write-offs", "partner.ldn")]
                         + [("ag-worklist", u) for u in ["finance", "partner.ldn"]])
def test_grid_blocks(callbacks, clients, grid, user):
    props = response_props(callbacks.call(clients[user], grid,
                                          {f"{grid}.getRowsRequest": grid_request(0, 5)}))
    block = props[grid]["getRowsResponse"]
    assert block["rowCount"] >= len(block["rowData"]) > 0
    assert len(block["rowData"]) <= 5


def test_grid_sort_and_filter(callbacks, clients, facts):
    code = facts.invoiced_clients[0]
    req = grid_request(0, 50, [{"colId": "total_amount_usd", "sort": "desc"}],
                       {"client_code": {"filterType": "text", "type": "contains",
                                        "filter": code}})
    rows = response_props(callbacks.call(clients["finance"], "ov-invoices",
                                         {"ov-invoices.getRowsRequest": req})
                          )["ov-invoices"]["getRowsResponse"]["rowData"]
    assert rows and all(r["client_code"] == code for r in rows)
    totals = [r["total_amount_usd"] for r in rows]
    assert totals == sorted(totals, reverse=True)


def test_export_link_follows_filters(callbacks, clients):
    props = response_props(callbacks.call(clients["finance"], "ov-invoices-export",
                                          {"flt-client.value": "C0001",
                                           "flt-period-from.value": "2026-01"}))
    href = props["ov-invoices-export"]["href"]
    assert href.startswith("/export/invoices.csv?") and "client=C0001" in href


MAIN_CALLBACKS = {
    "overview": ("ov-kpis", {}),
    "variance": ("va-kpis", {}),
    "aging": ("ag-buckets", {"ag-by.value": "client"}),
    "rejections": ("rj-kpis", {"rj-by.value": "reason"}),
    "leakage": ("lk-kpis", {}),
    "evidence": ("ev-summary", {}),
    "health": ("hl-warehouse", {"url.pathname": "/health"}),
}


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("page", sorted(MAIN_CALLBACKS))
def test_main_callback_every_role(callbacks, clients, page, user):
    output, values = MAIN_CALLBACKS[page]
    resp = callbacks.call(clients[user], output, values)
    if ROLE[user] in auth.PAGE_ACCESS[page]:
        props = response_props(resp)
        assert props[output], (page, user)
        assert "not in the published warehouse" not in str(props[output]), str(props)[:300]
    else:
        assert resp.status_code == 403, (page, user, resp.status_code)


@pytest.mark.parametrize("by", ["reason", "client", "timekeeper"])
def test_rejections_breakdowns(callbacks, clients, by):
    props = response_props(callbacks.call(clients["finance"], "rj-kpis", {"rj-by.value": by}))
    assert props["rj-breakdown"]["figure"]["data"]
    assert "Rejection rate" in str(props["rj-kpis"]["children"])


def test_evidence_checks_pass_fail_for_a_period(callbacks, clients, facts):
    props = response_props(callbacks.call(clients["auditor"], "ev-summary",
                                          {"flt-period-from.value": facts.periods[0],
                                           "flt-period-to.value": facts.periods[-1]}))
    text = str(props["ev-checks"]["children"])
    assert "AR roll-forward" in text and "Invoice subtotal" in text
    assert "PASS" in text
    pack = str(props["ev-pack"]["children"])
    assert "reports.evidence.build_evidence_pack" in pack and "ev-pack-link" in pack
    # finance may see the checks but not export the pack
    props = response_props(callbacks.call(clients["finance"], "ev-summary", {}))
    assert "ev-pack-link" not in str(props["ev-pack"]["children"])


def test_evidence_pack_hook_route(clients, app, facts):
    from dashboards import evidence

    resp = clients["auditor"].get(f"/evidence-pack?period_from={facts.periods[-1]}")
    if evidence.available():
        # 200 with the zip when the warehouse was published with its run results, else 409
        # with the pack builder's explanation
        assert resp.status_code in (200, 409), resp.data[:300]
        if resp.status_code == 200:
            assert resp.headers["Content-Disposition"].startswith("attachment")
        else:
            assert b"evidence pack could not be built" in resp.data
    else:
        assert resp.status_code == 501 and b"build_evidence_pack" in resp.data
    assert clients["finance"].get("/evidence-pack").status_code == 403
    assert clients["partner.nyc"].get("/evidence-pack").status_code == 403
    assert app.server.test_client().get("/evidence-pack").status_code == 401


def test_health_shows_sources_and_tests(callbacks, clients):
    props = response_props(callbacks.call(clients["analyst"], "hl-warehouse",
                                          {"url.pathname": "/health"}))
    loads = str(props["hl-loads"]["children"])
    for source in ("clio", "actionstep", "ebilling", "sales"):
        assert source in loads
    assert "hl-tests" in str(props)


@pytest.mark.parametrize("name", sorted(__import__("dashboards.queries").queries.DATASETS))
def test_every_dataset_exports_csv(clients, name):
    resp = clients["admin"].get(f"/export/{name}.csv")
    assert resp.status_code == 200, resp.data[:300]
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.get_data(as_text=True).splitlines()[0].split(",")[0]


def test_variance_waterfall_adds_up_and_drills_down(callbacks, clients, facts, serving_db):
    fin = clients["finance"]
    props = response_props(callbacks.call(fin, "va-kpis", {}))
    months = props["va-by-month"]["figure"]["data"][0]["x"]
    assert months
    month = months[0]
    # click a month bar
    picked = response_props(callbacks.call(fin, "va-month", {
        "va-by-month.clickData": {"points": [{"x": month}]}}))["va-month"]["data"]
    assert picked == month
    wf = response_props(callbacks.call(fin, "va-waterfall", {"va-month.data": month}))
    fig = wf["va-waterfall"]["figure"]
    assert "causes add up ✓" in fig["layout"]["title"]["text"]
    trace = fig["data"][0]
    assert trace["measure"][0] == "absolute" and trace["measure"][-1] == "total"
    start, *steps, end = trace["y"]
    assert round(start + sum(steps), 2) == round(end, 2)
    # the month's invoices with a variance
    req = grid_request(0, 100)
    block = response_props(callbacks.call(fin, "va-invoices", {
        "va-invoices.getRowsRequest": req, "va-month.data": month}))["va-invoices"][
        "getRowsResponse"]
    assert block["rowData"]
    assert all(month in (r["variance_month"], r["booking_period"]) for r in block["rowData"])
    invoices = [r for r in block["rowData"] if r["invoice_number"]]
    if not invoices:  # this month has only bookings without invoices; use the whole period
        block = response_props(callbacks.call(fin, "va-invoices", {
            "va-invoices.getRowsRequest": req}))["va-invoices"]["getRowsResponse"]
        invoices = [r for r in block["rowData"] if r["invoice_number"]]
    inv = invoices[0]["invoice_number"]
    picked = response_props(callbacks.call(fin, "va-key", {
        "va-invoices.cellClicked": {"rowId": inv, "colId": "invoice_number"}}))
    assert picked["va-key"]["data"] == inv and picked["va-invoice"]["data"] == inv
    src = response_props(callbacks.call(fin, "va-sources", {"va-key.data": inv,
                                                            "va-invoice.data": inv}))
    assert "va-src-var" in str(src["va-sources"]["children"])
    # the invoice's lines, then one line's source records
    lines = response_props(callbacks.call(fin, "va-lines", {
        "va-lines.getRowsRequest": req, "va-invoice.data": inv}))["va-lines"]["getRowsResponse"]
    assert lines["rowData"] and all(r["invoice_number"] == inv for r in lines["rowData"])
    line = lines["rowData"][0]["line_number"]
    body = callbacks.payload(callbacks.find("va-sources"), {
        "va-month.data": month, "va-key.data": inv, "va-invoice.data": inv,
        "va-lines.cellClicked": {"rowId": f"{inv}|{line}", "colId": "line_number"}})
    body["changedPropIds"] = ["va-lines.cellClicked"]
    resp = fin.post("/_dash-update-component", data=json.dumps(body),
                    content_type="application/json")
    text = str(response_props(resp)["va-sources"]["children"])
    assert "va-src-line" in text and f"line {line}" in str(response_props(resp)["va-crumbs"])


def test_variance_lines_empty_until_an_invoice_is_picked(callbacks, clients):
    block = response_props(callbacks.call(clients["finance"], "va-lines", {
        "va-lines.getRowsRequest": grid_request(0, 10)}))["va-lines"]["getRowsResponse"]
    assert block == {"rowData": [], "rowCount": 0}


def test_partner_variance_is_own_only(callbacks, clients, facts):
    props = response_props(callbacks.call(clients["partner.nyc"], "va-kpis", {}))
    labels = props["va-by-partner"]["figure"]["data"][0].get("y", [])
    assert all("NY-TK0001" in str(lbl) for lbl in labels)
    foreign = [k for k in facts.foreign_matters["NY-TK0001"]][:1]
    src = response_props(callbacks.call(clients["partner.nyc"], "va-sources", {
        "va-key.data": "' OR 1=1 --", "va-invoice.data": None}))
    assert "va-src-var" not in str(src)
    del foreign
