"""Where lexrecon keeps its files, and how to override it.

Every path comes from one place. ``LEXRECON_HOME`` (default ``./var`` under the current
directory) holds the demo firm, the raw and warehouse DuckDB files and logs; each path can
be overridden on its own with the environment variable named beside it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def firm(self) -> Path:  # LEXRECON_FIRM: the demo firm's generated files
        return Path(os.environ.get("LEXRECON_FIRM", self.home / "firm"))

    @property
    def raw_db(self) -> Path:  # LEXRECON_RAW_DB: written by dlt only
        return Path(os.environ.get("LEXRECON_RAW_DB", self.home / "raw.duckdb"))

    @property
    def build_db(self) -> Path:  # LEXRECON_BUILD_DB: written by dbt only
        return Path(os.environ.get("LEXRECON_BUILD_DB", self.home / "build.duckdb"))

    @property
    def serving_db(self) -> Path:  # LEXRECON_SERVING_DB: published, read-only for readers
        return Path(os.environ.get("LEXRECON_SERVING_DB", self.home / "serving.duckdb"))

    @property
    def pipelines_dir(self) -> Path:  # dlt's working state
        return Path(os.environ.get("LEXRECON_PIPELINES_DIR", self.home / "dlt_pipelines"))

    @property
    def logs(self) -> Path:
        return Path(os.environ.get("LEXRECON_LOGS", self.home / "logs"))


def paths() -> Paths:
    """The paths in force now (read from the environment on every call)."""
    return Paths(home=Path(os.environ.get("LEXRECON_HOME", Path.cwd() / "var")).resolve())


DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
