"""Crawl every resource of a freshly generated tiny demo firm through all three emulators."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import requests

from ingestion.emulators import start_all

from .conftest import authed


@pytest.fixture(scope="module")
def tiny_firm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generator = pytest.importorskip("ingestion.demo_firm.generator")
    out = tmp_path_factory.mktemp("firm-tiny")
    generator.generate("tiny", 42, out)
    return out


def test_every_resource_pages_to_the_end_exactly_once(tiny_firm):
    with start_all(tiny_firm, use_env=False) as emu:
        c = emu.clio
        s = authed(c)
        schema = requests.get(c.base_url + "/_emulator/schema").json()
        assert {"activities", "bills", "line_items", "users", "matters"} <= set(schema)
        for res, meta in schema.items():
            url, params, ids = (f"{c.api_url}/{res}.json",
                                {"fields": ",".join(meta["fields"]), "limit": 50}, [])
            while url:
                r = s.get(url, params=params)
                assert r.status_code == 200, r.text
                body = r.json()
                ids += [d["id"] for d in body["data"]]
                url, params = body["meta"]["paging"].get("next"), None
            expected = pl.read_parquet(tiny_firm / "clio" / f"{res}.parquet")["id"]
            assert ids == expected.sort().to_list(), res

        a = emu.actionstep
        s = authed(a)
        for f in sorted((tiny_firm / "actionstep").glob("*.parquet")):
            url, params, ids = f"{a.api_url}/{f.stem}", {"pageSize": 50}, []
            while url:
                body = s.get(url, params=params).json()
                ids += [d["id"] for d in body[f.stem]]
                url, params = body["meta"]["paging"][f.stem]["nextPage"], None
            assert ids == pl.read_parquet(f)["id"].sort().to_list(), f.stem

        e = emu.ebilling
        s = authed(e)
        for f in sorted((tiny_firm / "ebilling").glob("*.parquet")):
            df = pl.read_parquet(f)
            url, params, keys = f"{e.api_url}/{f.stem}", {"$count": "true"}, []
            while url:
                body = s.get(url, params=params, headers={"Prefer": "odata.maxpagesize=7"}).json()
                assert body["@odata.count"] == df.height
                keys += [d[df.columns[0]] for d in body["value"]]
                url, params = body.get("@odata.nextLink"), None
            assert keys == df[df.columns[0]].sort().to_list(), f.stem
