"""``lexrecon evidence``: write an auditor's evidence pack for a period, or verify one.

    lexrecon evidence --period YYYY-MM --out DIR [--serving-db FILE] [--user NAME]
    lexrecon evidence verify PACK [--expect-hash SHA256]

Writing reads the published warehouse (read-only) and logs the export (user, UTC time,
period, pack hash) to ``<logs>/evidence_exports.jsonl``. Verifying re-hashes every file and
recomputes every tie-out from the pack alone. Exit status: 0 ok; 1 the pack does not verify
(or a tie-out fails); 2 could not run. Documentation: docs/reports.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lexrecon.config import paths


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "evidence",
        help="write an auditor's evidence pack for a period (or verify one)",
        description="Write the evidence pack of one period: reconciliation data and "
                    "exceptions (CSV and Parquet), tie-outs with inputs and results, the dbt "
                    "test results of the build, source loads and freshness, the code version, "
                    "an offline HTML summary and a MANIFEST of SHA-256 hashes. "
                    "`lexrecon evidence verify PACK` checks a pack.",
    )
    parser.add_argument("--period", metavar="YYYY-MM", help="the period (month) to evidence")
    parser.add_argument("--out", metavar="DIR", help="new directory to write the pack into")
    parser.add_argument("--serving-db", metavar="FILE", default=None,
                        help="published warehouse (default: LEXRECON_SERVING_DB or "
                             "var/serving.duckdb)")
    parser.add_argument("--user", default=None,
                        help="who exports, for the export log (default: the OS user)")
    parser.set_defaults(func=run_export)
    sub = parser.add_subparsers(dest="evidence_command", metavar="verify")
    verify = sub.add_parser("verify", help="re-check an evidence pack's hashes and tie-outs",
                            description="Re-hash every file of the pack against its MANIFEST "
                                        "and recompute every tie-out from the pack's files.")
    verify.add_argument("pack", metavar="PACK", help="the pack directory")
    verify.add_argument("--expect-hash", metavar="SHA256", default=None,
                        help="the pack hash from the export log (SHA-256 of MANIFEST)")
    verify.set_defaults(func=run_verify)


def run_export(args: argparse.Namespace) -> int:
    from reports.evidence import EvidenceError, build_pack, log_export

    if not args.period or not args.out:
        print("lexrecon evidence: give --period YYYY-MM and --out DIR "
              "(or `lexrecon evidence verify PACK`)", file=sys.stderr)
        return 2
    serving_db = Path(args.serving_db) if args.serving_db else paths().serving_db
    started = time.perf_counter()
    try:
        pack = build_pack(serving_db, args.period, args.out)
    except EvidenceError as exc:
        print(f"lexrecon evidence: {exc}", file=sys.stderr)
        return 2
    log = log_export(pack, user=args.user, serving_db=serving_db)
    seconds = time.perf_counter() - started
    failing = [t["name"] for t in pack.tieouts if t["status"] == "fail"]
    print(f"evidence pack {pack.period} written to {pack.path} in {seconds:.1f} s: "
          f"{len(pack.files) + 1} files, pack hash {pack.pack_hash}")
    for tie in pack.tieouts:
        r = tie["result"]
        print(f"  {tie['status']:<4}  {tie['name']}  checked {r['checked']}, exceptions "
              f"{r['exceptions'] if r['exceptions'] is not None else '-'}"
              + (f" ({tie['inputs'].get('missing')})" if tie["status"] == "n/a" else ""))
    for missing in pack.missing_tables:
        print(f"  not included: {missing}")
    print(f"export logged to {log}")
    if failing:
        print(f"lexrecon evidence: tie-out(s) failing: {', '.join(failing)}", file=sys.stderr)
        return 1
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from reports.evidence_verify import PackError, verify_pack

    try:
        result = verify_pack(args.pack, expected_hash=args.expect_hash)
    except PackError as exc:
        print(f"lexrecon evidence verify: {exc}", file=sys.stderr)
        return 2
    if result.ok:
        print(f"pack {result.pack} verified: {result.files_checked} files match MANIFEST, "
              f"{result.tieouts_checked} tie-outs recomputed and equal; pack hash "
              f"{result.pack_hash}")
        return 0
    print(f"pack {result.pack} does NOT verify ({len(result.problems)} problem(s)):",
          file=sys.stderr)
    for problem in result.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1
