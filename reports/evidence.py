"""The auditor's evidence pack for one period: data, exceptions, tie-outs, tests, hashes.

``build_pack(serving_db, period, out_dir) -> Pack`` reads the published warehouse (read-only)
and writes a directory an auditor can check without access to the warehouse:

    MANIFEST                 "<sha256>  <path>" for every other file, sorted by path
    pack.json                period, code version, build identity, files by role, row counts
    data/<table>.csv|.parquet            the period's reconciliation inputs and results
    exceptions/<table>.csv|.parquet      the period's exceptions (one row each)
    tieouts/tieouts.json|.csv            every tie-out with its inputs and result
    tests/dbt_test_results.csv|.json     the dbt tests of the build that produced the warehouse
    sources/loads.csv|.parquet, sources/freshness.csv   load ids, counts and freshness
    summary.html                         charts and tables, plotly inlined (opens offline)

The same warehouse, period and code version give the same bytes: rows are sorted on every
column, no wall-clock time is written inside the pack, parquet is written with fixed options
and the plotly divs have fixed ids. The pack hash is the SHA-256 of MANIFEST; each export is
logged outside the pack in ``lexrecon.config.paths().logs / "evidence_exports.jsonl"``.
Tie-outs are computed from the pack's own files by :mod:`reports.evidence_verify`, the same
code ``lexrecon evidence verify`` runs, so a pack proves itself.
"""
from __future__ import annotations

import getpass
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow.parquet as pq

from lexrecon.config import REPO_ROOT, paths
from reports import evidence_verify as verify

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY", re.IGNORECASE)
EXPORT_LOG = "evidence_exports.jsonl"
PACK_FORMAT = "lexrecon-evidence-pack/1"


class EvidenceError(RuntimeError):
    """The pack cannot be built; the message says why and what to do."""


@dataclass(frozen=True)
class Pack:
    path: Path
    period: str
    pack_hash: str  # sha256 of MANIFEST
    files: tuple[str, ...]
    tieouts: tuple[dict[str, Any], ...]
    missing_tables: tuple[str, ...] = ()

    @property
    def all_tieouts_pass(self) -> bool:
        return all(t["status"] == "pass" for t in self.tieouts if t["status"] != "n/a")


@dataclass(frozen=True)
class Extract:
    """One table of the pack: a name, the role folder, the SQL that reads it and how the
    period is bound (``range``: start, end; ``range2``: twice; ``opening``: the day before
    the period; ``closing``: the period's last day; ``period``: "YYYY-MM"; ``none``)."""

    name: str
    folder: str  # data | exceptions | sources
    sql: str
    requires: tuple[str, ...]
    description: str
    bind: str = "range"


PERIOD_INVOICES = ("select invoice_number from marts.fct_invoices "
                   "where invoice_date between ? and ?")

