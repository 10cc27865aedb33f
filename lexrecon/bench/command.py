"""`lexrecon bench`: run the stages at a scale, print a Markdown table, write bench/results.json."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from lexrecon.bench.runner import BenchContext, StageResult, run_stage_in_child, write_results
from lexrecon.bench.stages import MEMORY_TARGETS, MORE_TARGETS, STAGES, TARGETS
from lexrecon.config import REPO_ROOT, paths


def verdict(stage: str, figures: dict, peak_mib: float | None = None) -> tuple[str, str]:
    """The target as text and whether the figures meet it ('met', 'MISSED' or '')."""
    targets, verdicts = [], []
    for table in (TARGETS, MORE_TARGETS):
        if stage not in table:
            continue
        key, op, value = table[stage]
        figure = figures.get(key)
        targets.append(f"{key} {op} {value:g}")
        if figure is not None:
            verdicts.append(figure <= value if op == "<=" else figure >= value)
    if stage in MEMORY_TARGETS:
        targets.append(f"peak MiB <= {MEMORY_TARGETS[stage]:g}")
        if peak_mib:
            verdicts.append(peak_mib <= MEMORY_TARGETS[stage])
    if not verdicts:
        return "; ".join(targets), ""
    return "; ".join(targets), "met" if all(verdicts) else "MISSED"


def _short(value) -> str:
    """A figure for the table: nested per-page/per-model dicts stay in results.json."""
    if isinstance(value, dict) and len(value) > 6:
        return f"({len(value)} entries in results.json)"
    return str(value)


def markdown(results: list[StageResult], doc: dict) -> str:
    m = doc["machine"]
    lines = [
        (f"lexrecon bench — scale {doc['scale']}, seed {doc['seed']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB, Python {m['python']}, duckdb {m['versions'].get('duckdb')}, "
        f"dlt {m['versions'].get('dlt')}, dbt-core {m['versions'].get('dbt-core')}"),
        "",
        "| stage | ok | wall s | cpu s | load 1m before→after | peak MiB | figures | target | |",
        "|---|---|---:|---:|---|---:|---|---|---|",
    ]
    for r in results:
        figures = (", ".join(f"{k}={_short(v)}" for k, v in r.figures.items()) if r.ok
                   else (r.error or "")[:200])
        target, met = verdict(r.stage, r.figures, r.peak_rss_mib if r.ok else None)
        load = (f"{r.load_before[0]:.1f}→{r.load_after[0]:.1f}"
                if r.load_before and r.load_after else "")
        lines.append(
            f"| {r.stage} | {'yes' if r.ok else 'FAILED'} | {r.seconds:.1f} | {r.cpu_s:.1f} "
            f"| {load} | {r.peak_rss_mib:.0f} "
            f"| {figures.replace('|', '/').replace(chr(10), ' ')} | {target} | {met} |"
        )
    for r in results:
        if r.stage == "callbacks" and r.ok and r.figures.get("pages"):
            lines += ["", (f"Dashboard callbacks: server time per page's main callback, "
                      f"{r.figures.get('repeats')} repeats after one cold call "
                      f"(finance: {r.figures.get('finance_period')}; partner: "
                      f"{r.figures.get('partner')}, all periods); target p95 <= 150 ms"), "",
                      "| role/page | p50 ms | p95 ms | cold ms | |", "|---|---:|---:|---:|---|"]
            for page, t in r.figures["pages"].items():
                lines.append(f"| {page} | {t['p50_ms']} | {t['p95_ms']} | {t['cold_ms']} "
                             f"| {'met' if t['p95_ms'] <= 150 else 'MISSED'} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    stages = args.stage or list(STAGES)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        print(f"unknown stage(s): {', '.join(unknown)}; known: {', '.join(STAGES)}", file=sys.stderr)
        return 2
    work = Path(args.work) if args.work else paths().home / "bench" / args.scale
    if work.exists() and not args.keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    ctx = BenchContext(scale=args.scale, seed=args.seed, work=work)
    results: list[StageResult] = []
    for name in stages:
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        result = run_stage_in_child(name, ctx)
        results.append(result)
        status = "ok" if result.ok else f"FAILED: {(result.error or '').splitlines()[0][:300]}"
        print(f"bench: {name} {result.seconds:.1f}s {status}", file=sys.stderr, flush=True)
    out = Path(args.out)
    if args.merge and out.is_file():
        # keep the earlier results of the stages not run now (same scale), in stage order
        import json

        earlier = json.loads(out.read_text())
        if earlier.get("scale") == args.scale:
            now = {r.stage: r for r in results}
            for s in earlier.get("stages", []):
                if s["stage"] not in now and s["stage"] in STAGES:
                    now[s["stage"]] = StageResult(**s)
            results = [now[s] for s in STAGES if s in now]
    doc = write_results(out, ctx, results, {k: list(v) for k, v in TARGETS.items()})
    table = markdown(results, doc)
    out.with_suffix(".md").write_text(table + "\n")
    print(table)
    return 0 if all(r.ok for r in results) else 1


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmark every stage at a scale (default large)")
    p.add_argument("--scale", default="large", choices=("tiny", "demo", "large"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--stage", action="append", help="run only this stage (repeatable)")
    p.add_argument("--out", default=str(REPO_ROOT / "bench" / "results.json"))
    p.add_argument("--work", default=None, help="scratch folder (default var/bench/SCALE)")
    p.add_argument("--keep", action="store_true", help="reuse the scratch folder's files")
    p.add_argument("--merge", action="store_true",
                   help="keep the results already in --out for the stages not run now")
    p.set_defaults(func=run)
