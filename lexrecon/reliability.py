"""``lexrecon reliability``: run the reliability and security suites and print what survived.

    lexrecon reliability [--trials N] [--seed S] [--tally FILE] [--workers N] [-k EXPR]

Runs ``pytest tests/reliability tests/status`` (in a child process, with more trials than
``make test`` uses: ``LEXRECON_RELIABILITY_TRIALS``), then reads the tally the suites wrote
(one JSON line per attempt: category, suite, item, ok) and prints a table:

    category     tried   outcome        not
    faults         ...   survived ...   ...
    bad inputs     ...   handled  ...   ...
    attacks        ...   refused  ...   ...
    monitoring     ...   passed   ...   ...   (the tests of tests/status)

Every suite stops by itself and talks only to 127.0.0.1. Exit 0 when every attempt came out
right and pytest passed; 1 otherwise (the failed attempts are listed); 2 if pytest could not
run. See docs/reliability.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

from lexrecon.config import REPO_ROOT

CATEGORY_LABELS = {  # category in the tally: (row title, what a good outcome is called)
    "fault": ("faults", "survived"),
    "bad_input": ("bad inputs", "handled"),
    "attack": ("attacks", "refused"),
    "monitoring": ("monitoring", "passed"),
}
SUITES = ("tests/reliability", "tests/status")
DEFAULT_TRIALS = 3


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "reliability", help="run the reliability and security suites and print the table",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=None,
                   help="trials of the randomised suites (default: $LEXRECON_RELIABILITY_TRIALS "
                        f"or {DEFAULT_TRIALS})")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the random kill points (default: $LEXRECON_RELIABILITY_SEED)")
    p.add_argument("--tally", type=Path, default=None,
                   help="where the suites write their tally (default: a new temp file)")
    p.add_argument("--workers", "-n", type=int, default=1,
                   help="pytest-xdist workers (default 1; the suites are CPU-heavy)")
    p.add_argument("-k", dest="keyword", default=None, help="pytest -k expression (a subset)")
    p.add_argument("--table-only", action="store_true",
                   help="do not run pytest: print the table of an existing --tally file")
    p.set_defaults(func=run)


def read_tally(path: Path) -> list[dict[str, Any]]:
    rows = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by a killed writer: not counted
    return rows


def read_junit(path: Path) -> list[dict[str, Any]]:
    """One dict per test case: name, classname, outcome (passed/failed/error/skipped)."""
    if not path.is_file():
        return []
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        cases.append({"classname": case.get("classname", ""), "name": case.get("name", ""),
                      "outcome": outcome, "seconds": float(case.get("time") or 0)})
    return cases


def summarise(tally: list[dict[str, Any]], cases: list[dict[str, Any]]) -> dict[str, dict]:
    """{category: {"tried", "ok", "failed": [rows], "suites": {suite: [tried, ok]}}}."""
    out: dict[str, dict] = {c: {"tried": 0, "ok": 0, "failed": [],
                                "suites": defaultdict(lambda: [0, 0])} for c in CATEGORY_LABELS}
    for row in tally:
        cat = out.setdefault(row.get("category", "?"), {"tried": 0, "ok": 0, "failed": [],
                                                        "suites": defaultdict(lambda: [0, 0])})
        cat["tried"] += 1
        cat["suites"][row.get("suite", "?")][0] += 1
        if row.get("ok"):
            cat["ok"] += 1
            cat["suites"][row.get("suite", "?")][1] += 1
        else:
            cat["failed"].append(row)
    mon = out["monitoring"]
    for case in cases:
        if "status" not in case["classname"].split(".") and \
                not case["classname"].endswith("test_status"):
            continue
        if case["outcome"] == "skipped":
            continue
        mon["tried"] += 1
        mon["suites"]["lexrecon status (tests/status)"][0] += 1
        if case["outcome"] == "passed":
            mon["ok"] += 1
            mon["suites"]["lexrecon status (tests/status)"][1] += 1
        else:
            mon["failed"].append({"suite": "status", "item": case["name"],
                                  "detail": case["outcome"]})
    return out


def format_table(summary: dict[str, dict], header: str = "") -> str:
    lines = [header] if header else []
    lines.append(f"{'category':<12} {'tried':>6}  {'outcome':<18} {'not':>5}")
    lines.append("-" * 46)
    for cat, (title, good) in CATEGORY_LABELS.items():
        s = summary.get(cat, {"tried": 0, "ok": 0})
        lines.append(f"{title:<12} {s['tried']:>6}  {good + ' ' + str(s['ok']):<18} "
                     f"{s['tried'] - s['ok']:>5}")
    lines.append("")
    lines.append("by suite (tried / good):")
    for cat, (title, _good) in CATEGORY_LABELS.items():
        for suite, (tried, ok) in sorted(summary.get(cat, {}).get("suites", {}).items()):
            lines.append(f"  {title:<11} {suite:<32} {ok:>5} / {tried:<5}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    trials = args.trials or int(os.environ.get("LEXRECON_RELIABILITY_TRIALS", DEFAULT_TRIALS))
    workdir = Path(tempfile.mkdtemp(prefix="lexrecon-reliability-"))
    tally = args.tally or workdir / "tally.jsonl"
    junit = workdir / "junit.xml"
    started = time.monotonic()
    pytest_rc = 0
    if not args.table_only:
        if args.tally and tally.exists():
            tally.unlink()  # a fresh tally for this run
        env = dict(os.environ)
        env.update({"LEXRECON_RELIABILITY_TRIALS": str(trials),
                    "LEXRECON_RELIABILITY_TALLY": str(tally),
                    "RUNTIME__DLTHUB_TELEMETRY": "false", "DO_NOT_TRACK": "1"})
        if args.seed is not None:
            env["LEXRECON_RELIABILITY_SEED"] = str(args.seed)
        cmd = [sys.executable, "-m", "pytest", *SUITES, "-q", "-p", "no:cacheprovider",
               "-o", "junit_family=xunit1", f"--junitxml={junit}"]
        if args.workers and args.workers > 1:
            cmd += ["-n", str(args.workers)]
        if args.keyword:
            cmd += ["-k", args.keyword]
        print(f"$ {' '.join(cmd[2:])}   (LEXRECON_RELIABILITY_TRIALS={trials})", flush=True)
        try:
            pytest_rc = subprocess.call(cmd, cwd=REPO_ROOT, env=env)
        except OSError as exc:
            print(f"reliability: cannot run pytest: {exc}", file=sys.stderr)
            return 2
    cases = read_junit(junit)
    summary = summarise(read_tally(tally), cases)
    elapsed = time.monotonic() - started
    counts = defaultdict(int)
    for case in cases:
        counts[case["outcome"]] += 1
    header = (f"lexrecon reliability: trials={'(from the tally)' if args.table_only else trials}, "
              f"seed={args.seed if args.seed is not None else os.environ.get('LEXRECON_RELIABILITY_SEED', 'default')}, "
              f"{elapsed:.0f}s; pytest: "
              + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f"; tally: {tally}")
    print()
    print(format_table(summary, header))
    failed = [row for s in summary.values() for row in s["failed"]]
    if failed:
        print(f"\nnot survived / handled / refused ({len(failed)}):")
        for row in failed[:50]:
            print(f"  [{row.get('suite')}] {row.get('item')}: {str(row.get('detail'))[:300]}")
    broken = [c for c in cases if c["outcome"] in ("failed", "error")]
    if broken:
        print(f"\npytest tests that failed or errored ({len(broken)}):")
        for case in broken[:30]:
            print(f"  {case['classname']}::{case['name']}: {case['outcome']}")
    if args.table_only:
        return 1 if failed else 0
    if pytest_rc not in (0, 1):
        print(f"pytest exited {pytest_rc} (not all suites ran)", file=sys.stderr)
        return 2 if not cases else 1
    return 1 if failed or pytest_rc != 0 else 0
