"""Each fault switch does what the README says, switched by constructor, env, CLI or admin."""
from __future__ import annotations

import time

import polars as pl
import pytest
import requests

from ingestion.emulators import ActionstepEmulator, ClioEmulator, EbillingEmulator, Faults
from ingestion.emulators.cli import fault_options

from .conftest import authed, get_token

FIELDS = "id,total,updated_at"


def clio_with(firm, **faults) -> ClioEmulator:
    return ClioEmulator(firm / "clio", use_env=False, faults=faults)


def activities(clio: ClioEmulator, s: requests.Session, **params) -> requests.Response:
    return s.get(clio.api_url + "/activities.json",
                 params={"fields": FIELDS, "limit": 10, **params}, timeout=10)


def test_token_expires_mid_run_then_refresh_resumes(firm):
    with clio_with(firm, token_max_uses=2) as clio:
        tok = get_token(clio)
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + tok["access_token"]
        url, params, ids, refreshed = clio.api_url + "/activities.json", {"fields": "id",
                                                                          "limit": 10}, [], 0
        while url:
            r = s.get(url, params=params)
            if r.status_code == 401:
                assert "expired" in r.json()["error"]["message"]
                tok = get_token(clio, grant={"grant_type": "refresh_token",
                                             "refresh_token": tok["refresh_token"]})
                s.headers["Authorization"] = "Bearer " + tok["access_token"]
                refreshed += 1
                continue
            body = r.json()
            ids += [d["id"] for d in body["data"]]
            url, params = body["meta"]["paging"].get("next"), None
        assert refreshed == 2 and len(ids) == len(set(ids)) == 47


def test_admin_expire_tokens(clio):
    s = authed(clio)
    assert activities(clio, s).status_code == 200
    assert requests.post(clio.base_url + "/_emulator/expire-tokens").json() == {"expired": 1}
    assert activities(clio, s).status_code == 401


def test_429_burst_with_retry_after(firm):
    with clio_with(firm, burst_429_every=3, burst_429_count=2, retry_after=7) as clio:
        s = authed(clio)
        codes = [activities(clio, s) for _ in range(7)]
        assert [r.status_code for r in codes] == [200, 200, 429, 429, 200, 429, 429]
        assert codes[2].headers["Retry-After"] == "7"
        stats = requests.get(clio.base_url + "/_emulator/stats").json()
        assert stats["injected"]["429"] == 4 and stats["responses"]["429"] == 4


def test_5xx_and_after_requests_and_resources(firm):
    with clio_with(firm, error_5xx_every=2, error_5xx_status=502, after_requests=4,
                   resources=["activities"]) as clio:
        s = authed(clio)
        codes = [activities(clio, s).status_code for _ in range(8)]
        assert codes == [200, 200, 200, 200, 200, 502, 200, 502]
        users = [s.get(clio.api_url + "/users.json").status_code for _ in range(4)]
        assert users == [200] * 4


def test_slow_responses(firm):
    with clio_with(firm, slow_ms=300, slow_every=2) as clio:
        s = authed(clio)
        took = []
        for _ in range(2):
            t0 = time.perf_counter()
            assert activities(clio, s).status_code == 200
            took.append(time.perf_counter() - t0)
        assert took[0] < 0.25 and took[1] >= 0.3


def test_repeated_page_clio(firm):
    with clio_with(firm, repeat_page_every=2) as clio:
        s = authed(clio)
        url, params, pages = clio.api_url + "/activities.json", {"fields": "id", "limit": 10}, []
        while url:
            body = s.get(url, params=params).json()
            pages.append([d["id"] for d in body["data"]])
            url, params = body["meta"]["paging"].get("next"), None
        # 5 real pages; page 2 and page 4 were each served twice
        assert len(pages) == 7 and pages[1] == pages[2] and pages[4] == pages[5]
        ids = [i for p in pages for i in p]
        assert len(set(ids)) == 47 and len(ids) == 47 + 20


def test_repeated_page_actionstep(firm):
    with ActionstepEmulator(firm / "actionstep", use_env=False,
                            faults={"repeat_page_every": 1, "after_requests": 1}) as a:
        s = authed(a)
        first = s.get(a.api_url + "/timeentries", params={"pageSize": 5})
        second = s.get(a.api_url + "/timeentries", params={"pageSize": 5, "page": 2})
        assert second.content == first.content          # page 1 again, byte for byte
        third = s.get(a.api_url + "/timeentries", params={"pageSize": 5, "page": 2})
        assert third.json()["meta"]["paging"]["timeentries"]["page"] == 2


def test_new_field_and_string_amounts(firm):
    with ClioEmulator(firm / "clio", use_env=False) as clio:
        s = authed(clio)
        before = activities(clio, s).json()["data"][0]
        assert set(before) == {"id", "total", "updated_at"}
        assert isinstance(before["total"], float)
        r = requests.post(clio.base_url + "/_emulator/faults",
                          json={"new_field": "currency_code", "string_amounts": True})
        assert r.status_code == 200 and r.json()["string_amounts"] is True
        after = activities(clio, s)
        row = after.json()["data"][0]
        assert row["currency_code"] == "emulator-added"
        assert row["total"] == "24.50" and '"total":"24.50"' in after.text
        assert requests.get(clio.base_url + "/_emulator/faults").json()["new_field"] == \
            "currency_code"
        requests.delete(clio.base_url + "/_emulator/faults")
        assert activities(clio, s).json()["data"][0] == before


