"""The `lexrecon` command: one entry point that drives every stage.

Each subcommand lives in its own module and registers itself through ``add_parser(sub)``;
this file only lists the modules, so the commands stay small and independent.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules that each provide ``add_parser(subparsers)``; the parser they add sets ``func``.
COMMAND_MODULES: list[str] = [
    "lexrecon.status",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lexrecon",
        description="Law-firm billing reconciliation warehouse.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
