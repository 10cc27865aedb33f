"""``lexrecon ingest``: load the source systems into raw.duckdb with dlt.

    lexrecon ingest [--source NAME ...] [--jobs N] [--firm DIR] [--raw-db PATH] [--verbose]

Sources: clio, actionstep, ebilling (REST), ledes (LEDES inbox files), sales (SQL database).
A REST source whose ``sources.<name>.base_url`` is configured (dlt config or environment,
e.g. ``SOURCES__CLIO__BASE_URL``) talks to that server; otherwise the command serves the demo
firm through that source's emulator (``ingestion.emulators``, unthrottled, in a child process
started when the source starts, so it loads the firm while other sources already load) for
the run and stops it afterwards. ``--jobs N`` sources run at once (default 2), each in a
thread: they extract and normalize at the same time and write to raw.duckdb one at a time
(``ingestion.pipeline.raw_db_lock``), as ``ingestion.pipeline.run_sources`` does. Shows progress
while loading and ends with a table per source and resource: received, loaded, quarantined, and
the money of each. Exits 1 if a source failed, with a
message saying which source, what happened and what to do.

``ingest_sources`` is the one implementation: this command, ``lexrecon refresh`` and the
benchmark's daily run call it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE_NAMES = ("clio", "actionstep", "ebilling", "ledes", "sales")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ingest", help="load every source system into raw.duckdb (dlt)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_ingest_arguments(p)
    p.set_defaults(func=run)


def add_ingest_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `lexrecon ingest` (`lexrecon refresh` takes the same)."""
    p.add_argument("--source", "-s", action="append", choices=SOURCE_NAMES, metavar="NAME",
                   help=f"a source to load (repeatable; default all: {', '.join(SOURCE_NAMES)})")
    p.add_argument("--firm", type=Path, default=None,
                   help="the demo firm folder (default: lexrecon.config.paths().firm)")
    p.add_argument("--raw-db", type=Path, default=None,
                   help="the DuckDB file to write (default: lexrecon.config.paths().raw_db)")
    p.add_argument("--jobs", "-j", type=int, default=2, metavar="N",
                   help="sources loaded at the same time (default 2; 1: one after another)")
    p.add_argument("--verbose", "-v", action="store_true", help="show dlt's warnings and logs")


def _money(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}"


@dataclass
class IngestOutcome:
    """What one ingest did: each source's LoadSummary or the IngestError it failed with."""
    raw_db: Path
    names: list[str]
    summaries: dict[str, Any] = field(default_factory=dict)  # name -> LoadSummary
    failures: dict[str, Exception] = field(default_factory=dict)  # name -> IngestError
    emulated: list[str] = field(default_factory=list)  # REST sources served by the emulators
    seconds: float = 0.0
    error: str | None = None  # the ingest could not start (no demo firm and no vendor)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures

    def describe_failure(self) -> str:
        if self.error:
            return self.error
        return "; ".join(str(exc) for exc in self.failures.values())


def quiet_dlt(verbose: bool = False) -> None:
    """dlt's telemetry off, and its logs only with ``verbose``."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    if not verbose:
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")


def ingest_sources(
    names: list[str] | tuple[str, ...] | None = None,
    *,
    firm: Path | None = None,
    raw_db: Path | None = None,
    pipelines_dir: Path | None = None,
    jobs: int = 2,
    on_start: Callable[[str], None] | None = None,
    on_progress: Callable[[str, str, int], None] | None = None,
    on_done: Callable[[str, Any], None] | None = None,
) -> IngestOutcome:
    """Load ``names`` (default every source) into ``raw_db``, ``jobs`` sources at a time.

    Every source runs to its end even if another fails (each load is its own transaction), and
    its outcome - a LoadSummary or the IngestError it failed with - is in the result; nothing is
    raised for a source's failure. A REST source with no configured vendor is served from the
    demo ``firm`` by its own emulator (``run_source``: a child process, unthrottled); with no
    firm folder either, nothing is loaded and ``error`` says why. ``on_start(name)``,
    ``on_progress(name, resource, records)`` and ``on_done(name, outcome)`` report as it goes
    (from the sources' threads)."""
    from concurrent.futures import ThreadPoolExecutor

    from ingestion.pipeline import REST_SOURCES, IngestError, _configured, run_source
    from lexrecon.config import paths

    p = paths()
    firm = Path(firm or p.firm)
    raw_db = Path(raw_db or p.raw_db)
    pipelines_dir = Path(pipelines_dir or p.pipelines_dir)
    names = list(dict.fromkeys(names or SOURCE_NAMES))
    outcome = IngestOutcome(raw_db=raw_db, names=names)
    outcome.emulated = [n for n in names if n in REST_SOURCES
                        and not _configured(f"sources.{n}.base_url")]
    if outcome.emulated and not firm.is_dir():
        outcome.error = (f"no base_url configured for {', '.join(outcome.emulated)} and no demo "
                         f"firm at {firm}. Generate it (`lexrecon demo generate`) or set "
                         "SOURCES__<NAME>__BASE_URL and credentials.")
        return outcome
    started = time.perf_counter()

    def load(name: str) -> None:
        if on_start:
            on_start(name)
        progress = (lambda _source, resource, n: on_progress(name, resource, n)) \
            if on_progress else None
        try:
            # a REST source with no vendor configured starts its own emulator child (firm)
            outcome.summaries[name] = run_source(
                name, firm, raw_db, pipelines_dir=pipelines_dir, on_progress=progress,
                unthrottled=True)
        except IngestError as exc:
            outcome.failures[name] = exc
        except Exception as exc:  # noqa: BLE001 - a bug: still say which source
            outcome.failures[name] = IngestError(
                name, f"{type(exc).__name__}: {exc}. This looks like a bug; run "
                      f"`lexrecon ingest --source {name} --verbose` and report it.")
        if on_done:
            on_done(name, outcome.summaries.get(name) or outcome.failures[name])

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(names))),
                            thread_name_prefix="lexrecon-ingest") as pool:
        list(pool.map(load, names))
    outcome.seconds = time.perf_counter() - started
    # in the order asked for
    outcome.summaries = {n: outcome.summaries[n] for n in names if n in outcome.summaries}
    outcome.failures = {n: outcome.failures[n] for n in names if n in outcome.failures}
    return outcome


