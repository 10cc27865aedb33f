"""Shared code and fixtures of the reliability and security suites (``make reliability``).

- ``tally(...)`` records what a suite tried and how it came out, one JSON line per attempt, in
  the file named by ``LEXRECON_RELIABILITY_TALLY`` (default: a file in the temp dir); ``lexrecon
  reliability`` reads it and prints the table.
- ``TRIALS`` (``LEXRECON_RELIABILITY_TRIALS``, default 2) and ``SEED``
  (``LEXRECON_RELIABILITY_SEED``, default 20261122) size and seed the randomised suites.
- ``baseline``: the tiny demo firm, ingested and built by the real commands (``python -m
  lexrecon ingest`` / ``build`` in child processes, sources served by the emulators on
  127.0.0.1), once per test run and shared by xdist workers, with a hash of every mart.
Everything runs on 127.0.0.1 and in temp directories; every child process has a timeout.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
TRIALS = max(1, int(os.environ.get("LEXRECON_RELIABILITY_TRIALS", "2")))
SEED = int(os.environ.get("LEXRECON_RELIABILITY_SEED", "20261122"))
CHILD_TIMEOUT = float(os.environ.get("LEXRECON_RELIABILITY_CHILD_TIMEOUT", "900"))

# The table's categories: what a suite tries, and what counts as a good outcome.
CATEGORIES = {"fault": "survived", "bad_input": "handled", "attack": "refused",
              "monitoring": "passed"}


# ------------------------------------------------------------------------------ the tally
def tally_path() -> Path:
    given = os.environ.get("LEXRECON_RELIABILITY_TALLY")
    if given:
        return Path(given)
    return Path(tempfile.gettempdir()) / f"lexrecon-reliability-tally-{os.getuid()}.jsonl"


def tally(category: str, suite: str, item: str, ok: bool, detail: str = "") -> bool:
    """Append one attempt to the tally file (O_APPEND: safe from several xdist workers)."""
    assert category in CATEGORIES, category
    line = json.dumps({"category": category, "suite": suite, "item": item, "ok": bool(ok),
                       "detail": str(detail)[:500], "pid": os.getpid(),
                       "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    path = tally_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
    return bool(ok)


# --------------------------------------------------------------------- child processes
def child_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment of a ``python -m lexrecon`` child: every path under ``home``, quiet, no
    proxies (only 127.0.0.1 is ever contacted), no emulator faults from the parent."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LEXRECON_EMULATOR_", "SOURCES__", "HTTP_PROXY", "HTTPS_PROXY",
                                "http_proxy", "https_proxy"))}
    env.update({
        "LEXRECON_HOME": str(home),
        "LEXRECON_PIPELINES_DIR": str(home / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DO_NOT_TRACK": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(REPO),
        "COLUMNS": "160",
    })
    env.update(extra)
    return env


def lexrecon(args: list[str], home: Path, timeout: float = CHILD_TIMEOUT,
             **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m lexrecon ARGS`` to the end (with a timeout)."""
    return subprocess.run([PYTHON, "-m", "lexrecon", *args], cwd=REPO, env=child_env(home, **env),
                          capture_output=True, text=True, timeout=timeout, check=False)


def ingest_args(firm: Path, raw_db: Path) -> list[str]:
    return ["ingest", "--firm", str(firm), "--raw-db", str(raw_db)]


def build_args(raw_db: Path, build_db: Path) -> list[str]:
    return ["build", "--raw-db", str(raw_db), "--build-db", str(build_db)]


