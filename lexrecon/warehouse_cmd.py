"""`lexrecon build` and `lexrecon publish`: run dbt into the build file, publish a green build."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lexrecon.config import paths


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "build",
        help="dbt build (in-process) from raw.duckdb into the build file",
        description="Run `dbt build` from the raw database into the build database. With no "
        "--select it is incremental when the previous build allows it (green, same raw file, "
        "dbt project, rules, vars and versions): only the models downstream of the raw tables "
        "that changed are run, and nothing at all when none changed; otherwise it is a full "
        "build into a fresh file. The previous build is the build file, or the serving file "
        "when the build was published (moved there) or failed. The run results are kept next "
        "to it as <build_db>.run_results.json.",
    )
    p.add_argument("--raw-db", type=Path, help="raw database (default: LEXRECON_RAW_DB)")
    p.add_argument("--build-db", type=Path, help="build database (default: LEXRECON_BUILD_DB)")
    p.add_argument("--serving-db", type=Path,
                   help="serving database, where the previous build may be (default: "
                   "LEXRECON_SERVING_DB)")
    p.add_argument("--select", "-s", nargs="+", help="dbt selection (starts from the existing build)")
    p.add_argument("--full-refresh", action="store_true", help="always a full build from an empty file")
    p.add_argument("--vars", metavar="YAML",
                   help="dbt vars, e.g. '{ar_as_of_date: 2026-09-15}' (an extra AR as-of date)")
    p.add_argument("--docs", type=Path, metavar="DIR",
                   help="also run `dbt docs generate` and write the site to DIR")
    p.add_argument("--verbose", "-v", action="store_true", help="show dbt's log lines")
    p.set_defaults(func=run_build)

    q = subparsers.add_parser(
        "publish",
        help="atomically replace serving.duckdb with the green build",
        description="Refuse unless every dbt result of the build passed and the build file is "
        "the one that was tested, then move it over the serving file (os.replace; its run "
        "results, build info and incremental state go with it). --keep-build copies it instead.",
    )
    q.add_argument("--build-db", type=Path, help="build database (default: LEXRECON_BUILD_DB)")
    q.add_argument("--serving-db", type=Path, help="serving database (default: LEXRECON_SERVING_DB)")
    q.add_argument("--keep-build", action="store_true",
                   help="copy the build to the serving file and keep the build file")
    q.set_defaults(func=run_publish)


def report_build(result) -> None:
    """What `lexrecon build` (and `lexrecon refresh`) print of a build: summary, dbt error,
    failures (stderr), where the run results are."""
    print(result.summary())
    if result.error:
        print(f"  dbt error: {result.error}", file=sys.stderr)
    for failure in result.failures[:30]:
        print(f"  {failure}", file=sys.stderr)
    if result.run_results_path:
        print(f"run results: {result.run_results_path}")


def run_build(args: argparse.Namespace) -> int:
    from lexrecon.warehouse import build, generate_docs

    where = paths()
    raw_db = args.raw_db or where.raw_db
    build_db = args.build_db or where.build_db
    try:
        result = build(raw_db, build_db, select=args.select, full_refresh=args.full_refresh,
                       extra_args=["--vars", args.vars] if args.vars else None,
                       quiet=not args.verbose, serving_db=args.serving_db or where.serving_db)
    except FileNotFoundError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    report_build(result)
    if args.docs and result.build_db != Path(build_db).resolve():
        print("docs: not written: nothing was built and the last build was published (moved); "
              "`lexrecon build --full-refresh --docs DIR` writes them from a new build file")
    elif args.docs and result.build_db.is_file():
        ok = generate_docs(raw_db, build_db, args.docs)
        print(f"docs: {'written to ' + str(args.docs) if ok else 'FAILED'}")
    return 0 if result.success else 1


def run_publish(args: argparse.Namespace) -> int:
    from lexrecon.warehouse import NothingToPublish, PublishRefused, publish

    where = paths()
    try:
        served = publish(args.build_db or where.build_db, args.serving_db or where.serving_db,
                         keep_build=args.keep_build)
    except NothingToPublish as exc:
        print(f"nothing to publish: {exc}")
        return 0
    except PublishRefused as exc:
        print(f"publish refused: {exc}", file=sys.stderr)
        return 1
    print(f"published {served}")
    return 0
