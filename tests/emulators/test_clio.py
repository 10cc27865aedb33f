"""The Clio-shaped emulator over real HTTP on 127.0.0.1."""
from __future__ import annotations

import datetime as dt
import time

import polars as pl
import requests

from .conftest import authed, get_token

ALL = ("id,etag,type,date,quantity,quantity_in_hours,price,total,note,non_billable,no_charge,"
       "status,utbms_task{code},utbms_activity{code},utbms_expense{code},matter{id},user{id},"
       "bill{id},created_at,updated_at")


def page_all(session: requests.Session, url: str, params: dict) -> tuple[list[dict], int]:
    rows, pages = [], 0
    while url:
        r = session.get(url, params=params, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["data"]
        pages += 1
        url, params = body["meta"]["paging"].get("next"), None
    return rows, pages


def test_cursor_paging_returns_every_row_once(clio, firm):
    expected = pl.read_parquet(firm / "clio/activities.parquet")["id"].sort().to_list()
    s = authed(clio)
    rows, pages = page_all(s, clio.api_url + "/activities.json", {"fields": ALL, "limit": 7})
    assert [r["id"] for r in rows] == expected          # every row once, in id order
    assert pages == -(-len(expected) // 7)
    first = s.get(clio.api_url + "/activities.json", params={"limit": 7}).json()
    assert first["meta"]["records"] == len(expected)
    assert first["meta"]["paging"]["next"].startswith(clio.api_url + "/activities.json?")


def test_nested_relations_and_exact_money(clio, firm):
    s = authed(clio)
    r = s.get(clio.api_url + "/bills.json", params={"fields": "id,number,total,client{id},matter"})
    assert r.status_code == 200
    assert '"total":1234.50' in r.text and '"total":0.10' in r.text  # numbers, exact text
    data = r.json()["data"]
    assert data[0] == {"id": 500, "number": "NY-0001", "total": 1234.50,
                       "client": {"id": 100}, "matter": {"id": 10}}
    acts = s.get(clio.api_url + "/activities.json",
                 params={"fields": "id,bill{id},quantity,date,updated_at", "limit": 200}).json()
    by_id = {a["id"]: a for a in acts["data"]}
    df = pl.read_parquet(firm / "clio/activities.parquet")
    for row in df.iter_rows(named=True):
        got = by_id[row["id"]]
        assert got["bill"] == ({"id": row["bill__id"]} if row["bill__id"] else None)
        assert got["date"] == row["date"].isoformat()
        assert got["updated_at"] == row["updated_at"].strftime("%Y-%m-%dT%H:%M:%S+00:00")


def test_empty_table(clio):
    s = authed(clio)
    body = s.get(clio.api_url + "/credit_memos.json", params={"fields": "id,amount"}).json()
    assert body == {"data": [], "meta": {"paging": {}, "records": 0}}
    body = s.get(clio.api_url + "/credit_memos.json",
                 params={"updated_since": "2026-01-01T00:00:00Z"}).json()
    assert body["data"] == []


def test_fields_selection(clio):
    s = authed(clio)
    default = s.get(clio.api_url + "/activities.json", params={"limit": 2}).json()["data"]
    assert set(default[0]) == {"id", "etag"}                      # Clio's default
    got = s.get(clio.api_url + "/activities.json",
                params={"fields": "id,total,user{id}", "limit": 2}).json()["data"]
    assert set(got[0]) == {"id", "total", "user"} and set(got[0]["user"]) == {"id"}
    bad = s.get(clio.api_url + "/activities.json", params={"fields": "id,nope"})
    assert bad.status_code == 400 and "nope" in bad.text
    deep = s.get(clio.api_url + "/activities.json", params={"fields": "matter{client{id}}"})
    assert deep.status_code == 400


def test_updated_since_filters(clio, firm):
    df = pl.read_parquet(firm / "clio/activities.parquet")
    since = dt.datetime(2026, 1, 2, 18, 0, 0, tzinfo=dt.UTC)
    expected = sorted(df.filter(pl.col("updated_at") >= since)["id"].to_list())
    assert 0 < len(expected) < df.height
    s = authed(clio)
    for text in ("2026-01-02T18:00:00Z", "2026-01-02T13:00:00-05:00"):
        rows, _ = page_all(s, clio.api_url + "/activities.json",
                           {"fields": "id,updated_at", "limit": 5, "updated_since": text})
        assert [r["id"] for r in rows] == expected
    assert s.get(clio.api_url + "/activities.json",
                 params={"updated_since": "yesterday"}).status_code == 400


def test_limit_bounds_and_single_record(clio):
    s = authed(clio)
    assert s.get(clio.api_url + "/activities.json", params={"limit": 201}).status_code == 400
    assert s.get(clio.api_url + "/activities.json", params={"limit": 0}).status_code == 400
    one = s.get(clio.api_url + "/users/2.json", params={"fields": "id,name,rate"})
    assert one.json() == {"data": {"id": 2, "name": "Bob Marsh", "rate": 450.50}}
    assert s.get(clio.api_url + "/users/99.json").status_code == 404
    assert s.get(clio.api_url + "/nothing.json").status_code == 404


def test_auth_required_and_bad_client(clio):
    r = requests.get(clio.api_url + "/users.json")
    assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
    bad = requests.post(clio.token_url, data={"grant_type": "client_credentials",
                                              "client_id": clio.client_id,
                                              "client_secret": "wrong"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    basic = requests.post(clio.token_url, data={"grant_type": "client_credentials"},
                          auth=(clio.client_id, clio.client_secret))
    assert basic.status_code == 200
    code = requests.post(clio.token_url, data={"grant_type": "authorization_code",
                                               "code": clio.tokens.auth_code,
                                               "client_id": clio.client_id,
                                               "client_secret": clio.client_secret})
    assert code.status_code == 200 and code.json()["refresh_token"]


def test_token_expiry_then_refresh(firm):
    from ingestion.emulators import ClioEmulator
    with ClioEmulator(firm / "clio", use_env=False, faults={"token_ttl": 0.3}) as clio:
        tok = get_token(clio)
        assert tok["expires_in"] == 0
        h = {"Authorization": "Bearer " + tok["access_token"]}
        assert requests.get(clio.api_url + "/users.json", headers=h).status_code == 200
        time.sleep(0.4)
        r = requests.get(clio.api_url + "/users.json", headers=h)
        assert r.status_code == 401 and "expired" in r.text
        new = get_token(clio, grant={"grant_type": "refresh_token",
                                     "refresh_token": tok["refresh_token"]})
        h = {"Authorization": "Bearer " + new["access_token"]}
        assert requests.get(clio.api_url + "/users.json", headers=h).status_code == 200
        # Clio Manage refresh tokens are reusable
        again = get_token(clio, grant={"grant_type": "refresh_token",
                                       "refresh_token": tok["refresh_token"]})
        assert again["refresh_token"] == tok["refresh_token"]


def test_rate_limit_429_with_retry_after(firm):
    from ingestion.emulators import ClioEmulator
    with ClioEmulator(firm / "clio", use_env=False,
                      faults={"rate_limit": 3, "rate_window": 1}) as clio:
        s = authed(clio)
        codes = [s.get(clio.api_url + "/users.json") for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        assert codes[0].headers["X-RateLimit-Limit"] == "3"
        assert codes[2].headers["X-RateLimit-Remaining"] == "0"
        assert 0 <= int(codes[0].headers["X-RateLimit-Reset"]) - time.time() <= 2
        retry = int(codes[3].headers["Retry-After"])
        assert retry == 1
        time.sleep(retry)
        assert s.get(clio.api_url + "/users.json").status_code == 200
