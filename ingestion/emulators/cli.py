"""``lexrecon demo emulators`` / ``python -m ingestion.emulators``: serve until Ctrl-C."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .faults import Faults, parse_assignments

SYSTEMS = ("clio", "actionstep", "ebilling")


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--firm", type=Path, default=None,
                   help="demo firm folder (default: LEXRECON_FIRM or $LEXRECON_HOME/firm)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0,
                   help="clio on PORT, actionstep PORT+1, ebilling PORT+2 (default: free ports)")
    p.add_argument("--only", default=",".join(SYSTEMS),
                   help="comma list of systems to serve (default: all three)")
    p.add_argument("--unthrottled", action="store_true",
                   help="allow page sizes up to 100000 (benchmarks)")
    p.add_argument("--fault", action="append", default=[], metavar="[SYSTEM.]NAME=VALUE",
                   help="fault switch, repeatable (see ingestion/emulators/README.md)")
    p.add_argument("--json", action="store_true", help="print URLs and credentials as JSON")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(func=run)
    return p


def fault_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["clio.error_5xx_every=3", "slow_ms=5"]`` -> {"clio": {...}, "*": {...}} (validated)."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in parse_assignments(items).items():
        system, _, switch = name.rpartition(".")
        system = system or "*"
        if system != "*" and system not in SYSTEMS:
            raise ValueError(f"--fault {name}: unknown system {system!r} ({', '.join(SYSTEMS)})")
        out.setdefault(system, {})[switch] = value
    for changes in out.values():
        Faults().update(changes)  # raises ValueError with the switch name
    return out


def run(args: argparse.Namespace) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on SIGTERM too
    from . import start_all
    firm = args.firm
    if firm is None:
        from lexrecon.config import paths
        firm = paths().firm
    systems = tuple(s.strip() for s in args.only.split(",") if s.strip())
    bad = [s for s in systems if s not in SYSTEMS]
    if bad:
        print(f"--only: unknown system(s) {', '.join(bad)}; use {', '.join(SYSTEMS)}",
              file=sys.stderr)
        return 2
    try:
        faults = fault_options(args.fault)
        emu = start_all(firm, args.port, host=args.host, systems=systems, faults=faults,
                        unthrottled=args.unthrottled, verbose=args.verbose)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"emulators: {exc}", file=sys.stderr)
        return 2
    try:
        info = emu.info()
        if args.json:
            print(json.dumps(info, indent=2), flush=True)
        else:
            print(f"Serving the demo firm in {Path(firm)} (Ctrl-C to stop):")
            for name, i in info.items():
                print(f"  {name:<11} {i['api_url']:<45} token {i['token_url']}")
                print(f"  {'':<11} client_id={i['client_id']} client_secret={i['client_secret']}"
                      + (f" Company-ID={i['company_id']}" if "company_id" in i else ""))
            print("  faults: POST <base>/_emulator/faults  (see ingestion/emulators/README.md)",
                  flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = add_arguments(argparse.ArgumentParser(
        prog="python -m ingestion.emulators",
        description="Serve the demo firm through the Clio, Actionstep and e-billing emulators."))
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