def test_drift_on_ebilling_expand(firm):
    with EbillingEmulator(firm / "ebilling", use_env=False,
                          faults={"string_amounts": True, "new_field": "x"}) as e:
        s = authed(e)
        inv = s.get(e.api_url + "/invoices", params={
            "$expand": "adjustments", "$filter": "invoiceId eq 'INV-0001'"}).json()["value"][0]
        assert inv["approvedTotal"] == "951.55" and inv["x"] == "emulator-added"
        assert [a["amount"] for a in inv["adjustments"]] == ["-55.00", "-0.45"]


def test_admin_rejects_unknown_switch(clio):
    r = requests.post(clio.base_url + "/_emulator/faults", json={"nope": 1})
    assert r.status_code == 400 and "nope" in r.text
    r = requests.post(clio.base_url + "/_emulator/faults", json={"slow_ms": "fast"})
    assert r.status_code == 400


def test_env_and_cli_switches(firm, monkeypatch):
    monkeypatch.setenv("LEXRECON_EMULATOR_FAULTS", '{"slow_ms": 5}')
    monkeypatch.setenv("LEXRECON_EMULATOR_CLIO_FAULTS", '{"burst_429_every": 1, "retry_after": 0}')
    with ClioEmulator(firm / "clio") as clio:
        assert clio.faults.slow_ms == 5 and clio.faults.burst_429_every == 1
        r = activities(clio, authed(clio))
        assert r.status_code == 429 and r.headers["Retry-After"] == "0"
    with ActionstepEmulator(firm / "actionstep") as a:
        assert a.faults.slow_ms == 5 and a.faults.burst_429_every == 0
    monkeypatch.setenv("LEXRECON_EMULATOR_FAULTS", '{"bogus": 1}')
    with pytest.raises(ValueError, match="bogus"):
        ClioEmulator(firm / "clio")
    opts = fault_options(["clio.string_amounts=true", "error_5xx_every=4"])
    assert opts == {"clio": {"string_amounts": "true"}, "*": {"error_5xx_every": "4"}}
    assert Faults().update(opts["clio"]).string_amounts is True
    with pytest.raises(ValueError):
        fault_options(["sap.slow_ms=1"])


def test_start_all_handle(firm):
    from ingestion.emulators import start_all
    with start_all(firm, faults={"*": {"slow_ms": 1}, "ebilling": {"error_5xx_every": 1}},
                   use_env=False) as emu:
        info = emu.info()
        assert set(info) == {"clio", "actionstep", "ebilling"}
        assert len({i["base_url"] for i in info.values()}) == 3
        assert all(i["base_url"].startswith("http://127.0.0.1:") for i in info.values())
        assert emu.clio.faults.slow_ms == 1 and emu.ebilling.faults.error_5xx_every == 1
        s = authed(emu.actionstep)
        n = pl.read_parquet(firm / "actionstep/actions.parquet").height
        assert len(s.get(emu.actionstep.api_url + "/actions").json()["actions"]) == n
        assert authed(emu.ebilling).get(emu.ebilling.api_url + "/invoices").status_code == 503
        url = emu.clio.base_url
        kept_alive = authed(emu.clio)
        assert kept_alive.get(url + "/api/v4/users.json").status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_emulator/info", timeout=2)
    with pytest.raises(requests.ConnectionError):  # an open keep-alive connection is closed too
        kept_alive.get(url + "/api/v4/users.json", timeout=2)


def test_admin_put_replaces_and_stats(clio):
    requests.post(clio.base_url + "/_emulator/faults", json={"slow_ms": 5, "retry_after": 3})
    got = requests.put(clio.base_url + "/_emulator/faults", json={"retry_after": 4}).json()
    assert got["slow_ms"] == 0 and got["retry_after"] == 4          # PUT = defaults + these
    s = authed(clio)
    activities(clio, s)
    stats = requests.get(clio.base_url + "/_emulator/stats").json()
    assert stats["data_requests"] == 1 and stats["responses"]["200"] >= 1
    schema = requests.get(clio.base_url + "/_emulator/schema").json()
    assert schema["activities"]["cursor"] == "updated_at"
    assert "matter" in schema["activities"]["fields"] and "total" in schema["activities"]["money"]


def test_rotating_refresh_tokens(firm):
    with ClioEmulator(firm / "clio", use_env=False, rotate_refresh_tokens=True) as clio:
        first = get_token(clio)
        second = get_token(clio, grant={"grant_type": "refresh_token",
                                        "refresh_token": first["refresh_token"]})
        assert second["refresh_token"] != first["refresh_token"]
        reuse = requests.post(clio.token_url, data={
            "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
            "client_id": clio.client_id, "client_secret": clio.client_secret})
        assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
