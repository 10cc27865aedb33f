"""Helpers of the source tests: emulators, endpoints, tie-outs, queries (no fixtures).

A uniquely named module (not ``conftest``): several test folders have a conftest.py, and only
one of them can be imported as the top-level module ``conftest``.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

ROWS = 120  # rows per table of the synthetic firm


@contextmanager
def emulator(name: str, firm_dir: Path, faults: dict[str, Any] | None = None,
             **kw: Any) -> Iterator[Any]:
    from ingestion.emulators import SERVERS
    server = SERVERS[name](firm_dir / name, faults=faults or {}, use_env=False, **kw)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def endpoint(server: Any) -> dict[str, Any]:
    info = server.info()
    ep = {"base_url": info["base_url"], "client_id": info["client_id"],
          "client_secret": info["client_secret"]}
    if "company_id" in info:
        ep["company_id"] = info["company_id"]
    return ep


def tie_out(raw_db: Path, source: str, load_id: str) -> dict[str, dict[str, Any]]:
    """Per resource of one load: the tally row and what the tables really hold for it.

    Asserts received = loaded + quarantined, loaded = rows carrying the load id, quarantined =
    quarantine rows of the load, and the same for money, to the cent."""
    ds = f"raw_{source}"
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        tallies = con.execute(
            f"select resource, received, loaded, quarantined, money_column, money_received, "
            f"money_loaded, money_quarantined from {ds}.load_tally where load_id = ?",
            [load_id]).fetchall()
        out: dict[str, dict[str, Any]] = {}
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [ds]).fetchall()}
        for (resource, received, loaded, quarantined, money_col, m_rec, m_load,
             m_quar) in tallies:
            assert received == loaded + quarantined, resource
            assert m_rec == m_load + m_quar, resource
            table = resource if resource in tables else None
            if table is not None:
                rows, money = con.execute(
                    f"select count(*), {f'sum(try_cast({money_col} as decimal(38,6)))' if money_col else 'null'} "
                    f"from {ds}.{table} where _dlt_load_id = ?", [load_id]).fetchone()
                assert rows == loaded, (resource, rows, loaded)
                if money_col and loaded:
                    assert Decimal(money) == m_load, (resource, money, m_load)
            q_rows, q_money = con.execute(
                f"select count(*), coalesce(sum(money), 0) from {ds}.quarantine "
                f"where load_id = ? and resource = ?", [load_id, resource]).fetchone() \
                if "quarantine" in tables else (0, 0)
            assert q_rows == quarantined, (resource, q_rows, quarantined)
            assert Decimal(q_money) == m_quar, (resource, q_money, m_quar)
            out[resource] = {"received": received, "loaded": loaded,
                             "quarantined": quarantined, "money_loaded": m_load,
                             "money_quarantined": m_quar}
        return out
    finally:
        con.close()


def query(raw_db: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
