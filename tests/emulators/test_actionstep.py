"""The Actionstep-shaped emulator over real HTTP on 127.0.0.1."""
from __future__ import annotations

import datetime as dt

import polars as pl
import requests

from .conftest import authed, get_token


def page_all(s: requests.Session, url: str, params: dict, resource: str):
    rows, metas = [], []
    while url:
        r = s.get(url, params=params, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body[resource]
        metas.append(body["meta"]["paging"][resource])
        url, params = metas[-1]["nextPage"], None
    return rows, metas


def test_page_paging_returns_every_row_once(actionstep, firm):
    expected = pl.read_parquet(firm / "actionstep/timeentries.parquet")["id"].sort().to_list()
    s = authed(actionstep)
    rows, metas = page_all(s, actionstep.api_url + "/timeentries", {"pageSize": 5},
                           "timeentries")
    assert [r["id"] for r in rows] == expected
    assert [m["page"] for m in metas] == [1, 2, 3, 4, 5]
    m = metas[1]
    assert (m["recordCount"], m["pageCount"], m["pageSize"]) == (len(expected), 5, 5)
    assert m["prevPage"].endswith("page=1") and m["nextPage"].endswith("page=3")
    assert metas[0]["prevPage"] is None and metas[-1]["nextPage"] is None
    beyond = s.get(actionstep.api_url + "/timeentries", params={"page": 9, "pageSize": 5})
    assert beyond.status_code == 200 and beyond.json()["timeentries"] == []


def test_shape_links_booleans_offsets_money(actionstep):
    s = authed(actionstep)
    r = s.get(actionstep.api_url + "/timeentries", params={"pageSize": 2})
    body = r.json()
    first = body["timeentries"][0]
    assert first["links"] == {"action": 7, "owner": 3, "utbmsTaskCode": "L120",
                              "utbmsActivityCode": "A104", "bill": 90}
    assert body["timeentries"][1]["links"]["bill"] is None
    assert first["isBillable"] == "F" and body["timeentries"][1]["isBillable"] == "T"
    assert first["modifiedTimestamp"] == "2026-01-01T09:00:00+01:00"
    assert '"billableAmount":390.00' in r.text and '"actualHours":1.2500' in r.text
    assert body["links"]["timeentries.action"].endswith("/api/rest/actions/{timeentries.action}")
    one = s.get(actionstep.api_url + "/actions/8").json()
    assert one["actions"]["reference"] == "C0002-0002"
    assert one["actions"]["links"]["billingPartner"] == 4


def test_modified_since_filter(actionstep, firm):
    df = pl.read_parquet(firm / "actionstep/timeentries.parquet").with_columns(
        pl.col("modifiedTimestamp").str.to_datetime(time_zone="UTC").alias("ts"))
    cut = dt.datetime(2026, 1, 1, 20, 0, tzinfo=dt.UTC)
    gt = sorted(df.filter(pl.col("ts") > cut)["id"].to_list())
    ge = sorted(df.filter(pl.col("ts") >= cut)["id"].to_list())
    assert 0 < len(gt) < len(ge) < df.height
    s = authed(actionstep)
    url = actionstep.api_url + "/timeentries"
    for params in ({"modifiedTimestamp_gt": "2026-01-01T20:00:00+00:00"},
                   {"filter": "modifiedTimestamp_gt:2026-01-01T21:00:00+01:00"}):
        rows, metas = page_all(s, url, {**params, "pageSize": 3}, "timeentries")
        assert [r["id"] for r in rows] == gt and metas[0]["recordCount"] == len(gt)
    rows, _ = page_all(s, url, {"modifiedTimestamp_gte": "2026-01-01T20:00:00Z"},
                       "timeentries")
    assert [r["id"] for r in rows] == ge
    assert s.get(url, params={"filter": "name_eq:x"}).status_code == 400


def test_page_size_bounds_and_token(actionstep):
    tok = get_token(actionstep)
    assert tok["api_endpoint"] == actionstep.api_url + "/" and tok["orgkey"]
    s = authed(actionstep)
    assert s.get(actionstep.api_url + "/timeentries", params={"pageSize": 201}).status_code == 400
    r = requests.get(actionstep.api_url + "/timeentries")
    assert r.status_code == 401 and r.json()["errors"][0]["status"] == "401"
