"""The tiny demo firm's warehouse: the shared ``tiny_pipeline`` build (tests/conftest.py) with
query helpers for the raw and build files."""
from __future__ import annotations

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
