"""Benchmark stages. Each takes a BenchContext and returns figures; the runner measures memory.

Stages run in order and build on each other's files in the context's work folder:
generate → ingest_* → build_full → build_incremental → check → callbacks → evidence.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import duckdb

from lexrecon.bench.runner import BenchContext


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its waited-for children so far."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

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

    # REST sources: with no endpoint and no vendor configured, run_source starts this source's
    # emulator on the firm (ingestion/emulators) and points the dlt source at it; unthrottled
    # = no vendor page limit or rate limit, pages of UNTHROTTLED_PAGE_SIZE records. The
    # emulator's start-up (loading its parquet) is outside the timed run, as in `lexrecon ingest`.
    # Every run is a first load: with --keep, a source loaded before would otherwise fetch
    # nothing (its incremental cursors are past every record) and measure 0 records/s.
    _forget_source(name, ctx)
    cpu0 = _cpu()
    summary = run_source(name, ctx.firm, ctx.raw_db, pipelines_dir=ctx.work / "pipelines",
                         unthrottled=name in ("clio", "actionstep", "ebilling"))
    figures = {
        "seconds": round(summary.seconds, 2),
        "received": summary.received,
        "loaded": summary.loaded,
        "quarantined": summary.quarantined,
        "records_per_s": round(summary.rows_per_second),
        "cpu_s": round(_cpu() - cpu0, 2),
        "steps_s": {k: round(v, 2) for k, v in summary.steps.items()},
    }
    yardstick = _duckdb_yardstick(name, ctx)
    if yardstick:
        figures.update(yardstick)
        figures["x_slower_than_duckdb"] = round(
            yardstick["duckdb_rows_per_s"] / max(figures["records_per_s"], 1), 2
        )
    return figures


def _forget_source(name: str, ctx: BenchContext) -> None:
    """Drop one source's dlt pipeline state and raw dataset from the work folder."""
    import shutil

    shutil.rmtree(ctx.work / "pipelines" / f"lexrecon_{name}", ignore_errors=True)
    if ctx.raw_db.is_file():
        con = duckdb.connect(str(ctx.raw_db))
        try:
            con.execute(f'drop schema if exists "raw_{name}" cascade')
        finally:
            con.close()


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


def _dbt_model_seconds(run_results) -> dict[str, float]:
    """Execution seconds per model: of a build's dbt run results (what that run ran), or of
    the run results kept beside a build file (a path: everything the file holds)."""
    import json

    if not isinstance(run_results, dict):
        from lexrecon.warehouse import run_results_path

        path = run_results_path(run_results)
        run_results = json.loads(path.read_text()) if path.is_file() else {}
    return {r["unique_id"].split(".")[-1]: float(r.get("execution_time") or 0.0)
            for r in run_results.get("results", []) if r["unique_id"].startswith("model.")}


def build_full(ctx: BenchContext) -> dict:
    """A full `dbt build` (models, seeds, unit and data tests) from raw into a fresh build file,
    then `publish` to the serving file the callbacks and evidence stages read. The build
    records its incremental state, the base of build_incremental."""
    from lexrecon.warehouse import build, publish

    cpu0 = _cpu()
    started = time.perf_counter()
    result = build(ctx.raw_db, ctx.build_db, full_refresh=True)
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu0
    if not result.success:
        raise RuntimeError("the dbt build failed: " + "; ".join(result.failures[:5]))
    size = ctx.build_db.stat().st_size
    t0 = time.perf_counter()
    publish(ctx.build_db, ctx.serving_db)  # moves the build file to the serving file
    models = _dbt_model_seconds(result.run_results)
    slowest = sorted(models.items(), key=lambda kv: -kv[1])[:8]
    return {
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "nodes": dict(result.statuses),
        "models_run": len(models),
        "publish_s": round(time.perf_counter() - t0, 2),
        "build_db_mib": round(size / 2**20),
        "slowest_models_s": {k: round(v, 2) for k, v in slowest},
    }


# The variance engine: the models from the staged invoices and bookings to the invoice-grain mart.
VARIANCE_MODELS = ("int_sales_bookings_matched", "int_invoices_sales_compared",
                   "int_sales_variance_legs", "fct_invoice_sales_variance")


