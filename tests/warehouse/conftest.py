"""The tiny demo firm's warehouse: the shared ``tiny_pipeline`` build (tests/conftest.py) with
query helpers for the raw and build files."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest


@dataclass
class TinyWarehouse:
    firm: Path
    raw_db: Path
    build_db: Path
    result: Any  # lexrecon.warehouse.BuildResult

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.build_db), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def raw(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.raw_db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="session")
def tiny(tiny_pipeline) -> TinyWarehouse:
    return TinyWarehouse(firm=tiny_pipeline.firm, raw_db=tiny_pipeline.raw_db,
                         build_db=tiny_pipeline.build_db, result=tiny_pipeline.result)


@dataclass
class DailyFirm:
    """A private copy of the tiny firm, its raw file and dlt's state (incremental cursors), for
    tests that append days, load them and build incrementally."""
    firm: Path
    raw_db: Path
    build_db: Path  # not built yet
    pipes: Path


@pytest.fixture
def daily_firm(tiny, tmp_path: Path, monkeypatch) -> DailyFirm:
    if not tiny.result.success:
        pytest.fail("the tiny build is not green: " + "; ".join(tiny.result.failures[:5]))
    firm = tmp_path / "firm"
    shutil.copytree(tiny.firm, firm)
    raw_db = tmp_path / "raw.duckdb"
    shutil.copyfile(tiny.raw_db, raw_db)
    pipes = tmp_path / "pipes"
    shutil.copytree(tiny.raw_db.parent / "home" / "dlt_pipelines", pipes)
    monkeypatch.setenv("LEXRECON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEXRECON_FIRM", str(firm))
    return DailyFirm(firm, raw_db, tmp_path / "build.duckdb", pipes)
