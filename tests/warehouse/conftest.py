"""The tiny demo firm's warehouse, built once per session in a tmp dir.

The firm is generated, served by the source emulators, ingested with the real dlt pipeline into
raw.duckdb and built with ``lexrecon.warehouse.build`` (dbt in-process). If the build is not
green, the models are run once more without tests (``dbt run``) so the mart assertions below can
still check the numbers; ``test_build_is_green`` reports the failing dbt nodes.
"""
from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@dataclass
class TinyWarehouse:
    firm: Path
    raw_db: Path
    build_db: Path
    result: Any  # lexrecon.warehouse.BuildResult

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.build_db), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def raw(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.raw_db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def _ingest(firm: Path, raw_db: Path, pipelines: Path) -> None:
    from ingestion.emulators import start_all
    from ingestion.pipeline import SOURCES, run_source

    with start_all(firm, unthrottled=True, use_env=False) as emulators:
        for name in SOURCES:
            endpoint = None
            if name in emulators.servers:
                info = emulators.servers[name].info()
                endpoint = {k: info[k] for k in ("base_url", "client_id", "client_secret")}
                if "company_id" in info:
                    endpoint["company_id"] = info["company_id"]
            run_source(name, firm, raw_db, pipelines_dir=pipelines, endpoint=endpoint)


def _run_models_only(raw_db: Path, build_db: Path) -> None:
    from dbt.cli.main import dbtRunner

    from lexrecon.config import DBT_PROJECT_DIR
    from lexrecon.warehouse import _close_duckdb_environment, _environ

    target = build_db.parent / "dbt-run-target"
    with _environ(LEXRECON_RAW_DB=str(raw_db), LEXRECON_BUILD_DB=str(build_db)):
        try:
            dbtRunner().invoke(["seed", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path",
                                str(target), "--quiet"])
            dbtRunner().invoke(["run", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path",
                                str(target), "--quiet"])
        finally:
            _close_duckdb_environment()


def _build_tiny(home: Path) -> tuple[Path, Path, Path, Any]:
    from ingestion.demo_firm.generator import generate
    from lexrecon.warehouse import build

    firm = home / "firm"
    generate("tiny", 42, firm)
    raw_db = home / "raw.duckdb"
    _ingest(firm, raw_db, home / "dlt")
    build_db = home / "build.duckdb"
    saved = os.environ.get("LEXRECON_FIRM")
    os.environ["LEXRECON_FIRM"] = str(firm)  # the OCG mart reads the firm's rules files
    try:
        result = build(raw_db, build_db)
        if not result.success:
            _run_models_only(raw_db, build_db)
    finally:
        if saved is None:
            os.environ.pop("LEXRECON_FIRM", None)
        else:
            os.environ["LEXRECON_FIRM"] = saved
    (home / "result.json").write_text(json.dumps({
        "success": result.success, "statuses": result.statuses, "failures": result.failures,
        "elapsed_seconds": result.elapsed_seconds, "error": result.error}))
    return firm, raw_db, build_db, result


def _reuse(home: Path) -> tuple[Path, Path, Path, Any]:
    from lexrecon.warehouse import BuildResult, run_results_path

    state = json.loads((home / "result.json").read_text())
    build_db = home / "build.duckdb"
    result = BuildResult(
        success=state["success"], build_db=build_db, run_results_path=run_results_path(build_db),
        run_results=json.loads(run_results_path(build_db).read_text()),
        elapsed_seconds=state["elapsed_seconds"], statuses=state["statuses"],
        failures=state["failures"], error=state["error"])
    return home / "firm", home / "raw.duckdb", build_db, result


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyWarehouse]:
    """Built once per session; under pytest-xdist the workers share one build (file lock)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        firm, raw_db, build_db, result = _build_tiny(tmp_path_factory.mktemp("warehouse"))
    else:
        shared = tmp_path_factory.getbasetemp().parent / "tiny-warehouse"
        shared.mkdir(exist_ok=True)
        with open(shared.parent / "tiny-warehouse.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if (shared / "result.json").is_file():
                    firm, raw_db, build_db, result = _reuse(shared)
                else:
                    firm, raw_db, build_db, result = _build_tiny(shared)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    yield TinyWarehouse(firm=firm, raw_db=raw_db, build_db=build_db, result=result)
