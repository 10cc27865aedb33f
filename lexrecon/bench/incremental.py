"""Which dbt models a data-only daily run must rebuild: now part of `lexrecon build` itself.

The selection moved to `lexrecon.warehouse` so the daily production run gets it: a build with no
selection starts from the previous green build file and runs `source:<source>.<table>+` for every
raw table whose newest `_dlt_load_id` changed (see `lexrecon.warehouse.build` and
docs/warehouse.md). This module keeps the bench-facing names as thin wrappers.
"""
from __future__ import annotations

import json
from pathlib import Path

from lexrecon.warehouse import (
    changed_sources,
    dbt_sources,
    manifest_path,
    raw_load_marks,
    state_path,
)

__all__ = ["changed_selection", "dbt_sources", "manifest_path", "marks_path", "raw_load_marks"]


def marks_path(build_db: Path) -> Path:
    """Where the raw tables' load marks of a build are kept (inside the build's state file)."""
    return state_path(build_db)


def changed_selection(raw_db: Path, build_db: Path) -> list[str]:
    """dbt selectors (`source:x.y+`) of every raw table changed since the build's state."""
    return changed_sources(Path(raw_db), json.loads(state_path(build_db).read_text()))