EXTRACTS: tuple[Extract, ...] = (
    Extract("invoices", "data",
            "select * from marts.fct_invoices where invoice_date between ? and ?",
            ("marts.fct_invoices",), "every LPM invoice dated in the period"),
    Extract("invoice_lines", "data",
            f"select * from marts.fct_invoice_lines where invoice_number in ({PERIOD_INVOICES})",
            ("marts.fct_invoice_lines", "marts.fct_invoices"),
            "every line of those invoices (LPM amounts and the LEDES line total)"),
    Extract("payments", "data",
            "select p.*, i.is_void as invoice_is_void from marts.fct_payments p "
            "left join marts.fct_invoices i on i.invoice_number = p.invoice_number "
            "where p.ar_effective_date between ? and ?",
            ("marts.fct_payments", "marts.fct_invoices"),
            "payments whose AR effective date is in the period, with their invoice's void flag"),
    Extract("write_offs", "data",
            "select w.*, i.is_void as invoice_is_void from marts.fct_write_offs w "
            "left join marts.fct_invoices i on i.invoice_number = w.invoice_number "
            "where w.write_off_type = 'ar_write_off' and w.ar_effective_date between ? and ?",
            ("marts.fct_write_offs", "marts.fct_invoices"),
            "AR write-offs effective in the period, with their invoice's void flag"),
    Extract("ar_open_items_opening", "data",
            "select * from marts.fct_ar_aging where as_of_date = ?",
            ("marts.fct_ar_aging",), "open AR per invoice at the end of the previous month",
            "opening"),
    Extract("ar_open_items_closing", "data",
            "select * from marts.fct_ar_aging where as_of_date = ?",
            ("marts.fct_ar_aging",), "open AR per invoice at the end of the period", "closing"),
    Extract("ar_roll_forward", "data",
            "select * from marts.fct_ar_roll_forward where month_start between ? and ?",
            ("marts.fct_ar_roll_forward",),
            "the warehouse's AR roll-forward rows of the period (one per currency)"),
    Extract("invoice_sales_variance", "data",
            "select * from marts.fct_invoice_sales_variance where {period_col} = ?",
            ("marts.fct_invoice_sales_variance",),
            "invoice vs sales-system variance of the period, split into causes", "period"),
    Extract("invoice_match_exceptions", "exceptions",
            "select * from marts.fct_invoices where invoice_date between ? and ? "
            "and coalesce(match_status, '') <> 'matched'",
            ("marts.fct_invoices",), "invoices of the period not matched across systems"),
    Extract("ocg_violations", "exceptions",
            f"select * from marts.fct_ocg_violations where invoice_number in ({PERIOD_INVOICES})",
            ("marts.fct_ocg_violations", "marts.fct_invoices"),
            "OCG rule findings on invoices of the period"),
    Extract("rejections", "exceptions",
            f"select * from marts.fct_rejections where invoice_number in ({PERIOD_INVOICES}) "
            "or rejected_date between ? and ?",
            ("marts.fct_rejections", "marts.fct_invoices"),
            "e-billing rejections of invoices of the period or dated in it", "range2"),
    Extract("loads", "sources",
            "select * from intermediate.int_load_tallies_unioned",
            ("intermediate.int_load_tallies_unioned",),
            "every load of the raw data the warehouse was built from", "none"),
    Extract("quarantined_records", "sources",
            "select * from intermediate.int_quarantined_records_unioned",
            ("intermediate.int_quarantined_records_unioned",),
            "records the loads refused, with reason", "none"),
)

VARIANCE_PERIOD_COLUMNS = ("period", "variance_month", "invoice_month", "year_month")


def period_bounds(period: str) -> tuple[date, date]:
    match = PERIOD_RE.match(period or "")
    if not match:
        raise EvidenceError(f"period {period!r} is not YYYY-MM (e.g. 2026-08)")
    year, month = int(match.group(1)), int(match.group(2))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


# ------------------------------------------------------------------------------- warehouse io
def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select schema_name || '.' || table_name from duckdb_tables() "
                       "union select schema_name || '.' || view_name from duckdb_views() "
                       "where not internal").fetchall()
    return {r[0] for r in rows}


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    schema, table = relation.split(".")
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and "
        "table_name = ? order by ordinal_position", [schema, table]).fetchall()]


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=list(params)).to_arrow_table())  # type: ignore[return-value]


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in one fixed order: by every column, nulls first, as text where unorderable."""
    if frame.height == 0 or frame.width == 0:
        return frame
    keys = [pl.col(c).cast(pl.Utf8) if frame.schema[c] in (pl.Object, pl.Null) else pl.col(c)
            for c in frame.columns]
    return frame.sort(keys, nulls_last=False, maintain_order=True)


def _read_extract(con: duckdb.DuckDBPyConnection, extract: Extract, relations: set[str],
                  start: date, end: date, period: str) -> pl.DataFrame | None:
    if not all(r in relations for r in extract.requires):
        return None
    sql = extract.sql
    if extract.bind == "period":
        cols = _columns(con, extract.requires[0])
        period_col = next((c for c in VARIANCE_PERIOD_COLUMNS if c in cols), None)
        if period_col is None:
            return None
        sql = sql.format(period_col=period_col)
    params: list[Any] = {
        "range": [start, end], "range2": [start, end, start, end],
        "opening": [date.fromordinal(start.toordinal() - 1)], "closing": [end],
        "period": [period], "none": [],
    }[extract.bind]
    return _sorted(_query(con, sql, params))


# ------------------------------------------------------------------------------ file writing
_text_frame = verify.text_frame


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _text_frame(frame).write_csv(path, line_terminator="\n", quote_style="necessary",
                                 null_value="")


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Parquet with fixed options (one row group, zstd level 3, statistics): same rows, same
    bytes. Polars' string views are written as plain strings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    pq.write_table(table, path, compression="zstd", compression_level=3,
                   row_group_size=max(frame.height, 1), write_statistics=True,
                   use_dictionary=True, data_page_version="1.0", version="2.6",
                   store_schema=True)


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
            + "\n").encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(pack_dir: Path) -> str:
    """Hash every file but MANIFEST, write MANIFEST, return the pack hash (its sha256)."""
    lines = []
    for path in sorted(p for p in pack_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(pack_dir).as_posix()
        if rel == verify.MANIFEST:
            continue
        lines.append(f"{sha256_file(path)}  {rel}")
    data = ("\n".join(lines) + "\n").encode("ascii")
    (pack_dir / verify.MANIFEST).write_bytes(data)
    return sha256_bytes(data)


# --------------------------------------------------------------------------- build identity
def code_version() -> str:
    """The commit of the code that wrote the pack (``git rev-parse HEAD``), or "unknown"."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else "unknown"


