"""The `lexrecon` command: one entry point that drives every stage.

Each subcommand lives in its own module, which provides ``add_parser(subparsers)`` (the parsers
it adds set ``func``, returning the exit code). ``COMMANDS`` maps each command name to its
module; only the module of the command being run is imported, so `lexrecon check` does not pay
for importing dbt, dlt and Dash. `lexrecon --help` imports them all to list them.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "demo": "lexrecon.demo",
    "ingest": "lexrecon.ingest",
    "build": "lexrecon.warehouse_cmd",
    "publish": "lexrecon.warehouse_cmd",
    "refresh": "lexrecon.refresh",
    "serve": "lexrecon.serve",
    "check": "lexrecon.check",
    "evidence": "lexrecon.evidence_cmd",
    "ledes": "lexrecon.ledes_cmd",
    "collections": "lexrecon.reports_cmd",
    "prebill": "lexrecon.reports_cmd",
    "status": "lexrecon.status",
    "bench": "lexrecon.bench.command",
    "reliability": "lexrecon.reliability",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with just the module of command ``only``."""
    parser = argparse.ArgumentParser(
        prog="lexrecon",
        description="Law-firm billing reconciliation warehouse.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[only]] if only in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
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
