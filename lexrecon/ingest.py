"""``lexrecon ingest``: load the source systems into raw.duckdb with dlt.

    lexrecon ingest [--source NAME ...] [--jobs N] [--firm DIR] [--raw-db PATH] [--verbose]

Sources: clio, actionstep, ebilling (REST), ledes (LEDES inbox files), sales (SQL database).
A REST source whose ``sources.<name>.base_url`` is configured (dlt config or environment,
e.g. ``SOURCES__CLIO__BASE_URL``) talks to that server; otherwise the command serves the demo
firm through the emulators (``ingestion.emulators.start_all``, unthrottled, in a child
process) for the run and stops them afterwards. ``--jobs N`` sources run at once (default 2), each
in a thread: they extract and normalize at the same time and write to raw.duckdb one at a time
(``ingestion.pipeline.raw_db_lock``), as ``ingestion.pipeline.run_sources`` does. Shows progress
while loading and ends with a table per source and resource: received, loaded, quarantined, and
the money of each. Exits 1 if a source failed, with a
message saying which source, what happened and what to do.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

SOURCE_NAMES = ("clio", "actionstep", "ebilling", "ledes", "sales")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ingest", help="load every source system into raw.duckdb (dlt)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", "-s", action="append", choices=SOURCE_NAMES, metavar="NAME",
                   help=f"a source to load (repeatable; default all: {', '.join(SOURCE_NAMES)})")
    p.add_argument("--firm", type=Path, default=None,
                   help="the demo firm folder (default: lexrecon.config.paths().firm)")
    p.add_argument("--raw-db", type=Path, default=None,
                   help="the DuckDB file to write (default: lexrecon.config.paths().raw_db)")
    p.add_argument("--jobs", "-j", type=int, default=2, metavar="N",
                   help="sources loaded at the same time (default 2; 1: one after another)")
    p.add_argument("--verbose", "-v", action="store_true", help="show dlt's warnings and logs")
    p.set_defaults(func=run)


def _money(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}"


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    if not args.verbose:
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ingestion.pipeline import REST_SOURCES, IngestError, _configured, run_source
    from lexrecon.config import paths

    # a log file or a pipe gets the full table (rich would cut it to 80 columns)
    console = Console(width=None if sys.stdout.isatty() else 120)
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
    p = paths()
    firm = args.firm or p.firm
    raw_db = args.raw_db or p.raw_db
    names = list(dict.fromkeys(args.source or SOURCE_NAMES))
    need_emulators = [n for n in names if n in REST_SOURCES
                      and not _configured(f"sources.{n}.base_url")]
    emulators = None
    endpoints: dict[str, dict[str, Any]] = {}
    if need_emulators:
        if not firm.is_dir():
            err.print(f"[red]ingest: no base_url configured for {', '.join(need_emulators)} "
                      f"and no demo firm at {firm}.[/red] Generate it (`lexrecon demo "
                      "generate`) or set SOURCES__<NAME>__BASE_URL and credentials.")
            return 1
        from ingestion.emulators import start_all
        from ingestion.pipeline import endpoint_for
        # the demo firm is not a rate-limited vendor: unthrottled (big pages), and served from
        # a child process so the servers do not compete with the loader for the GIL
        emulators = start_all(firm, systems=tuple(need_emulators), unthrottled=True,
                              in_process=False)
        for name in emulators.info():
            endpoints[name] = endpoint_for(name, emulators)
        console.print(f"[dim]serving the demo firm {firm} through emulators for: "
                      f"{', '.join(need_emulators)}[/dim]")

    outcomes: dict[str, Any] = {}  # name -> LoadSummary, or the IngestError it failed with
    started = time.perf_counter()
    try:
        with Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[source]:<11}"),
                      TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            tasks = {name: progress.add_task("waiting", source=name, total=None)
                     for name in names}

            def load(name: str) -> None:
                task = tasks[name]

                def on_progress(source: str, resource: str, received: int) -> None:
                    progress.update(task, description=f"{resource}: {received:,} records")

                progress.update(task, description="starting")
                try:
                    summary = run_source(name, firm, raw_db, pipelines_dir=p.pipelines_dir,
                                         endpoint=endpoints.get(name),
                                         on_progress=on_progress)
                except IngestError as exc:
                    outcomes[name] = exc
                except Exception as exc:  # noqa: BLE001 - a bug: still say which source
                    outcomes[name] = IngestError(
                        name, f"{type(exc).__name__}: {exc}. This looks like a bug; run "
                              f"`lexrecon ingest --source {name} --verbose` and report it.")
                else:
                    outcomes[name] = summary
                    progress.update(task, description=(
                        f"[green]{summary.received:,} received, {summary.loaded:,} loaded, "
                        f"{summary.quarantined:,} quarantined[/green] "
                        f"({summary.rows_per_second:,.0f} records/s)"))
                if isinstance(outcomes[name], IngestError):
                    progress.update(task, description="[red]failed[/red]")
                progress.stop_task(task)

            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=max(1, min(args.jobs, len(names))),
                                    thread_name_prefix="lexrecon-ingest") as pool:
                list(pool.map(load, names))
    finally:
        if emulators is not None:
            emulators.stop()

    table = Table(title=f"lexrecon ingest -> {raw_db}")
    for col, justify in (("source", "left"), ("resource", "left"), ("received", "right"),
                         ("loaded", "right"), ("quarantined", "right"),
                         ("money loaded", "right"), ("money quar.", "right")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    summaries = [o for n in names if not isinstance(o := outcomes.get(n), IngestError | None)]
    failures = [o for n in names if isinstance(o := outcomes.get(n), IngestError)]
    redelivered = 0
    for s in summaries:
        for r in s.resources:
            redelivered += r.redelivered
            table.add_row(s.source, r.resource, f"{r.received:,}", f"{r.loaded:,}",
                          f"{r.quarantined:,}" if not r.quarantined
                          else f"[yellow]{r.quarantined:,}[/yellow]",
                          _money(r.money_loaded) if r.money_column else "",
                          _money(r.money_quarantined) if r.money_column else "")
    console.print(table)
    if redelivered:
        console.print(f"[dim]{redelivered:,} records or files were sent again and not loaded "
                      "twice (redelivered).[/dim]")
    elapsed = time.perf_counter() - started
    quarantined = sum(s.quarantined for s in summaries)
    if quarantined:
        console.print(f"[yellow]{quarantined:,} records quarantined[/yellow]: see the "
                      "`quarantine` table of each raw_<source> dataset (reason, file, line, field).")
    for exc in failures:
        err.print(f"[red]ingest failed[/red] {exc}")
    console.print(f"[dim]{len(summaries)} of {len(names)} sources loaded in {elapsed:.1f}s[/dim]")
    return 1 if failures else 0


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="lexrecon")
    add_parser(parser.add_subparsers())
    ns = parser.parse_args(sys.argv[1:])
    sys.exit(ns.func(ns))