def variance_yardstick(ctx: BenchContext) -> dict:
    """Our invoice-versus-sales variance counts and model time against datacompy's polars
    comparison of the same join (in .venv-datacompy: datacompy pins an older polars).

    The two sides are exported from the build, not from the variance mart: invoices =
    non-void LPM invoices (`fct_invoices`, join_key = invoice number, amount_usd =
    total_amount_usd); bookings = every sales booking (`stg_sales__revenue_bookings`),
    join_key = its invoice_ref (`invoice_number` in staging) when that names a live invoice, else `booking:<id>`, summed
    per join_key. Ours: rows of `fct_invoice_sales_variance` with both sides and variance 0
    (matched) or not (mismatched), invoices without a booking, bookings without an invoice."""
    import json
    import subprocess

    from lexrecon.config import REPO_ROOT

    python = ensure_datacompy_venv()
    inv = ctx.work / "variance_invoices.parquet"
    bk = ctx.work / "variance_bookings.parquet"
    con = duckdb.connect(str(ctx.serving_db), read_only=True)
    try:
        con.execute(f"""copy (select invoice_number as join_key, cast(total_amount_usd as double)
                             as amount_usd from marts.fct_invoices where not is_void)
                        to '{inv}' (format parquet)""")
        con.execute(f"""copy (
            with live as (select invoice_number from marts.fct_invoices where not is_void)
            select case when b.invoice_number in (select invoice_number from live)
                        then b.invoice_number else 'booking:' || b.booking_id end as join_key,
                   cast(sum(b.amount_usd) as double) as amount_usd
            from staging.stg_sales__revenue_bookings b group by 1) to '{bk}' (format parquet)""")
        ours = con.execute("""
            select count(*) filter (where variance_key not like 'booking:%' and booking_id is not null
                                    and variance_usd = 0),
                   count(*) filter (where variance_key not like 'booking:%' and booking_id is not null
                                    and variance_usd <> 0),
                   count(*) filter (where variance_key not like 'booking:%' and booking_id is null),
                   count(*) filter (where variance_key like 'booking:%')
            from marts.fct_invoice_sales_variance""").fetchone()
    finally:
        con.close()
    models = _dbt_model_seconds(ctx.serving_db)
    ours_s = sum(models.get(m, 0.0) for m in VARIANCE_MODELS)
    out = ctx.work / "datacompy_result.json"
    out.unlink(missing_ok=True)
    script = REPO_ROOT / "lexrecon" / "bench" / "datacompy_yardstick.py"
    proc = subprocess.run([str(python), str(script), str(inv), str(bk), str(out)],
                          capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"datacompy yardstick failed: {proc.stderr[-1500:]}")
    theirs = json.loads(out.read_text())
    keys = ("matched", "mismatched", "only_invoices", "only_bookings")
    ours_counts = dict(zip(keys, ours))
    their_counts = {k: theirs[k] for k in keys}
    return {
        "ours_s": round(ours_s, 3),
        "ours_models": list(VARIANCE_MODELS),
        "datacompy_s": theirs["seconds"],
        "agree": ours_counts == their_counts,
        "ours": ours_counts,
        "datacompy": their_counts,
        "datacompy_version": theirs["datacompy"],
        "datacompy_polars": theirs["polars"],
    }


DATACOMPY_SPEC = "datacompy[polars]==1.1.0"


def ensure_datacompy_venv():
    """.venv-datacompy's python, created with the project's uv (`make bench` does the same)."""
    import subprocess
    import sys

    from lexrecon.config import REPO_ROOT

    venv = REPO_ROOT / ".venv-datacompy"
    python = venv / "bin" / "python"
    if python.is_file() and subprocess.run([str(python), "-c", "import datacompy, polars"],
                                           capture_output=True, check=False).returncode == 0:
        return python
    uv = REPO_ROOT / ".uv" / "bin" / "uv"
    if not uv.is_file():
        raise RuntimeError(f"{uv} is missing: run `make install` (it creates .uv) first")
    base = f"{sys.version_info.major}.{sys.version_info.minor}"
    for cmd in ([str(uv), "venv", str(venv), "--python", base],
                [str(uv), "pip", "install", "--python", str(python), DATACOMPY_SPEC]):
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-1000:]}")
    return python


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


