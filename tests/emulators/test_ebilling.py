"""The Legal Tracker-style e-billing emulator (OData) over real HTTP on 127.0.0.1."""
from __future__ import annotations

import polars as pl
import requests

from .conftest import authed


def test_company_id_required(ebilling):
    s = authed(ebilling)
    del s.headers["Company-ID"]
    r = s.get(ebilling.api_url + "/invoices")
    assert r.status_code == 400 and "Company-ID" in r.text
    r = s.get(ebilling.api_url + "/invoices", headers={"Company-ID": "someone-else"})
    assert r.status_code == 403
    assert requests.get(ebilling.api_url + "/invoices",
                        headers={"Company-ID": ebilling.company_id}).status_code == 401


def test_next_link_paging_every_row_once(ebilling, firm):
    expected = pl.read_parquet(firm / "ebilling/invoices.parquet")["invoiceId"].sort().to_list()
    s = authed(ebilling)
    url, params, rows, pages = ebilling.api_url + "/invoices", {"$count": "true"}, [], 0
    while url:
        r = s.get(url, params=params, headers={"Prefer": "odata.maxpagesize=5"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["@odata.count"] == len(expected)
        rows += body["value"]
        pages += 1
        url, params = body.get("@odata.nextLink"), None
    assert [r["invoiceId"] for r in rows] == expected and pages == 3


def test_filter_top_skip_orderby_select(ebilling):
    s = authed(ebilling)
    url = ebilling.api_url + "/invoices"
    got = s.get(url, params={"$filter": "invoiceNumber eq 'NY-0004'"}).json()["value"]
    assert [g["status"] for g in got] == ["Rejected"]
    # lastModified of invoice i = 2026-01-02 05:00 + i hours
    got = s.get(url, params={"$filter": "lastModified gt 2026-01-02T10:00:00Z",
                             "$count": "true"}).json()
    assert got["@odata.count"] == 6
    assert [v["invoiceId"] for v in got["value"]] == [f"INV-{i:04d}" for i in range(6, 12)]
    got = s.get(url, params={"$filter": "lastModified ge 2026-01-02T06:00:00-04:00"}).json()
    assert [v["invoiceId"] for v in got["value"]] == [f"INV-{i:04d}" for i in range(5, 12)]
    got = s.get(url, params={"$orderby": "invoiceNumber desc", "$top": 3, "$skip": 1,
                             "$select": "invoiceNumber,approvedTotal"})
    assert got.json()["value"] == [{"invoiceNumber": "NY-0010", "approvedTotal": 960.55},
                                   {"invoiceNumber": "NY-0009", "approvedTotal": 959.55},
                                   {"invoiceNumber": "NY-0008", "approvedTotal": 958.55}]
    assert "@odata.nextLink" not in got.json()
    both = s.get(url, params={"$filter": "(status eq 'Approved' and submittedTotal ge 1010)"
                                         " or invoiceNumber eq 'NY-0000'"}).json()["value"]
    assert sorted(v["invoiceNumber"] for v in both) == ["NY-0000", "NY-0010", "NY-0011"]
    assert s.get(url, params={"$filter": "nope eq 1"}).status_code == 400
    assert s.get(url, params={"$filter": "contains(status,'A')"}).status_code == 400


def test_expand_adjustments_and_other_collections(ebilling):
    s = authed(ebilling)
    got = s.get(ebilling.api_url + "/invoices", params={
        "$expand": "adjustments", "$filter": "invoiceId eq 'INV-0001'"})
    assert '"amount":-0.45' in got.text
    inv = got.json()["value"][0]
    assert [(a["lineItemNumber"], a["amount"], a["reason"]) for a in inv["adjustments"]] == [
        (1, -55.00, "Fee - Excessive time"), (3, -0.45, "Block billing")]
    plain = s.get(ebilling.api_url + "/invoices", params={"$top": 1}).json()["value"][0]
    assert "adjustments" not in plain
    hist = s.get(ebilling.api_url + "/statusHistory").json()["value"]
    assert hist[1]["reasonText"] == "Timekeeper not approved"
    pay = s.get(ebilling.api_url + "/payments").json()["value"]
    assert pay[0]["paymentNumber"] == "P-1" and pay[0]["amount"] == 950.55
    one = s.get(ebilling.api_url + "/invoices('INV-0004')").json()
    assert one["invoiceNumber"] == "NY-0004"
    assert s.get(ebilling.api_url + "/adjustments", params={"$expand": "x"}).status_code == 400
