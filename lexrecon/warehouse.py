"""Build the warehouse with dbt (in-process) and publish a green build to the serving file.

``build`` runs ``dbt build`` through ``dbtRunner`` into a temporary file next to the build
database, closes DuckDB, then moves it over the build path and keeps dbt's run results beside it
(``<build_db>.run_results.json``) for the evidence pack. It never touches the serving file.

``publish`` refuses unless those run results are all green and belong to that very build file
(sha256 recorded at build time), then copies the build next to the serving file and atomically
``os.replace``s it: readers holding the old file keep it until they reconnect, and a failed
build never reaches them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lexrecon.config import DBT_PROJECT_DIR

# "no-op": nodes dbt build lists but does not run, such as exposures (models/exposures.yml).
GREEN_STATUSES = frozenset({"success", "pass", "no-op"})
# A test declared with severity "warn" reports "warn": a documented tolerance, not a failure.
# Exposures (the dashboard pages) have nothing to run and report "no-op".
TOLERATED_STATUSES = frozenset({"warn", "no-op"})


class PublishRefused(RuntimeError):
    """The build is not fit to publish; the message says why and what to do."""


@dataclass
class BuildResult:
    success: bool
    build_db: Path
    run_results_path: Path | None
    run_results: dict = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()))
        head = "green" if self.success else "FAILED"
        return f"build {head} in {self.elapsed_seconds:.1f}s: {counts or 'no nodes run'}"


def run_results_path(build_db: Path | str) -> Path:
    """Where the run results of a build are kept: ``<build_db>.run_results.json``."""
    build_db = Path(build_db)
    return build_db.with_name(build_db.name + ".run_results.json")


def build_info_path(build_db: Path | str) -> Path:
    """Where build metadata (sha256 of the file, status counts) is kept."""
    build_db = Path(build_db)
    return build_db.with_name(build_db.name + ".build.json")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _close_duckdb_environment() -> None:
    """dbt-duckdb keeps its DuckDB instance open in-process after ``invoke()``; close it so the
    file is checkpointed, unlocked and complete on disk before it is moved."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


def _summarise(results: dict) -> tuple[dict[str, int], list[str]]:
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    for res in results.get("results", []):
        status = str(res.get("status"))
        statuses[status] += 1
        if status not in GREEN_STATUSES | TOLERATED_STATUSES:
            msg = (res.get("message") or "").strip().splitlines()
            failures.append(f"{res.get('unique_id')}: {status}" + (f" ({msg[0]})" if msg else ""))
    # the causes first, then what was skipped because of them
    failures.sort(key=lambda line: line.endswith(": skipped"))
    return dict(statuses), failures