def _pages(q, scope, f, months: list[str]) -> dict[str, Callable[[], object]]:
    """Each page's main callback, as the server runs it: the queries the callback calls, in
    order (dashboards/pages/*.py). `db` and the scope are bound by the caller."""
    last = months[-1] if months else None
    return {
        "overview": lambda db: (q.overview_kpis(db, scope, f), q.overview_trend(db, scope, f),
                                q.lockup_trend(db, scope, f)),
        "aging": lambda db: (q.aging_buckets(db, scope, f, "client"), q.aging_trend(db, scope, f)),
        "variance": lambda db: (q.variance_breakdown(db, scope, f, "month"),
                                q.variance_breakdown(db, scope, f, "partner"),
                                q.variance_breakdown(db, scope, f, "client"),
                                q.variance_waterfall(db, scope, f, last)),
        "rejections": lambda db: (q.rejection_summary(db, scope, f),
                                  q.rejection_breakdown(db, scope, f, "reason"),
                                  q.ocg_violations_by_rule(db, scope, f)),
        "leakage": lambda db: (q.leakage_by_category(db, scope, f),
                               q.write_offs_by_category(db, scope, f),
                               q.write_offs_trend(db, scope, f)),
        "collections_worklist": lambda db: q.scored_collections_worklist(db, scope, f),
        "prebill_exceptions": lambda db: q.prebill_exceptions(db, scope, f),
        "ledes_export": lambda db: q.ledes_export_invoices(db, scope, f),
        "evidence": lambda db: q.tie_outs(db, scope, f),
        "health": lambda db: (q.load_health(db), q.test_results(db), q.build_results(db),
                              q.warehouse_info(db)),
        "invoices_grid": lambda db: q.table_rows(db, "invoices", scope, f, 0, 100),
    }


CALLBACK_REPEATS = {"tiny": 2, "demo": 5, "large": 6}  # timed calls per page and role (p95 of 6 = the slowest)


def callbacks(ctx: BenchContext) -> dict:
    """Server time of each page's main callback on the serving file, p50/p95 over repeats, for
    a finance user (the last quarter of the data) and a billing partner (own clients, whole
    period). Each call takes its own short read-only connection from the published file's
    anchor, as the server does (dashboards.queries.connect). The first call of each page and
    role is kept apart as cold: every anchor is closed before it, so it pays what the first
    request after a publish pays (opening the file, reading its catalog)."""
    import statistics

    from dashboards import queries as q
    from dashboards.auth import PAGE_ACCESS

    repeats = CALLBACK_REPEATS[ctx.scale]
    db = ctx.serving_db
    with duckdb.connect(str(db), read_only=True) as con:
        months = [r[0] for r in con.execute(
            "select distinct invoice_month from marts.fct_invoices order by 1").fetchall()]
        partner = con.execute(
            "select billing_partner_timekeeper_id from marts.fct_invoices "
            "group by 1 order by count(*) desc, 1 limit 1").fetchone()[0]
    roles = {
        "finance": (q.Scope("finance"),
                    q.Filters.from_inputs(months[-3] if len(months) >= 3 else months[0],
                                          months[-1])),
        "partner": (q.Scope("partner", partner), q.Filters()),
    }
    per_page: dict[str, dict] = {}
    refused: list[str] = []
    worst_p95 = 0.0
    for role, (scope, f) in roles.items():
        for page, call in _pages(q, scope, f, months).items():
            if page in PAGE_ACCESS and role not in PAGE_ACCESS[page]:
                refused.append(f"{role}/{page}")  # the server refuses the page to this role
                continue
            q.release_all()  # cold: as the first request after a publish
            t0 = time.perf_counter()
            try:
                call(db)
            except PermissionError:
                refused.append(f"{role}/{page}")
                continue
            cold = (time.perf_counter() - t0) * 1000
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                call(db)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p50 = statistics.median(times)
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            per_page[f"{role}/{page}"] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
                                          "cold_ms": round(cold, 1)}
            worst_p95 = max(worst_p95, p95)
    worst = max(per_page.items(), key=lambda kv: kv[1]["p95_ms"])
    return {
        "p95_ms_max": round(worst_p95, 1),
        "slowest": worst[0],
        "repeats": repeats,
        "partner": partner,
        "refused": refused,
        "finance_period": [roles["finance"][1].period_from, roles["finance"][1].period_to],
        "pages": per_page,
    }


def evidence(ctx: BenchContext) -> dict:
    """`reports.evidence.build_pack` for the last invoiced month of the serving file."""
    import shutil

    from reports.evidence import build_pack

    with duckdb.connect(str(ctx.serving_db), read_only=True) as con:
        period = con.execute("select max(invoice_month) from marts.fct_invoices").fetchone()[0]
    out = ctx.work / f"evidence-{period}"
    shutil.rmtree(out, ignore_errors=True)
    cpu0 = _cpu()
    started = time.perf_counter()
    pack = build_pack(ctx.serving_db, period, out)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"seconds": round(seconds, 2), "cpu_s": round(_cpu() - cpu0, 2), "period": period,
            "files": len(pack.files), "pack_mib": round(size / 2**20, 1)}


