"""The written firm matches docs/demo-firm.md and ingestion/demo_firm/schema.py."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ingestion.demo_firm.schema import (
    ANOMALY_KINDS,
    GROUND_TRUTH,
    LEDES_MONEY,
    MONEY,
    SALES_TABLES,
    TABLES,
)
from lexrecon.config import REPO_ROOT

DOC = REPO_ROOT / "docs" / "demo-firm.md"


def _doc_tables() -> dict[str, list[str]]:
    """{system.table: [columns]} from the markdown tables of the contract."""
    out: dict[str, list[str]] = {}
    system = None
    for line in DOC.read_text().splitlines():
        m = re.match(r"## (clio|actionstep|ebilling)/", line)
        if m:
            system = m.group(1)
            continue
        if line.startswith("## "):
            system = "sales" if line.startswith("## sales/") else None
            continue
        if system and line.startswith("| ") and not line.startswith("| table"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            name, cols = cells[0], "|".join(cells[1:])
            while "(" in cols:
                cols = re.sub(r"\([^()]*\)", "", cols)
            cols = cols.replace("*", "").replace("PK", "")
            cols = cols.split(" — ")[0]
            out[f"{system}.{name}"] = [c.strip() for c in cols.split(",") if c.strip()]
    return out


def test_schema_declares_exactly_the_documented_tables_and_columns():
    doc = _doc_tables()
    declared = {k: [c for c, _ in t.columns] for k, t in TABLES.items()}
    declared.update({f"sales.{k}": list(v[0]) for k, v in SALES_TABLES.items()})
    assert declared == doc


def test_every_table_is_written_with_the_declared_schema(tiny_firm: Path):
    for key, t in TABLES.items():
        path = tiny_firm / t.path
        df = pl.read_parquet(path)
        assert df.schema == pl.Schema(t.schema), key
        assert df[t.primary_key].null_count() == 0, key
        assert df[t.primary_key].n_unique() == df.height, key
        assert t.cursor in df.columns, key
        assert all(df.schema[c] in (MONEY, LEDES_MONEY) for c in t.money_columns)
    gt = pl.read_parquet(tiny_firm / "ground_truth.parquet")
    assert gt.schema == pl.Schema(GROUND_TRUTH.schema)


def test_parquet_has_no_wall_clock_metadata(tiny_firm: Path):
    md = pq.read_metadata(tiny_firm / "clio" / "activities.parquet")
    blob = json.dumps({k.decode(): v.decode(errors="replace") for k, v in (md.metadata or {}).items()})
    assert "2027" not in blob and "created_at" not in (md.created_by or "")


def test_sales_sqlite_tables(tiny_firm: Path):
    con = sqlite3.connect(tiny_firm / "sales" / "sales.sqlite")
    for name, (cols, pk, _) in SALES_TABLES.items():
        got = [r[1] for r in con.execute(f"pragma table_info({name})")]
        assert got == list(cols), name
    ids = [r[0] for r in con.execute("select request_id from revenue_bookings")]
    assert len(ids) > 0
    con.close()


def test_manifest_lists_every_file_with_its_hash(tiny_firm: Path):
    m = json.loads((tiny_firm / "manifest.json").read_text())
    files = {p.relative_to(tiny_firm).as_posix() for p in tiny_firm.rglob("*") if p.is_file()}
    assert set(m["files"]) == files - {"manifest.json"}
    assert m["scale"] == "tiny" and m["seed"] == 42 and m["as_of"] == "2026-09-30"
    assert set(m["anomalies"]) == set(ANOMALY_KINDS)
    assert m["variance_partner"].startswith("NY-TK") and re.fullmatch(r"\d{4}-\d\d", m["variance_month"])


def test_ids_follow_the_conventions(tiny_firm: Path):
    users = pl.read_parquet(tiny_firm / "clio" / "users.parquet")
    assert users["timekeeper_id"].str.contains(r"^NY-TK\d{4}$").all()
    parts = pl.read_parquet(tiny_firm / "actionstep" / "participants.parquet")
    tk = parts.filter(pl.col("isTimekeeper") == "T")["timekeeperId"]
    assert tk.str.contains(r"^LN-TK\d{4}$").all()
    matters = pl.read_parquet(tiny_firm / "clio" / "matters.parquet")
    assert matters["display_number"].str.contains(r"^C\d{4}-\d{4}$").all()
    ts = pl.read_parquet(tiny_firm / "actionstep" / "timeentries.parquet")["modifiedTimestamp"]
    assert ts.str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$").all()
