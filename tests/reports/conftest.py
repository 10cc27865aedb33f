"""Fixtures for the report tests: one real tiny warehouse per session (see tiny_warehouse)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import reports_tiny_warehouse as tiny_warehouse  # this folder is on sys.path


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tiny_warehouse.TinyWarehouse:
    return tiny_warehouse.build(tmp_path_factory.mktemp("tiny_warehouse"))


@pytest.fixture(scope="session")
def serving_db(tiny: tiny_warehouse.TinyWarehouse) -> Path:
    return tiny.serving_db


@pytest.fixture
def serving_copy(tiny: tiny_warehouse.TinyWarehouse, tmp_path: Path) -> Path:
    """A private copy of the published warehouse (with its sidecar files) a test may change."""
    target = tmp_path / "serving.duckdb"
    shutil.copyfile(tiny.serving_db, target)
    for suffix in (".run_results.json", ".build.json"):
        side = tiny.serving_db.with_name(tiny.serving_db.name + suffix)
        if side.is_file():
            shutil.copyfile(side, target.with_name(target.name + suffix))
    return target