def build_incremental(ctx: BenchContext) -> dict:
    """The daily run, end to end: one more business day of time entries in the firm
    (`ingestion.demo_firm.extra_day`), then `lexrecon refresh` as the nightly job runs it
    (`lexrecon.refresh.refresh`: one process; dbt imported and the project parsed in a thread
    while the ingest runs) for the two sources the day changes: Clio and Actionstep loaded
    incrementally and at the same time (their updated_at cursors fetch only the new entries),
    then the build with no selection (`lexrecon.warehouse.build` starts from a copy of the
    previous build, the serving file it was published to, and runs only the models downstream of
    the raw tables that changed, and every test on them; the big staging models and the
    time-entry facts take only the new rows), then publish (the old serving file is deleted in a
    thread after the new one is served: ``freed_after_s``, not in ``seconds``).
    LEXRECON_BENCH_INCREMENTAL_SELECT=all runs every model from the previous file instead;
    LEXRECON_BENCH_BACKGROUND_PARSE=0 parses in the build, after the ingest (to compare)."""
    import os

    import ingestion.pipeline  # noqa: F401 - imported before the clock starts, as before
    from ingestion.demo_firm.extra_day import append_day
    from lexrecon.refresh import refresh
    from lexrecon.warehouse import wait_freed

    t0 = time.perf_counter()
    day = append_day(ctx.firm)
    generate_s = time.perf_counter() - t0
    cpu0 = _cpu()
    started = time.perf_counter()
    mode = os.environ.get("LEXRECON_BENCH_INCREMENTAL_SELECT", "changed")
    run = refresh(("clio", "actionstep"), firm=ctx.firm, raw_db=ctx.raw_db,
                  build_db=ctx.build_db, serving_db=ctx.serving_db,
                  pipelines_dir=ctx.work / "pipelines", jobs=2,
                  select=["lexrecon"] if mode == "all" else None,
                  background_parse=os.environ.get("LEXRECON_BENCH_BACKGROUND_PARSE") != "0")
    seconds = time.perf_counter() - started
    freed_after_s = wait_freed()
    if not run.ok:
        raise RuntimeError(f"the daily refresh failed at step {run.failed_step}: {run.message}")
    result = run.build
    if mode != "all" and result.mode != "incremental":
        raise RuntimeError(f"the daily build was not incremental: {result.mode} ({result.reason})")
    received = {name: s.received for name, s in run.ingest.summaries.items()}
    models = _dbt_model_seconds(result.run_results)
    slowest = sorted(models.items(), key=lambda kv: -kv[1])[:8]
    return {
        "seconds": round(seconds, 2),
        "cpu_s": round(_cpu() - cpu0, 2),
        "day": day["date"],
        "new_entries": day["clio"] + day["actionstep"],
        "received": received,
        "mode": result.mode,
        "select": result.select if mode == "all" else f"{len(result.select)} changed raw tables' descendants",
        "changed_sources": [] if mode == "all" else [s.rstrip("+") for s in result.select],
        "models_run": len(models),
        "generate_day_s": round(generate_s, 2),
        "ingest_s": round(run.seconds["ingest"], 2),
        "build_s": round(run.seconds["build"], 2),
        "publish_s": round(run.seconds["publish"], 2),
        "freed_after_s": round(freed_after_s, 2),
        "parse": result.parse,
        "background_parse_s": round(run.background_parse_s, 2),
        "build_steps_s": result.steps,
        "second_wave_models": len(result.plan.get("second_models", [])),
        "unchanged": result.plan.get("unchanged", []),
        "nodes": dict(result.statuses),
        "slowest_models_s": {k: round(v, 2) for k, v in slowest},
    }


STAGES: dict[str, Callable[[BenchContext], dict]] = {
    "generate": generate,
    "ingest_clio": lambda ctx: _ingest("clio", ctx),
    "ingest_actionstep": lambda ctx: _ingest("actionstep", ctx),
    "ingest_ebilling": lambda ctx: _ingest("ebilling", ctx),
    "ingest_ledes": lambda ctx: _ingest("ledes", ctx),
    "ingest_sales": lambda ctx: _ingest("sales", ctx),
    "build_full": build_full,
    "variance_yardstick": variance_yardstick,
    "check_100k": check_100k,
    "callbacks": callbacks,
    "evidence": evidence,
    "build_incremental": build_incremental,
}

# Peak memory targets (MiB) from the issues, checked against the stage's peak RSS.
MEMORY_TARGETS: dict[str, float] = {"build_full": 4096.0}

# Second targets of a stage (same form as TARGETS): file and SQL sources within 4x of DuckDB.
MORE_TARGETS: dict[str, tuple[str, str, float]] = {
    "ingest_ledes": ("x_slower_than_duckdb", "<=", 4.0),
    "ingest_sales": ("x_slower_than_duckdb", "<=", 4.0),
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
    "callbacks": ("p95_ms_max", "<=", 150.0),
    "build_incremental": ("seconds", "<=", 20.0),
}

