"""Generate the whole demo firm into a directory (see docs/demo-firm.md for the contract)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import polars as pl

from . import (
    anomalies,
    billing,
    calendar_events,
    ebilling,
    ground_truth,
    ledes_files,
    matters,
    payments,
    people,
    rules_files,
    sales,
    systems,
    timekeeping,
)
from .scales import AS_OF, FIRM_NAME, LAW_FIRM_ID, SCALES, Scale
from .schema import ANOMALY_KINDS, TABLES


def _write_parquet(df: pl.DataFrame, path: Path, row_group: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path, compression="zstd", compression_level=3, statistics=True,
                     row_group_size=row_group)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_T0 = [0.0]


def _tick(stage: str) -> None:
    """Stage timings on stderr when LEXRECON_DEMO_TIMINGS=1 (for profiling the large scale)."""
    if os.environ.get("LEXRECON_DEMO_TIMINGS") == "1":
        now = time.perf_counter()
        print(f"  {stage:<28} {now - _T0[0]:7.2f} s", file=sys.stderr)
        _T0[0] = now


def build(scale_name: str | Scale, seed: int) -> dict:
    """Everything in memory: tables, ground truth, rules, LEDES texts, sales frames."""
    scale = scale_name if isinstance(scale_name, Scale) else SCALES[scale_name]
    _T0[0] = time.perf_counter()
    tks = people.timekeepers(scale, seed)
    _tick("people, rates, matters")
    eff, rates = people.rates(tks, seed)
    full = people.rate_table(eff, rates)
    cl = matters.clients(scale, seed)
    md = matters.matters(scale, seed, cl, tks)
    team = matters.teams(scale, seed, md, tks)
    fees = timekeeping.time_entries(scale, seed, tks, md, team, eff, full)
    _tick("time entries")
    exps = timekeeping.expense_entries(scale, seed, md, fees)
    _tick("expenses")
    entries = pl.concat([fees, exps])
    del fees, exps
    entries = billing.assign_bills(entries, md, seed)
    _tick("assign bills")
    rules = rules_files.build_rules(cl, md, tks, full)
    entries = anomalies.plant_ocg(scale, seed, entries, md, cl, tks, rules)
    _tick("plant OCG")
    entries = billing.number_entries(entries)
    _tick("number entries")
    bills, lines = billing.build_bills(scale, entries, md, cl)
    _tick("build bills")
    fx = sales.fx_rates(scale, seed)
    codes = cl["client_code"].to_numpy()
    bills = bills.with_columns(
        client_code=pl.Series(codes[bills["payer"].to_numpy()]),
        client_reference=pl.Series(md["client_reference"].to_numpy()[bills["matter"].to_numpy()]),
        period=pl.col("invoice_date").dt.strftime("%Y-%m"),
    ).join(fx.rename({"month": "period"}), on=["currency", "period"], how="left", maintain_order="left")
    el = ground_truth.ebilled_lines(lines, bills, tks, entries)
    _tick("e-billed lines")
    findings = ground_truth.ocg_findings(el, rules)
    _tick("OCG findings")
    platform = dict(zip(cl["client"].to_list(), cl["ebilling_platform"].to_list()))
    eb = ebilling.simulate(scale, seed, bills, lines, findings, platform)
    _tick("e-billing")
    receipts, write_offs = payments.payments(seed, bills, eb["outcome"])
    bills = payments.bill_balances(bills, receipts, write_offs)
    _tick("payments")
    cal, cal_plants = calendar_events.calendar(scale, seed, entries, md, team, tks)
    _tick("calendar")
    bookings, sales_gt, vp = sales.bookings(scale, seed, bills, lines, entries, fx, cl, tks)
    _tick("sales bookings")
    cash = sales.cash_receipts(receipts, bills, fx, cl)
    _tick("cash receipts")
    gt = ground_truth.build(findings, el, bills, eb, sales_gt, cal_plants, write_offs, fx, tks, md)
    _tick("ground truth")
    ledes = ledes_files.ledes_text(el, bills, tks, md)
    del el, findings
    _tick("LEDES text")
    tables = systems.shape(tks, eff, rates, cl, md, entries, bills, lines, receipts, write_offs, cal)
    tables.update(systems.shape_ebilling(eb))
    _tick("shape systems")
    return {"scale": scale, "tables": tables, "ground_truth": gt, "rules": rules,
            "ledes": ledes, "cl": cl, "fx": fx, "bookings": bookings, "cash": cash,
            "variance": vp}


def generate(scale_name: str | Scale, seed: int, out: Path) -> dict:
    """Build and write the firm to ``out`` (replaced atomically); returns the manifest."""
    t0 = time.perf_counter()
    firm = build(scale_name, seed)
    out = Path(out)
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        manifest = _write(firm, seed, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out.with_name(out.name + f".old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old)
    manifest["_seconds"] = round(time.perf_counter() - t0, 2)
    return manifest


def _write(firm: dict, seed: int, tmp: Path) -> dict:
    scale = firm["scale"]
    counts: dict[str, int] = {}
    _T0[0] = time.perf_counter()
    for key in sorted(firm["tables"]):
        df = firm["tables"].pop(key)  # free each table once written
        t = TABLES[key]
        _write_parquet(df, tmp / t.path, scale.parquet_row_group)
        counts[key] = df.height
        del df
    gt = firm["ground_truth"]
    _write_parquet(gt, tmp / "ground_truth.parquet", scale.parquet_row_group)
    gt.write_csv(tmp / "ground_truth.csv")
    counts["ground_truth"] = gt.height
    _tick("write parquet")
    rules_files.write_rules(tmp / "ocg", firm["rules"])
    counts["ocg_rules_files"] = len(firm["rules"])
    counts["ebilling.ledes_inbox"] = ledes_files.write_ledes(tmp / "ebilling" / "ledes_inbox",
                                                             firm["ledes"])
    _tick("write rules + LEDES")
    sc = sales.write_sqlite(tmp / "sales" / "sales.sqlite", firm["cl"], firm["fx"],
                            firm["bookings"].select(pl.exclude("bill")), firm["cash"])
    counts.update({f"sales.{k}": v for k, v in sc.items()})
    _tick("write sales.sqlite")
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    manifest = {
        "firm": FIRM_NAME, "law_firm_id": LAW_FIRM_ID, "scale": scale.name, "seed": seed,
        "as_of": AS_OF.isoformat(), "period_start": scale.start.isoformat(),
        "period_end": scale.end.isoformat(),
        **firm["variance"],
        "anomalies": {k: int(gt.filter(pl.col("kind") == k).height) for k in ANOMALY_KINDS},
        "row_counts": counts,
        "files": {p.relative_to(tmp).as_posix(): _sha256(p) for p in files},
    }
    _tick("sha256 manifest")
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return manifest

