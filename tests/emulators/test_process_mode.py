"""start_all(..., in_process=False): the emulators in a child process."""
from __future__ import annotations

import os

import polars as pl
import pytest
import requests

from ingestion.emulators import EmulatorProcess, start_all

from .conftest import authed


def test_child_process_serves_and_stops(firm):
    with start_all(firm, systems=("clio", "ebilling"), in_process=False, use_env=False,
                   unthrottled=True, faults={"ebilling": {"error_5xx_every": 1}}) as emu:
        assert isinstance(emu, EmulatorProcess)
        assert emu.pid and emu.pid != os.getpid()
        info = emu.info()
        assert set(info) == {"clio", "ebilling"}
        assert info["clio"]["max_limit"] == 100_000 and emu.actionstep is None
        assert emu.clio.base_url.startswith("http://127.0.0.1:")
        s = authed(emu.clio)  # the handle has the same attributes the helpers use
        n = pl.read_parquet(firm / "clio/users.parquet").height
        r = s.get(emu.clio.api_url + "/users.json", params={"limit": 5000}, timeout=10)
        assert r.status_code == 200 and len(r.json()["data"]) == n
        e = authed(emu.ebilling)  # faults reach the child
        e.headers["Company-ID"] = emu.ebilling.company_id
        assert e.get(emu.ebilling.api_url + "/invoices", timeout=10).status_code == 503
        url = emu.clio.base_url
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_emulator/info", timeout=2)
    emu.stop()  # twice is harmless


def test_child_process_errors_are_raised_here(firm, tmp_path):
    with pytest.raises(FileNotFoundError):
        start_all(tmp_path / "no-firm", in_process=False)
    with pytest.raises(ValueError):
        start_all(firm, systems=("sap",), in_process=False)
