"""`lexrecon bench --scale tiny`: every stage runs for real and reports its figures.

The benchmark itself (scale large) is `make bench`, never part of `make test`; this run at the
tiny scale keeps every stage (including datacompy's yardstick in .venv-datacompy, created by
the stage with the project's uv if missing) from rotting. Timings are not asserted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from lexrecon.bench.stages import STAGES, TARGETS
from tests.warehouse_compare import objects_differ, warehouse_objects

# Figures each stage must report (at least these).
EXPECTED = {
    "generate": {"seconds", "time_and_expense_entries", "invoices"},
    "ingest_clio": {"seconds", "received", "loaded", "records_per_s", "cpu_s"},
    "ingest_actionstep": {"seconds", "received", "loaded", "records_per_s"},
    "ingest_ebilling": {"seconds", "received", "loaded", "records_per_s"},
    "ingest_ledes": {"seconds", "records_per_s", "duckdb_rows_per_s", "x_slower_than_duckdb"},
    "ingest_sales": {"seconds", "records_per_s", "duckdb_rows_per_s", "x_slower_than_duckdb"},
    "build_full": {"seconds", "cpu_s", "nodes", "slowest_models_s"},
    "variance_yardstick": {"ours_s", "datacompy_s", "agree", "ours", "datacompy"},
    "check_100k": {"lines", "seconds", "findings"},
    "callbacks": {"p95_ms_max", "pages"},
    "evidence": {"seconds", "period", "files"},
    "build_incremental": {"seconds", "new_entries", "ingest_s", "build_s", "received",
                          "changed_sources", "models_run"},
}


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """One `lexrecon bench --scale tiny` (every stage) in a temporary work folder."""
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results.json"
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    proc = subprocess.run(
        [sys.executable, "-m", "lexrecon", "bench", "--scale", "tiny", "--work",
         str(tmp / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=1200, env=env, check=False,
    )
    return out, proc


def test_bench_tiny_runs_every_stage(bench_run) -> None:
    assert set(EXPECTED) == set(STAGES)
    out, proc = bench_run
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    doc = json.loads(out.read_text())
    assert doc["scale"] == "tiny"
    m = doc["machine"]
    assert m["cores"] >= 1 and m["memory_gib"] > 0
    assert {"duckdb", "dlt", "dbt-core", "polars"} <= set(m["versions"])
    stages = {s["stage"]: s for s in doc["stages"]}
    assert list(stages) == list(STAGES)
    for name, want in EXPECTED.items():
        s = stages[name]
        assert s["ok"], f"{name}: {s['error']}"
        assert want <= set(s["figures"]), f"{name}: {sorted(s['figures'])}"
        assert s["peak_rss_mib"] > 0 and s["seconds"] > 0
        assert len(s["load_before"]) == 3
    assert set(doc["targets"]) == set(TARGETS)
    # the variance engine and datacompy agree on the counts of the same join
    v = stages["variance_yardstick"]["figures"]
    assert v["agree"], v
    assert sum(v["ours"].values()) > 0
    # one more day of entries was loaded incrementally: only the new ones were received
    inc = stages["build_incremental"]["figures"]
    assert inc["new_entries"] > 0
    for source in ("clio", "actionstep"):
        assert 0 < inc["received"][source] < stages[f"ingest_{source}"]["figures"]["received"] / 2
    # only what the new day touched is rebuilt: the time entries' raw tables (and load tallies)
    assert {"source:clio.activities", "source:actionstep.timeentries"} <= set(inc["changed_sources"])
    assert "source:sales.revenue_bookings" not in inc["changed_sources"]
    assert inc["models_run"] < stages["build_full"]["figures"]["models_run"]
    table = out.with_suffix(".md").read_text()
    assert "| build_full | yes |" in table and "cores" in table


def test_incremental_build_equals_a_full_rebuild(bench_run, tmp_path: Path) -> None:
    """The bench's build_incremental stage (one more day, incremental loads, a build from the
    previous build, published (moved) to the serving file) leaves the same warehouse as a full rebuild from the same raw file."""
    from lexrecon.warehouse import build

    out, proc = bench_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    work = out.parent / "work"
    full = tmp_path / "full.duckdb"
    os.environ["LEXRECON_FIRM"] = str(work / "firm")  # the OCG rules the bench built with
    result = build(work / "raw.duckdb", full, full_refresh=True)
    assert result.success, result.failures[:5]
    con = duckdb.connect()
    assert not (work / "build.duckdb").exists()  # publish moved it to the serving file
    con.execute(f"attach '{work / 'serving.duckdb'}' as inc (read_only)")
    con.execute(f"attach '{full}' as rebuilt (read_only)")
    tables = warehouse_objects(con, "rebuilt")
    assert tables == warehouse_objects(con, "inc")
    assert ("staging", "stg_clio__activities") in tables
    assert ("intermediate", "int_time_entries_unioned") in tables
    new_day = json.loads(out.read_text())["stages"][-1]["figures"]["day"]
    assert con.execute("select count(*) from inc.marts.fct_time_entries where entry_date = ?",
                       [new_day]).fetchone()[0] > 0
    differ = objects_differ(con, "inc", "rebuilt", tables)
    assert not differ, differ