# ------------------------------------------------------------------------------- hashes
def table_hashes(db: Path, schemas: tuple[str, ...] = ("marts",),
                 exclude_columns: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """``{schema.table: (rows, md5 of every row's text, rows sorted)}`` for each table."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in schemas)}) order by 1, 2",
            list(schemas)).fetchall()
        out: dict[str, tuple[int, str]] = {}
        for schema, table in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = ? order by ordinal_position", [schema, table]).fetchall()
                if r[0] not in exclude_columns]
            row = "row(" + ", ".join(f'"{c}"' for c in cols) + ")::varchar"
            n, digest = con.execute(
                f'select count(*), md5(coalesce(string_agg({row}, chr(10) order by {row}), \'\')) '
                f'from "{schema}"."{table}"').fetchall()[0]
            out[f"{schema}.{table}"] = (n, digest)
        return out
    finally:
        con.close()


def mart_hashes(build_db: Path) -> dict[str, tuple[int, str]]:
    return table_hashes(build_db, ("marts",))


def raw_hashes(raw_db: Path) -> dict[str, tuple[int, str]]:
    """Every raw data table (not dlt's bookkeeping, tallies or staging copies), without the
    per-load lineage columns, so two loads of the same data hash the same."""
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        schemas = tuple(r[0] for r in con.execute(
            "select distinct table_schema from information_schema.tables "
            "where table_schema like 'raw\\_%' escape '\\' "
            "and table_schema not like '%\\_staging' escape '\\'").fetchall())
    finally:
        con.close()
    hashes = table_hashes(raw_db, schemas, exclude_columns=("_dlt_load_id", "_dlt_id",
                                                            "loaded_at", "load_id"))
    return {k: v for k, v in hashes.items()
            if not k.split(".", 1)[1].startswith("_dlt") and not k.endswith(".load_tally")}


def diff_hashes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    keys = sorted(set(a) | set(b))
    return [f"{k}: {a.get(k)} != {b.get(k)}" for k in keys if a.get(k) != b.get(k)]


def tie_out_all(raw_db: Path) -> list[str]:
    """Problems with received = loaded + quarantined, per source, load and resource, against
    the tables themselves (rows carrying the load id, quarantine rows of the load)."""
    problems: list[str] = []
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        tables = {(s, t) for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        schemas = sorted({s for s, t in tables if t == "load_tally"
                          and not s.endswith("_staging")})  # dlt's merge staging copies
        for ds in schemas:
            data_loads = set()
            for s, t in tables:
                if s == ds and not t.startswith("_dlt") and t not in ("load_tally",
                                                                       "quarantine"):
                    data_loads |= {r[0] for r in con.execute(
                        f'select distinct _dlt_load_id from "{ds}"."{t}"').fetchall()}
            tallied = {r[0] for r in con.execute(
                f'select distinct load_id from "{ds}".load_tally').fetchall()}
            for missing in sorted(data_loads - tallied):
                problems.append(f"{ds}: load {missing} has rows but no load_tally row")
            for (resource, load_id, received, loaded, quarantined) in con.execute(
                    f'select resource, load_id, received, loaded, quarantined '
                    f'from "{ds}".load_tally').fetchall():
                if received != loaded + quarantined:
                    problems.append(f"{ds}.{resource} load {load_id}: received {received} != "
                                    f"loaded {loaded} + quarantined {quarantined}")
                if (ds, resource) in tables:
                    n = con.execute(f'select count(*) from "{ds}"."{resource}" '
                                    f'where _dlt_load_id = ?', [load_id]).fetchall()[0][0]
                    # a later load may replace rows of an earlier one (merge): never more
                    if n > loaded:
                        problems.append(f"{ds}.{resource} load {load_id}: {n} rows carry the "
                                        f"load id but the tally says {loaded} loaded")
                if (ds, "quarantine") in tables:
                    q = con.execute(f'select count(*) from "{ds}".quarantine where load_id = ? '
                                    f'and resource = ?', [load_id, resource]).fetchall()[0][0]
                    if q != quarantined:
                        problems.append(f"{ds}.{resource} load {load_id}: {q} quarantine rows, "
                                        f"tally says {quarantined}")
    finally:
        con.close()
    return problems


# ----------------------------------------------------------------------------- baseline
@dataclass
class Baseline:
    home: Path
    firm: Path
    raw_db: Path
    build_db: Path
    pipelines_dir: Path
    marts: dict[str, tuple[int, str]]
    raw: dict[str, tuple[int, str]]
    ingest_seconds: float
    build_seconds: float
    build_green: bool
    build_output: str

    def copy_to(self, target: Path, *, raw: bool = True, build: bool = False) -> Path:
        """The firm (shared, read-only use) plus private copies of raw.duckdb and dlt state."""
        target.mkdir(parents=True, exist_ok=True)
        if raw:
            shutil.copyfile(self.raw_db, target / "raw.duckdb")
            shutil.copytree(self.pipelines_dir, target / "dlt")
        if build:
            for suffix in ("", ".run_results.json", ".build.json"):
                src = self.build_db.with_name(self.build_db.name + suffix)
                if src.is_file():
                    shutil.copyfile(src, target / ("build.duckdb" + suffix))
        return target


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for this test run shared by its xdist workers (not under pytest's
    basetemp, which concurrent pytest runs on the machine may prune).
    ``LEXRECON_RELIABILITY_BASELINE_DIR`` names a directory to keep and reuse it across runs."""
    given = os.environ.get("LEXRECON_RELIABILITY_BASELINE_DIR")
    if given:
        return Path(given)
    root = Path(tempfile.gettempdir()) / "lexrecon-reliability-tests"
    root.mkdir(exist_ok=True)
    for old in root.iterdir():
        if old.is_dir() and time.time() - old.stat().st_mtime > 86400:
            shutil.rmtree(old, ignore_errors=True)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or \
        f"{tmp_path_factory.getbasetemp().name}-{os.getpid()}"
    return root / run


def _ingest_span(raw_db: Path) -> float:
    """Seconds from the first to the last dlt load of the run (every raw dataset): about how
    long the ingest took, for choosing kill points within it."""
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        schemas = [r[0] for r in con.execute(
            "select table_schema from information_schema.tables where table_name = '_dlt_loads' "
            "and table_schema not like '%staging'").fetchall()]
        stamps = [r for s in schemas for r in con.execute(
            f'select min(inserted_at), max(inserted_at) from "{s}"._dlt_loads').fetchall()[0]
            if r is not None]
    finally:
        con.close()
    return (max(stamps) - min(stamps)).total_seconds() if stamps else 0.0


@pytest.fixture(scope="session")
def baseline(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """The undisturbed run the suites compare with: the test run's shared ``tiny_pipeline``
    (tests/conftest.py: generated, `lexrecon ingest`, built, published once per run), plus a
    hash of every mart and raw table. With ``LEXRECON_RELIABILITY_BASELINE_DIR`` the suites
    build their own baseline there (child processes) and reuse it across runs."""
    if os.environ.get("LEXRECON_RELIABILITY_BASELINE_DIR"):
        return _own_baseline(tmp_path_factory)
    tiny = request.getfixturevalue("tiny_pipeline")
    home = Path(tiny.raw_db).parent
    cache = home / "reliability-baseline.json"
    with open(home / "reliability-baseline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not cache.is_file():
                cache.write_text(json.dumps({
                    "marts": mart_hashes(tiny.build_db) if tiny.build_db.is_file() else {},
                    "raw": raw_hashes(tiny.raw_db),
                    "ingest_seconds": _ingest_span(tiny.raw_db) * 1.2 + 3.0}))
            info = json.loads(cache.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    r = tiny.result
    return Baseline(home=home, firm=Path(tiny.firm), raw_db=Path(tiny.raw_db),
                    build_db=Path(tiny.build_db),
                    pipelines_dir=home / "home" / "dlt_pipelines",
                    marts={k: tuple(v) for k, v in info["marts"].items()},
                    raw={k: tuple(v) for k, v in info["raw"].items()},
                    ingest_seconds=info["ingest_seconds"],
                    build_seconds=float(r.elapsed_seconds or 30.0),
                    build_green=bool(r.success),
                    build_output=f"{r.summary()}: {'; '.join(r.failures[:10])} {r.error or ''}")


def _own_baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    from ingestion.demo_firm.generator import generate

    home = _shared_dir(tmp_path_factory)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker builds, the others wait and reuse it
        try:
            note = home / "baseline.json"
            if not note.is_file():
                firm = home / "firm"
                if firm.exists():
                    shutil.rmtree(firm)
                generate("tiny", 42, firm)
                raw_db, build_db = home / "raw.duckdb", home / "build.duckdb"
                t0 = time.perf_counter()
                ing = lexrecon(ingest_args(firm, raw_db), home)
                t1 = time.perf_counter()
                assert ing.returncode == 0, ing.stdout[-3000:] + ing.stderr[-3000:]
                bld = lexrecon(build_args(raw_db, build_db), home, LEXRECON_FIRM=str(firm))
                t2 = time.perf_counter()
                assert build_db.is_file(), bld.stdout[-3000:] + bld.stderr[-3000:]
                note.write_text(json.dumps({
                    "ingest_seconds": t1 - t0, "build_seconds": t2 - t1,
                    "build_green": bld.returncode == 0,
                    "build_output": (bld.stdout + bld.stderr)[-3000:],
                    "marts": mart_hashes(build_db), "raw": raw_hashes(raw_db)}))
            info = json.loads(note.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return Baseline(home=home, firm=home / "firm", raw_db=home / "raw.duckdb",
                    build_db=home / "build.duckdb", pipelines_dir=home / "dlt",
                    marts={k: tuple(v) for k, v in info["marts"].items()},
                    raw={k: tuple(v) for k, v in info["raw"].items()},
                    ingest_seconds=info["ingest_seconds"], build_seconds=info["build_seconds"],
                    build_green=info["build_green"], build_output=info["build_output"])


@pytest.fixture(scope="session")
def serving_db(baseline: Baseline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baseline build published (``lexrecon.warehouse.publish``) to a private serving
    file; if the tiny build is not green, publish refuses and the suites that need a serving
    file fail with that reason."""
    from lexrecon.warehouse import publish

    work = tmp_path_factory.mktemp("serving")
    build = baseline.copy_to(work / "build", raw=False, build=True) / "build.duckdb"
    return publish(build, work / "serving.duckdb")
