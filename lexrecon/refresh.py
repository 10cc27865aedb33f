"""``lexrecon refresh``: the nightly job in one process: ingest, build, publish.

    lexrecon refresh [--source NAME ...] [--jobs N] [--firm DIR] [--raw-db P] [--build-db P]
                     [--serving-db P] [--verbose]

The three steps are those of ``lexrecon ingest`` (every source by default, ``--jobs 2``),
``lexrecon build`` (incremental when the previous build allows it) and ``lexrecon publish``,
through the same functions (``lexrecon.ingest.ingest_sources``, ``lexrecon.warehouse.build``
and ``publish``). It stops at the first step that fails - a source that failed to load, a
build that is not green, a refused publish - says which step and why, and exits 1; a failed
ingest or build never reaches the serving file. A build with nothing new ("up to date") has
nothing to publish: exit 0.

While the ingest runs, a thread imports dbt and parses the dbt project
(``lexrecon.warehouse.start_parse``): the parse reads only the project's files, its arguments
and environment, never the data, so the build takes it ready when none of those changed in the
meantime, and parses again itself otherwise.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    from lexrecon.ingest import add_ingest_arguments

    p = subparsers.add_parser(
        "refresh", help="the nightly job: ingest, build and publish in one process",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_ingest_arguments(p)  # --source, --firm, --raw-db, --jobs, --verbose
    p.add_argument("--build-db", type=Path, help="build database (default: LEXRECON_BUILD_DB)")
    p.add_argument("--serving-db", type=Path,
                   help="serving database (default: LEXRECON_SERVING_DB)")
    p.set_defaults(func=run)


@dataclass
class RefreshResult:
    ok: bool
    failed_step: str | None = None  # "ingest", "build" or "publish"
    message: str = ""  # why it failed, or what was published
    ingest: Any = None  # lexrecon.ingest.IngestOutcome
    build: Any = None  # lexrecon.warehouse.BuildResult
    published: Path | None = None  # the serving file, when a new build was published
    seconds: dict[str, float] = field(default_factory=dict)  # ingest, build, publish, total
    background_parse_s: float = 0.0  # the parse thread's own time (import and parse)


def refresh(
    sources: list[str] | tuple[str, ...] | None = None,
    *,
    firm: Path | None = None,
    raw_db: Path | None = None,
    build_db: Path | None = None,
    serving_db: Path | None = None,
    pipelines_dir: Path | None = None,
    jobs: int = 2,
    quiet: bool = True,
    select: list[str] | None = None,
    background_parse: bool = True,
    console: Any = None,
    err: Any = None,
) -> RefreshResult:
    """Ingest ``sources`` (default all), build, publish; stop at the first failing step.

    Paths default to ``lexrecon.config.paths()``. ``console``/``err`` (rich consoles): show the
    ingest's progress and table as `lexrecon ingest` does (else nothing is printed).
    ``select``: the build's dbt selection (default: none, incremental when it can be)."""
    # dlt and the sources first: importing them sets dlt's environment in this thread, before
    # the parse thread starts
    import ingestion.pipeline  # noqa: F401
    from lexrecon.config import paths
    from lexrecon.ingest import ingest_sources, ingest_with_progress
    from lexrecon.warehouse import NothingToPublish, PublishRefused, build, publish, start_parse

    p = paths()
    raw_db = Path(raw_db or p.raw_db).resolve()
    build_db = Path(build_db or p.build_db).resolve()
    serving_db = Path(serving_db or p.serving_db).resolve()
    result = RefreshResult(ok=False)
    started = time.perf_counter()
    parse = start_parse(raw_db, build_db, quiet=quiet) if background_parse else None

    def failed(step: str, message: str) -> RefreshResult:
        result.failed_step, result.message = step, message
        return result

    try:
        t0 = time.perf_counter()
        if console is not None:
            outcome = ingest_with_progress(sources, firm=firm, raw_db=raw_db, jobs=jobs,
                                           console=console, err=err or console)
        else:
            outcome = ingest_sources(sources, firm=firm, raw_db=raw_db,
                                     pipelines_dir=pipelines_dir, jobs=jobs)
        result.ingest = outcome
        result.seconds["ingest"] = time.perf_counter() - t0
        if not outcome.ok:
            return failed("ingest", outcome.describe_failure())

        t0 = time.perf_counter()
        try:
            built = build(raw_db, build_db, select=select, quiet=quiet, serving_db=serving_db,
                          parsed=parse)
        except Exception as exc:  # noqa: BLE001 - e.g. no raw file: the step and the reason
            return failed("build", f"{type(exc).__name__}: {exc}")
        finally:
            result.seconds["build"] = time.perf_counter() - t0
        result.build = built
        if not built.success:
            why = built.error or "; ".join(built.failures[:5]) or "not green"
            return failed("build", why)

        t0 = time.perf_counter()
        try:
            result.published = publish(build_db, serving_db)
            result.message = f"published {result.published}"
        except NothingToPublish as exc:
            result.message = f"nothing to publish: {exc}"
        except PublishRefused as exc:
            return failed("publish", str(exc))
        finally:
            result.seconds["publish"] = time.perf_counter() - t0
        result.ok = True
        return result
    finally:
        if parse is not None:
            parse.close()
            result.background_parse_s = parse.seconds
        result.seconds["total"] = time.perf_counter() - started


def run(args: argparse.Namespace) -> int:
    from lexrecon.ingest import consoles, quiet_dlt
    from lexrecon.warehouse_cmd import report_build

    quiet_dlt(args.verbose)
    console, err = consoles()
    result = refresh(args.source, firm=args.firm, raw_db=args.raw_db, build_db=args.build_db,
                     serving_db=args.serving_db, jobs=args.jobs, quiet=not args.verbose,
                     console=console, err=err)
    built = result.build
    if built is not None:
        report_build(built)
        if built.parse:
            print(f"dbt parse: {built.parse}")
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    if not result.ok:
        print(f"refresh FAILED at step {result.failed_step} ({timings}): {result.message}\n"
              + {"ingest": "Nothing was built or published: fix the source and run it again.",
                 "build": "Nothing was published: the serving file is unchanged.",
                 "publish": "The serving file is unchanged."}[result.failed_step or "build"],
              file=sys.stderr)
        return 1
    print(result.message)
    print(f"refresh done ({timings})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="lexrecon")
    add_parser(parser.add_subparsers())
    ns = parser.parse_args(sys.argv[1:])
    sys.exit(ns.func(ns))
