"""`lexrecon demo ...`: the demo firm (generate now; verify and emulators register here later).

Sub-commands are added in ``add_parser`` through ``SUBCOMMANDS``; each entry adds its own parser
to the ``demo`` sub-parser and sets ``func``.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from lexrecon.config import paths


def _generate(args: argparse.Namespace) -> int:
    from ingestion.demo_firm.generator import generate

    out = Path(args.out) if args.out else paths().firm
    if args.extra_day:
        from ingestion.demo_firm.extra_day import append_day

        if not (out / "manifest.json").is_file():
            print(f"no demo firm at {out}: generate it first", file=sys.stderr)
            return 2
        day = append_day(out)
        print(f"demo firm {out}: {day['clio']} Clio and {day['actionstep']} Actionstep time "
              f"entries added for {day['date']}", file=sys.stderr)
        return 0
    manifest = generate(args.scale, args.seed, out)
    counts = manifest["row_counts"]
    n_gt = counts.get("ground_truth", 0)
    print(f"demo firm ({args.scale}, seed {args.seed}) written to {out} in "
          f"{manifest['_seconds']} s: {counts.get('clio.activities', 0)} Clio activities, "
          f"{counts.get('actionstep.timeentries', 0)} Actionstep time entries, "
          f"{counts.get('clio.bills', 0) + counts.get('actionstep.bills', 0)} invoices, "
          f"{n_gt} planted anomalies", file=sys.stderr)
    return 0


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="write the demo firm's source data deterministically",
                       description="Write the demo firm (see docs/demo-firm.md). Same seed and "
                                   "scale give byte-identical files.")
    p.add_argument("--scale", choices=["tiny", "demo", "large"], default="demo")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default=None,
                   help="output directory (default: the firm path of lexrecon.config, "
                        "LEXRECON_FIRM or $LEXRECON_HOME/firm)")
    p.add_argument("--extra-day", action="store_true",
                   help="append the next business day of time entries to the existing firm "
                        "(new ids, timestamps after every existing one) for an incremental run")
    p.set_defaults(func=_generate)


def _add_emulators(sub: argparse._SubParsersAction) -> None:
    from ingestion.emulators.cli import add_arguments

    add_arguments(sub.add_parser(
        "emulators", help="serve the demo firm through the Clio, Actionstep and e-billing "
                          "emulators until Ctrl-C",
        description="Serve the demo firm over HTTP on 127.0.0.1 and print the URLs and OAuth "
                    "credentials (see ingestion/emulators/README.md)."))


# Each adds one sub-command under `lexrecon demo`.
def _add_verify(sub: argparse._SubParsersAction) -> None:
    from lexrecon.verify import add_parser as add_verify  # the logic lives in verify.py

    add_verify(sub)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_generate,
                                                                   _add_emulators, _add_verify]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="generate and check the demo firm")
    sub = parser.add_subparsers(dest="demo_command", metavar="DEMO_COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
