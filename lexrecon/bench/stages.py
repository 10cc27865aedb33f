"""Benchmark stages. Each takes a BenchContext and returns figures; the runner measures memory.

Stages run in order and build on each other's files in the context's work folder:
generate → ingest_* → build_full → build_incremental → check → callbacks → evidence.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import duckdb

from lexrecon.bench.runner import BenchContext

# Stated sizes (time and expense entries, both LPMs) that the generate stage checks.
SCALE_SIZES = {"tiny": (100, 2_000), "demo": (135_000, 175_000), "large": (3_800_000, 4_400_000)}


def generate(ctx: BenchContext) -> dict:
    from ingestion.demo_firm.generator import generate as generate_firm

    started = time.perf_counter()
    manifest = generate_firm(ctx.scale, ctx.seed, ctx.firm)
    seconds = time.perf_counter() - started
    counts = manifest["row_counts"]
    entries = counts.get("clio.activities", 0) + counts.get("actionstep.timeentries", 0)
    invoices = counts.get("clio.bills", 0) + counts.get("actionstep.bills", 0)
    low, high = SCALE_SIZES[ctx.scale]
    if not low <= entries <= high:
        raise RuntimeError(f"scale {ctx.scale}: {entries} time and expense entries, "
                           f"expected {low}..{high}")
    return {
        "seconds": round(seconds, 2),
        "time_and_expense_entries": entries,
        "invoices": invoices,
        "rows_total": sum(v for v in counts.values() if isinstance(v, int)),
    }


def _ingest(name: str, ctx: BenchContext) -> dict:
    from ingestion.pipeline import run_source

    endpoint = None
    emulators = None
    if name in ("clio", "actionstep", "ebilling"):
        from ingestion.emulators import start_all
        from ingestion.pipeline import endpoint_for  # the REST sources' settings for an emulator

        emulators = start_all(ctx.firm, systems=(name,), unthrottled=True)
        endpoint = endpoint_for(name, emulators)
    try:
        summary = run_source(name, ctx.firm, ctx.raw_db, pipelines_dir=ctx.work / "pipelines",
                             endpoint=endpoint)
    finally:
        if emulators is not None:
            emulators.stop()
    figures = {
        "seconds": round(summary.seconds, 2),
        "received": summary.received,
        "loaded": summary.loaded,
        "quarantined": summary.quarantined,
        "records_per_s": round(summary.rows_per_second),
    }
    yardstick = _duckdb_yardstick(name, ctx)
    if yardstick:
        figures.update(yardstick)
        figures["x_slower_than_duckdb"] = round(
            yardstick["duckdb_rows_per_s"] / max(figures["records_per_s"], 1), 2
        )
    return figures


def _duckdb_yardstick(name: str, ctx: BenchContext) -> dict | None:
    """Plain DuckDB reading the same data into a scratch database, in the same run."""
    scratch = ctx.work / f"yardstick_{name}.duckdb"
    scratch.unlink(missing_ok=True)
    con = duckdb.connect(str(scratch))
    try:
        started = time.perf_counter()
        if name == "sales":
            # DuckDB's sqlite extension is not bundled and cannot be downloaded on these
            # machines, so the yardstick is the plainest path left: sqlite3 rows into DuckDB
            # through Arrow, with no dlt in between.
            import sqlite3

            import pyarrow as pa

            src = sqlite3.connect(str(ctx.firm / "sales" / "sales.sqlite"))
            tables = [r[0] for r in src.execute("select name from sqlite_master where type='table'")]
            rows = 0
            for t in tables:
                cur = src.execute(f'select * from "{t}"')
                names = [d[0] for d in cur.description]
                data = cur.fetchall()
                arrow = pa.Table.from_pylist([dict(zip(names, r)) for r in data]) if data else None
                if arrow is not None:
                    con.register("arrow_in", arrow)
                    con.execute(f'CREATE TABLE "{t}" AS SELECT * FROM arrow_in')
                    con.unregister("arrow_in")
                rows += len(data)
            src.close()
        elif name == "ledes":
            files = sorted((ctx.firm / "ebilling" / "ledes_inbox").glob("*.txt"))
            con.execute(
                "CREATE TABLE lines AS SELECT * FROM read_csv(?, delim='|', header=false, "
                "skip=2, all_varchar=true, null_padding=true, filename=true)",
                [[str(f) for f in files]],
            )
            rows = con.execute("SELECT count(*) FROM lines").fetchone()[0]
        else:
            return None
        seconds = time.perf_counter() - started
    finally:
        con.close()
        scratch.unlink(missing_ok=True)
    return {"duckdb_seconds": round(seconds, 3), "duckdb_rows_per_s": round(rows / max(seconds, 1e-9))}


def build_full(ctx: BenchContext) -> dict:
    from lexrecon.warehouse import build

    started = time.perf_counter()
    result = build(ctx.raw_db, ctx.build_db, full_refresh=True)
    seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError("the dbt build failed")
    return {"seconds": round(seconds, 2)}


def check_100k(ctx: BenchContext) -> dict:
    from lexrecon.check import check_paths
    from lexrecon.ledes.synth import write_sample_invoice_file, write_sample_rules_file

    invoice = ctx.work / "check_100k.txt"
    rules = ctx.work / "check_rules.yml"
    write_sample_invoice_file(invoice, 100_000, ctx.seed, "BENCH-001")
    write_sample_rules_file(rules, "BENCH-001")
    started = time.perf_counter()
    findings = check_paths([str(invoice)], [str(rules)])
    seconds = time.perf_counter() - started
    return {"lines": 100_000, "seconds": round(seconds, 3), "findings": findings.height}


STAGES: dict[str, Callable[[BenchContext], dict]] = {
    "generate": generate,
    "ingest_clio": lambda ctx: _ingest("clio", ctx),
    "ingest_actionstep": lambda ctx: _ingest("actionstep", ctx),
    "ingest_ebilling": lambda ctx: _ingest("ebilling", ctx),
    "ingest_ledes": lambda ctx: _ingest("ledes", ctx),
    "ingest_sales": lambda ctx: _ingest("sales", ctx),
    "build_full": build_full,
    "check_100k": check_100k,
}

# Targets from the issues, shown beside each figure: (figure, comparison, value).
TARGETS: dict[str, tuple[str, str, float]] = {
    "generate": ("seconds", "<=", 120.0),
    "ingest_clio": ("records_per_s", ">=", 50_000),
    "ingest_actionstep": ("records_per_s", ">=", 50_000),
    "ingest_ebilling": ("records_per_s", ">=", 50_000),
    "ingest_ledes": ("records_per_s", ">=", 1_000_000),
    "ingest_sales": ("records_per_s", ">=", 1_000_000),
    "build_full": ("seconds", "<=", 90.0),
    "check_100k": ("seconds", "<=", 3.0),
}