def _sidecar(db: Path, suffix: str) -> Path:
    return db.with_name(db.name + suffix)


def dbt_test_results(serving_db: Path) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The dbt results of the build that produced ``serving_db`` (``publish`` keeps them as
    ``<serving_db>.run_results.json``): one row per node, timings left out."""
    results_file = _sidecar(serving_db, ".run_results.json")
    if not results_file.is_file():
        raise EvidenceError(
            f"{results_file} is missing: the warehouse was not published by `lexrecon publish`, "
            "so the tests that produced it cannot be shown; rebuild and publish")
    raw = json.loads(results_file.read_text())
    rows = []
    for r in raw.get("results", []):
        uid = r.get("unique_id", "")
        rows.append({
            "unique_id": uid,
            "resource_type": uid.split(".", 1)[0],
            "status": str(r.get("status")),
            "failures": r.get("failures"),
            "message": r.get("message"),
        })
    schema = {"unique_id": pl.Utf8, "resource_type": pl.Utf8, "status": pl.Utf8,
              "failures": pl.Int64, "message": pl.Utf8}
    frame = _sorted(pl.DataFrame(rows, schema=schema))
    meta = raw.get("metadata", {})
    info_file = _sidecar(serving_db, ".build.json")
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    statuses = frame.group_by("status").len().sort("status")
    identity = {
        "dbt_invocation_id": meta.get("invocation_id"),
        "dbt_generated_at": meta.get("generated_at"),
        "dbt_version": meta.get("dbt_version"),
        "run_results_sha256": sha256_file(results_file),
        "build_sha256": info.get("sha256"),
        "node_statuses": {s: n for s, n in statuses.iter_rows()},
        "tests_total": frame.filter(pl.col("resource_type") == "test").height,
        "tests_not_passing": frame.filter((pl.col("resource_type") == "test")
                                          & ~pl.col("status").is_in(["pass", "success"])).height,
    }
    return frame, identity


def freshness(loads: pl.DataFrame | None, period_end: date) -> pl.DataFrame:
    """Per source: last load id and time, and how long after the period end it was loaded
    (data time, not the time of export, so the pack stays reproducible)."""
    schema = {"source": pl.Utf8, "last_load_id": pl.Utf8, "last_loaded_at": pl.Datetime("us"),
              "resources": pl.Int64, "received": pl.Int64, "loaded": pl.Int64,
              "quarantined": pl.Int64, "hours_after_period_end": pl.Float64,
              "covers_period_end": pl.Boolean}
    if loads is None or loads.height == 0:
        return pl.DataFrame(schema=schema)
    at = pl.col("loaded_at").cast(pl.Datetime("us")).dt.replace_time_zone(None)
    frame = loads.with_columns(_at=at)
    last = frame.group_by("source").agg(pl.col("_at").max().alias("last_loaded_at"))
    latest = frame.join(last, on="source").filter(pl.col("_at") == pl.col("last_loaded_at"))
    end = datetime(period_end.year, period_end.month, period_end.day, 23, 59, 59, 999999)
    out = latest.group_by("source", "last_loaded_at").agg(
        pl.col("load_id").cast(pl.Utf8).max().alias("last_load_id"),
        pl.col("resource").n_unique().cast(pl.Int64).alias("resources"),
        pl.col("received_count").sum().cast(pl.Int64).alias("received"),
        pl.col("loaded_count").sum().cast(pl.Int64).alias("loaded"),
        pl.col("quarantined_count").sum().cast(pl.Int64).alias("quarantined"),
    ).with_columns(
        hours_after_period_end=((pl.col("last_loaded_at") - pl.lit(end)).dt.total_seconds()
                                / 3600).round(2),
        covers_period_end=pl.col("last_loaded_at") > pl.lit(end),
    )
    return out.select(list(schema)).sort("source")


# ------------------------------------------------------------------------------- secrets
def secret_values(extra_files: Iterable[Path] = ()) -> set[str]:
    """Values that must never appear in a pack: every environment variable whose name says
    SECRET/TOKEN/PASSWORD (and the like), and secret-looking keys of dlt secrets files."""
    values = {v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= 6}
    for file in extra_files:
        if not file.is_file():
            continue
        for line in file.read_text(errors="replace").splitlines():
            key, sep, value = line.partition("=")
            value = value.strip().strip('"').strip("'")
            if sep and SECRET_NAME.search(key) and len(value) >= 6:
                values.add(value)
    return values


def assert_no_secrets(pack_dir: Path, secrets: set[str]) -> None:
    if not secrets:
        return
    needles = [s.encode() for s in secrets]
    for path in sorted(p for p in pack_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if any(n in data for n in needles):
            raise EvidenceError(
                f"a secret value (from an environment variable or secrets file) appears in "
                f"{path.relative_to(pack_dir)}; the pack was not written")


# ---------------------------------------------------------------------------------- build
def build_pack(serving_db: str | Path, period: str, out_dir: str | Path) -> Pack:
    """Write the evidence pack for ``period`` (YYYY-MM) from ``serving_db`` into ``out_dir``
    (created; must be empty if it exists). Returns the pack with its hash."""
    serving_db = Path(serving_db)
    out = Path(out_dir)
    start, end = period_bounds(period)
    if not serving_db.is_file():
        raise EvidenceError(f"no published warehouse at {serving_db}: run `lexrecon build` and "
                            "`lexrecon publish` first (or pass --serving-db)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise EvidenceError(f"{out} exists and is not an empty directory; choose a new --out")
    tests, identity = dbt_test_results(serving_db)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tables, missing = _write_tables(serving_db, work, start, end, period)
        write_csv(tests, work / "tests" / "dbt_test_results.csv")
        (work / "tests" / "dbt_test_results.json").write_bytes(
            _json_bytes(_text_frame(tests).to_dicts()))
        loads = pl.read_parquet(work / "sources" / "loads.parquet") \
            if (work / "sources" / "loads.parquet").is_file() else None
        write_csv(freshness(loads, end), work / "sources" / "freshness.csv")
        tieouts = verify.compute_tieouts(work)
        verify.write_tieouts(work, tieouts)
        meta = {
            "format": PACK_FORMAT,
            "period": period,
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "code_version": code_version(),
            "build": identity,
            "tables": tables,
            "tables_missing": missing,
            "tieouts": {t["name"]: t["status"] for t in tieouts},
        }
        (work / verify.PACK_JSON).write_bytes(_json_bytes(meta))
        write_summary_html(work, meta, tieouts)
        assert_no_secrets(work, secret_values([REPO_ROOT / ".dlt" / "secrets.toml",
                                               Path.cwd() / ".dlt" / "secrets.toml"]))
        pack_hash = write_manifest(work)
        work.chmod(0o755)
        if out.exists():
            out.rmdir()
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = tuple(line.split("  ", 1)[1] for line in
                  (out / verify.MANIFEST).read_text().splitlines() if line)
    return Pack(out, period, pack_hash, files, tuple(tieouts), tuple(missing))


def _write_tables(serving_db: Path, work: Path, start: date, end: date, period: str
                  ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    tables: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        relations = _relations(con)
        for extract in EXTRACTS:
            frame = _read_extract(con, extract, relations, start, end, period)
            if frame is None:
                missing.append(f"{extract.folder}/{extract.name}: "
                               f"{', '.join(r for r in extract.requires if r not in relations) or 'no period column'}"
                               " not in the warehouse")
                continue
            base = work / extract.folder / extract.name
            write_csv(frame, base.with_suffix(".csv"))
            write_parquet(frame, base.with_suffix(".parquet"))
            tables[f"{extract.folder}/{extract.name}"] = {
                "rows": frame.height, "description": extract.description,
                "columns": frame.columns,
            }
        for relation in sorted(r for r in relations if r.startswith("audit.")):
            frame = _sorted(_query(con, f'select * from audit."{relation.split(".", 1)[1]}"', []))
            base = work / "exceptions" / f"dbt_{relation.split('.', 1)[1]}"
            write_csv(frame, base.with_suffix(".csv"))
            write_parquet(frame, base.with_suffix(".parquet"))
            tables[f"exceptions/{base.name}"] = {
                "rows": frame.height, "columns": frame.columns,
                "description": f"rows stored by the dbt tie-out test {relation} "
                               "(whole build; none when it passed)"}
    finally:
        con.close()
    return tables, missing


# ------------------------------------------------------------------------------ summary html
def _table_html(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>"
                         for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figures(pack_dir: Path, tieouts: list[dict[str, Any]]) -> list[Any]:
    import plotly.graph_objects as go

    figs = []
    status_order = ["pass", "fail", "n/a"]
    counts = {s: sum(1 for t in tieouts if t["status"] == s) for s in status_order}
    figs.append(go.Figure(go.Bar(x=status_order, y=[counts[s] for s in status_order],
                                 marker_color=["#2e7d32", "#c62828", "#9e9e9e"]),
                          layout={"title": "Tie-outs by result"}))
    inv = pack_dir / "data" / "invoices.parquet"
    if inv.is_file():
        frame = pl.read_parquet(inv).filter(~pl.col("is_void").fill_null(False))
        by = (frame.group_by("currency", "office")
              .agg(pl.col("total_amount").sum().cast(pl.Float64).alias("billed"))
              .sort("currency", "office"))
        fig = go.Figure(layout={"title": "Billed in the period by office (invoice currency)",
                                "barmode": "group"})
        for office in sorted(set(by["office"].drop_nulls().to_list())):
            part = by.filter(pl.col("office") == office)
            fig.add_bar(name=office, x=part["currency"].to_list(), y=part["billed"].to_list())
        figs.append(fig)
    closing = pack_dir / "data" / "ar_open_items_closing.parquet"
    if closing.is_file():
        frame = pl.read_parquet(closing)
        if frame.height:
            by = (frame.group_by("aging_bucket_due_date_order", "aging_bucket_due_date")
                  .agg(pl.col("open_amount_usd").sum().cast(pl.Float64).alias("usd"))
                  .sort("aging_bucket_due_date_order"))
            figs.append(go.Figure(go.Bar(x=by["aging_bucket_due_date"].to_list(),
                                         y=by["usd"].to_list()),
                                  layout={"title": "Open AR at period end by days past due "
                                                   "(USD)"}))
    exc = []
    for path in sorted((pack_dir / "exceptions").glob("*.parquet")):
        exc.append((path.stem, pq.read_metadata(path).num_rows))
    if exc:
        figs.append(go.Figure(go.Bar(x=[n for _, n in exc], y=[e for e, _ in exc],
                                     orientation="h"),
                              layout={"title": "Exceptions by kind (rows)", "height": 420,
                                      "margin": {"l": 320}}))
    return figs


def write_summary_html(pack_dir: Path, meta: dict[str, Any], tieouts: list[dict[str, Any]]
                       ) -> None:
    """summary.html: one self-contained page (plotly.js inlined once; fixed div ids)."""
    parts = []
    for i, fig in enumerate(_figures(pack_dir, tieouts)):
        fig.update_layout(template="plotly_white")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0),
                                 div_id=f"evidence-chart-{i + 1}",
                                 config={"displaylogo": False, "responsive": True}))
    tie_rows = [{"tie-out": t["name"], "result": t["status"], "description": t["description"],
                 "checked": t["result"].get("checked"), "exceptions": t["result"].get("exceptions"),
                 "difference": t["result"].get("difference")} for t in tieouts]
    table_rows = [{"file": k, "rows": v["rows"], "contents": v.get("description", "")}
                  for k, v in sorted(meta["tables"].items())]
    build = meta["build"]
    build_rows = [{"item": k, "value": json.dumps(v, sort_keys=True) if isinstance(v, dict)
                   else v} for k, v in sorted(build.items())]
    missing = "".join(f"<li>{html.escape(m)}</li>" for m in meta["tables_missing"])
    title = f"Evidence pack {html.escape(meta['period'])}"
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;
margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}}
th{{background:#f3f3f3}}.pass{{color:#2e7d32}}.fail{{color:#c62828}}</style></head><body>
<h1>{title}</h1>
<p>Period {html.escape(meta['period_start'])} to {html.escape(meta['period_end'])}. Code version
{html.escape(meta['code_version'])}. Check this pack with
<code>lexrecon evidence verify PACK</code>: it re-hashes every file against MANIFEST and
recomputes every tie-out from the pack's files.</p>
<h2>Tie-outs</h2>{_table_html(tie_rows, ["tie-out", "result", "checked", "exceptions",
                                        "difference", "description"])}
{''.join(parts)}
<h2>Files</h2>{_table_html(table_rows, ["file", "rows", "contents"])}
{f'<h3>Not in this warehouse</h3><ul>{missing}</ul>' if missing else ''}
<h2>Build that produced the data</h2>{_table_html(build_rows, ["item", "value"])}
</body></html>
"""
    (pack_dir / "summary.html").write_bytes(doc.encode("utf-8"))