def ingest_with_progress(names: list[str] | None, *, firm: Path | None, raw_db: Path | None,
                         jobs: int, console: Any, err: Any) -> IngestOutcome:
    """:func:`ingest_sources` with a progress line per source on ``console`` (rich), then the
    table of received / loaded / quarantined and money, and each failure on ``err``."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from lexrecon.config import paths

    firm = firm or paths().firm
    names = list(dict.fromkeys(names or SOURCE_NAMES))
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[source]:<11}"),
                  TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        tasks = {name: progress.add_task("waiting", source=name, total=None) for name in names}

        def on_start(name: str) -> None:
            progress.update(tasks[name], description="starting")

        def on_progress(name: str, resource: str, received: int) -> None:
            progress.update(tasks[name], description=f"{resource}: {received:,} records")

        def on_done(name: str, result: Any) -> None:
            task = tasks[name]
            if isinstance(result, Exception):
                progress.update(task, description="[red]failed[/red]")
            else:
                progress.update(task, description=(
                    f"[green]{result.received:,} received, {result.loaded:,} loaded, "
                    f"{result.quarantined:,} quarantined[/green] "
                    f"({result.rows_per_second:,.0f} records/s)"))
            progress.stop_task(task)

        outcome = ingest_sources(names, firm=firm, raw_db=raw_db, jobs=jobs,
                                 on_start=on_start, on_progress=on_progress, on_done=on_done)
        if outcome.error is None and outcome.emulated:
            progress.console.print(f"[dim]served the demo firm {firm} through emulators for: "
                                   f"{', '.join(outcome.emulated)}[/dim]")
    report(outcome, console, err)
    return outcome


def report(outcome: IngestOutcome, console: Any, err: Any) -> None:
    """The summary table of an ingest, and its failures (or why it could not start)."""
    from rich.table import Table

    if outcome.error:
        err.print(f"[red]ingest: {outcome.error}[/red]")
        return
    table = Table(title=f"lexrecon ingest -> {outcome.raw_db}")
    for col, justify in (("source", "left"), ("resource", "left"), ("received", "right"),
                         ("loaded", "right"), ("quarantined", "right"),
                         ("money loaded", "right"), ("money quar.", "right")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    summaries = list(outcome.summaries.values())
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
    quarantined = sum(s.quarantined for s in summaries)
    if quarantined:
        console.print(f"[yellow]{quarantined:,} records quarantined[/yellow]: see the "
                      "`quarantine` table of each raw_<source> dataset (reason, file, line, field).")
    for exc in outcome.failures.values():
        err.print(f"[red]ingest failed[/red] {exc}")
    console.print(f"[dim]{len(summaries)} of {len(outcome.names)} sources loaded in "
                  f"{outcome.seconds:.1f}s[/dim]")


def consoles() -> tuple[Any, Any]:
    """rich consoles for stdout and stderr; a log file or a pipe gets the full table (rich
    would cut it to 80 columns)."""
    from rich.console import Console

    return (Console(width=None if sys.stdout.isatty() else 120),
            Console(stderr=True, width=None if sys.stderr.isatty() else 120))


def run(args: argparse.Namespace) -> int:
    quiet_dlt(args.verbose)
    console, err = consoles()
    outcome = ingest_with_progress(args.source, firm=args.firm, raw_db=args.raw_db,
                                   jobs=args.jobs, console=console, err=err)
    return 0 if outcome.ok else 1


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="lexrecon")
    add_parser(parser.add_subparsers())
    ns = parser.parse_args(sys.argv[1:])
    sys.exit(ns.func(ns))
