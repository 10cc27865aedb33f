"""Fixtures shared by every test folder.

``tiny_pipeline``: the tiny demo firm taken down the real path once per test run — generated,
served by the emulators and loaded by `lexrecon ingest` (dlt) into raw.duckdb, built by
``lexrecon.warehouse.build`` (dbt in-process) and published. Under pytest-xdist the workers share
one build through a file lock, so the suite pays for it once. Tests must not change these files:
copy them (``copy_serving``) when a test needs to.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@dataclass(frozen=True)
class TinyPipeline:
    firm: Path
    raw_db: Path
    build_db: Path
    serving_db: Path  # exists only when the build was green and so published
    result: Any  # lexrecon.warehouse.BuildResult

    @property
    def published(self) -> bool:
        return self.serving_db.is_file()


def _build(home: Path) -> None:
    from ingestion.demo_firm.generator import generate
    from lexrecon import warehouse
    from lexrecon.cli import main

    firm = home / "firm"
    generate("tiny", 42, firm)
    mp = pytest.MonkeyPatch()
    mp.setenv("LEXRECON_HOME", str(home / "home"))
    mp.setenv("LEXRECON_FIRM", str(firm))  # the OCG mart applies the firm's rules files
    try:
        code = main(["ingest", "--firm", str(firm), "--raw-db", str(home / "raw.duckdb")])
        if code != 0:
            raise RuntimeError(f"lexrecon ingest exited {code} on the tiny firm")
        result = warehouse.build(home / "raw.duckdb", home / "build.duckdb")
        if result.success:
            # copied, not moved: the tests read the build file as well as the published one
            warehouse.publish(home / "build.duckdb", home / "serving.duckdb", keep_build=True)
    finally:
        mp.undo()
    (home / "result.json").write_text(json.dumps({
        "success": result.success, "statuses": result.statuses, "failures": result.failures,
        "elapsed_seconds": result.elapsed_seconds, "error": result.error}))


def _load(home: Path) -> TinyPipeline:
    from lexrecon.warehouse import BuildResult, run_results_path

    state = json.loads((home / "result.json").read_text())
    build_db = home / "build.duckdb"
    results_file = run_results_path(build_db)
    result = BuildResult(
        success=state["success"], build_db=build_db, run_results_path=results_file,
        run_results=json.loads(results_file.read_text()) if results_file.is_file() else {},
        elapsed_seconds=state["elapsed_seconds"], statuses=state["statuses"],
        failures=state["failures"], error=state["error"])
    return TinyPipeline(home / "firm", home / "raw.duckdb", build_db, home / "serving.duckdb",
                        result)


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory: pytest.TempPathFactory) -> TinyPipeline:
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    home = root / "tiny-pipeline"
    with open(root / "tiny-pipeline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (home / "result.json").is_file():
                if home.exists():
                    shutil.rmtree(home)
                home.mkdir()
                _build(home)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _load(home)


@pytest.fixture
def serving_copy(tiny_pipeline: TinyPipeline, tmp_path: Path) -> Path:
    """A private copy of the published warehouse, with its sidecar files, that a test may change."""
    target = tmp_path / "serving.duckdb"
    shutil.copyfile(tiny_pipeline.serving_db, target)
    for suffix in (".run_results.json", ".build.json"):
        side = tiny_pipeline.serving_db.with_name(tiny_pipeline.serving_db.name + suffix)
        if side.is_file():
            shutil.copyfile(side, target.with_name(target.name + suffix))
    return target