# ------------------------------------------------------------------------------- export log
def log_export(pack: Pack, user: str | None = None, serving_db: Path | None = None,
               log_dir: Path | None = None) -> Path:
    """Append who exported which pack when to ``<logs>/evidence_exports.jsonl``."""
    log_dir = Path(log_dir or paths().logs)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / EXPORT_LOG
    record = {
        "user": user or _os_user(),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "period": pack.period,
        "pack_hash": pack.pack_hash,
        "path": str(pack.path.resolve()),
        "serving_db": str(serving_db) if serving_db else None,
    }
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
    return log


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


# ------------------------------------------------------------------------- dashboard hook
def months_between(period_from: str | None, period_to: str | None) -> list[str]:
    first = period_from or period_to
    last = period_to or period_from
    if not first or not last:
        raise EvidenceError("choose a period (YYYY-MM) for the evidence pack")
    (y, m), (y2, m2) = period_bounds(first)[0].timetuple()[:2], period_bounds(last)[0].timetuple()[:2]
    if (y, m) > (y2, m2):
        (y, m), (y2, m2) = (y2, m2), (y, m)
    out = []
    while (y, m) <= (y2, m2):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if len(out) > 24:
        raise EvidenceError("at most 24 months per download; choose a shorter range")
    return out


def build_evidence_pack(serving_db: Path, period_from: str | None, period_to: str | None,
                        out_dir: Path, user: str | None = None) -> Path:
    """The dashboard's download: one pack per month of the range, zipped (fixed timestamps
    inside the zip, so the zip is as reproducible as the packs). Each pack is logged."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    months = months_between(period_from, period_to)
    packs = []
    for month in months:
        pack = build_pack(serving_db, month, out_dir / f"evidence-{month}")
        log_export(pack, user=user, serving_db=Path(serving_db))
        packs.append(pack)
    name = f"evidence-{months[0]}" + (f"_{months[-1]}" if len(months) > 1 else "") + ".zip"
    target = out_dir / name
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for pack in packs:
            for rel in (verify.MANIFEST, *pack.files):
                info = zipfile.ZipInfo(f"{pack.path.name}/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, (pack.path / rel).read_bytes())
    return target
