"""`lexrecon bench`: run the stages at a scale, print a Markdown table, write bench/results.json."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from lexrecon.bench.runner import BenchContext, StageResult, run_stage_in_child, write_results
from lexrecon.bench.stages import STAGES, TARGETS
from lexrecon.config import REPO_ROOT, paths


def verdict(stage: str, figures: dict) -> tuple[str, str]:
    """The target as text and whether the figure meets it ('met', 'MISSED' or '')."""
    if stage not in TARGETS:
        return "", ""
    key, op, value = TARGETS[stage]
    figure = figures.get(key)
    target = f"{key} {op} {value:g}"
    if figure is None:
        return target, ""
    met = figure <= value if op == "<=" else figure >= value
    return target, "met" if met else "MISSED"


def markdown(results: list[StageResult], doc: dict) -> str:
    m = doc["machine"]
    lines = [
        (f"lexrecon bench — scale {doc['scale']}, seed {doc['seed']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB, Python {m['python']}, duckdb {m['versions'].get('duckdb')}, "
        f"dlt {m['versions'].get('dlt')}, dbt-core {m['versions'].get('dbt-core')}"),
        "",
        "| stage | ok | wall s | peak MiB | figures | target | |",
        "|---|---|---:|---:|---|---|---|",
    ]
    for r in results:
        figures = ", ".join(f"{k}={v}" for k, v in r.figures.items()) if r.ok else (r.error or "")[:200]
        target, met = verdict(r.stage, r.figures)
        lines.append(
            f"| {r.stage} | {'yes' if r.ok else 'FAILED'} | {r.seconds:.1f} | {r.peak_rss_mib:.0f} "
            f"| {figures.replace('|', '/').replace(chr(10), ' ')} | {target} | {met} |"
        )
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
    p.set_defaults(func=run)