def build(
    raw_db: Path | str,
    build_db: Path | str,
    select: list[str] | str | None = None,
    full_refresh: bool = False,
    *,
    extra_args: list[str] | None = None,
    quiet: bool = True,
) -> BuildResult:
    """Run ``dbt build`` in-process from ``raw_db`` (attached read-only) into ``build_db``.

    The build writes a temporary file in the build directory and moves it over ``build_db``
    when dbt is done (green or not: a failed build stays inspectable, ``publish`` refuses it).
    With ``select`` and an existing build file (and not ``full_refresh``), the existing build is
    the starting point, so the unselected models stay as they were.
    """
    from dbt.cli.main import dbtRunner

    raw_db = Path(raw_db).resolve()
    build_db = Path(build_db).resolve()
    if not raw_db.is_file():
        raise FileNotFoundError(
            f"raw database {raw_db} does not exist: run `lexrecon ingest` first "
            "(or set LEXRECON_RAW_DB)"
        )
    build_db.parent.mkdir(parents=True, exist_ok=True)
    # Stable names, so dbt's partial parsing (in the work dir) survives between builds: the
    # profile renders the build path, and a changed profile forces a full re-parse.
    tmp_db = build_db.with_name(f".{build_db.name}.building")
    work = build_db.with_name(f".{build_db.name}.dbt")
    for stale in (tmp_db, tmp_db.with_name(tmp_db.name + ".wal")):
        stale.unlink(missing_ok=True)
    if select and build_db.is_file() and not full_refresh:
        shutil.copyfile(build_db, tmp_db)

    args = ["build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if select:
        args += ["--select", *([select] if isinstance(select, str) else select)]
    if full_refresh:
        args.append("--full-refresh")
    if quiet:
        args.append("--quiet")
    args += list(extra_args or [])

    started = time.perf_counter()
    results_file = work / "target" / "run_results.json"
    results_file.unlink(missing_ok=True)
    args += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    env = {
        "LEXRECON_RAW_DB": str(raw_db),
        "LEXRECON_BUILD_DB": str(tmp_db),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    error = None
    with _environ(**env):
        try:
            outcome = dbtRunner().invoke(args)
            success = bool(outcome.success)
            if outcome.exception is not None:
                error = f"{type(outcome.exception).__name__}: {outcome.exception}"
        finally:
            _close_duckdb_environment()
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    elapsed = time.perf_counter() - started

    kept = run_results_path(build_db)
    if results:
        shutil.copyfile(results_file, kept)
    else:
        kept.unlink(missing_ok=True)

    statuses, failures = _summarise(results)
    success = success and bool(results) and not failures
    if tmp_db.is_file():
        os.replace(tmp_db, build_db)
        tmp_db.with_name(tmp_db.name + ".wal").unlink(missing_ok=True)
        info = {
            "build_db": str(build_db),
            "raw_db": str(raw_db),
            "sha256": sha256_file(build_db),
            "success": success,
            "statuses": statuses,
            "elapsed_seconds": round(elapsed, 3),
            "select": select,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        build_info_path(build_db).write_text(json.dumps(info, indent=2))
    else:
        build_info_path(build_db).unlink(missing_ok=True)
    return BuildResult(
        success=success,
        build_db=build_db,
        run_results_path=kept if results else None,
        run_results=results,
        elapsed_seconds=elapsed,
        statuses=statuses,
        failures=failures,
        error=error,
    )


def check_publishable(build_db: Path | str) -> dict:
    """Return the build info if ``build_db`` may be published, else raise PublishRefused."""
    build_db = Path(build_db).resolve()
    if not build_db.is_file():
        raise PublishRefused(f"no build at {build_db}: run `lexrecon build` first")
    results_file = run_results_path(build_db)
    info_file = build_info_path(build_db)
    if not results_file.is_file() or not info_file.is_file():
        raise PublishRefused(
            f"{build_db} has no run results ({results_file.name}) or build info: it was not "
            "made by `lexrecon build`; rebuild it"
        )
    results = json.loads(results_file.read_text())
    _, failures = _summarise(results)
    if not results.get("results"):
        raise PublishRefused(f"{results_file} lists no dbt results: rebuild")
    if failures:
        shown = "\n  ".join(failures[:20])
        more = f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
        raise PublishRefused(
            f"build {build_db} is not green ({len(failures)} not passing):\n  {shown}{more}\n"
            "Fix the data or the models and rebuild; the serving file was left unchanged."
        )
    info = json.loads(info_file.read_text())
    if not info.get("success"):
        raise PublishRefused(f"build {build_db} did not succeed (see {info_file}); rebuild")
    if sha256_file(build_db) != info.get("sha256"):
        raise PublishRefused(
            f"{build_db} changed after it was built and tested (sha256 differs from {info_file.name}); "
            "rebuild before publishing"
        )
    return info


def publish(build_db: Path | str, serving_db: Path | str) -> Path:
    """Atomically replace ``serving_db`` with a copy of the green build ``build_db``."""
    build_db = Path(build_db).resolve()
    serving_db = Path(serving_db).resolve()
    if build_db == serving_db:
        raise PublishRefused("the build and serving paths are the same file: build elsewhere")
    info = check_publishable(build_db)
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving_db.with_name(f".{serving_db.name}.{os.getpid()}.publishing")
    try:
        shutil.copyfile(build_db, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if sha256_file(tmp) != info["sha256"]:
            raise PublishRefused(f"copy of {build_db} is corrupt (sha256 mismatch); try again")
        os.replace(tmp, serving_db)
    finally:
        tmp.unlink(missing_ok=True)
    shutil.copyfile(run_results_path(build_db), run_results_path(serving_db))
    published = dict(info, serving_db=str(serving_db),
                     published_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    build_info_path(serving_db).write_text(json.dumps(published, indent=2))
    return serving_db


def generate_docs(raw_db: Path | str, build_db: Path | str, target_dir: Path | str) -> bool:
    """Run ``dbt docs generate`` against an existing build; writes the static site to target_dir."""
    from dbt.cli.main import dbtRunner

    args = ["docs", "generate", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
            str(DBT_PROJECT_DIR), "--target-path", str(Path(target_dir).resolve()), "--quiet"]
    with _environ(LEXRECON_RAW_DB=str(Path(raw_db).resolve()),
                  LEXRECON_BUILD_DB=str(Path(build_db).resolve()), DO_NOT_TRACK="1"):
        try:
            return bool(dbtRunner().invoke(args).success)
        finally:
            _close_duckdb_environment()
