"""Which dbt models a data-only daily run must rebuild: those downstream of changed raw tables.

dbt models are functions of their inputs: when a build starts from the previous build file
(`lexrecon.warehouse.build(..., select=...)` copies it first), every model whose upstream raw
tables did not change since that build already holds what a full rebuild would give. So the
daily run selects `source:<source>.<table>+` for each raw table (a dbt source) whose newest
`_dlt_load_id` differs from the one recorded when the previous build was made (new tables and
tables without a load id count as changed), and the dbt build runs those models and every test
on them. The incremental staging models then take only the new raw rows.

Not covered (use a full build): a change of dbt code, seeds, vars or the OCG rules files (the
`int_ocg_findings_evaluated` input outside the raw file). `tests/bench` proves that the result
equals a full rebuild for the daily run.
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb


def marks_path(build_db: Path) -> Path:
    """Where the raw tables' load marks of a build are kept, beside the build file."""
    return build_db.with_name(build_db.name + ".raw_marks.json")


def dbt_sources(manifest: Path) -> dict[tuple[str, str], str]:
    """(raw schema, table) -> dbt selector `source:<source>.<table>` from dbt's manifest."""
    doc = json.loads(manifest.read_text())
    return {(s["schema"], s.get("identifier") or s["name"]): f"source:{s['source_name']}.{s['name']}"
            for s in doc.get("sources", {}).values()}


def raw_marks(raw_db: Path, tables: list[tuple[str, str]]) -> dict[str, str | None]:
    """'schema.table' -> newest _dlt_load_id (None: no load id column; absent: no table)."""
    marks: dict[str, str | None] = {}
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        cols = {(s, t): set() for s, t in tables}
        for s, t, c in con.execute("select schema_name, table_name, column_name "
                                   "from duckdb_columns()").fetchall():
            if (s, t) in cols:
                cols[(s, t)].add(c)
        for (s, t), names in cols.items():
            if not names:
                continue  # not in raw (yet)
            marks[f"{s}.{t}"] = (con.execute(f'select max(_dlt_load_id) from "{s}"."{t}"')
                                 .fetchone()[0] if "_dlt_load_id" in names else None)
    finally:
        con.close()
    return marks


def record_marks(raw_db: Path, build_db: Path, manifest: Path) -> dict[str, str | None]:
    """Write the raw load marks the build at ``build_db`` was made from."""
    marks = raw_marks(raw_db, list(dbt_sources(manifest)))
    marks_path(build_db).write_text(json.dumps(marks, indent=1, sort_keys=True) + "\n")
    return marks


def changed_selection(raw_db: Path, build_db: Path, manifest: Path) -> list[str]:
    """dbt selectors (`source:x.y+`) of every raw table changed since the build's marks."""
    sources = dbt_sources(manifest)
    before = json.loads(marks_path(build_db).read_text())
    now = raw_marks(raw_db, list(sources))
    changed = [key for key, mark in now.items()
               if mark is None or key not in before or before[key] != mark]
    gone = [key for key in before if key not in now]
    return sorted(f"{sources[tuple(k.split('.', 1))]}+" for k in changed + gone
                  if tuple(k.split(".", 1)) in sources)
