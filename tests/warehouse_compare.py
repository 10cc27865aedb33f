"""Comparing warehouses row for row, for the tests that prove one build equals another
(incremental vs full rebuild, `lexrecon refresh` vs ingest + build + publish, the leakage parts
vs their stored tables)."""
from __future__ import annotations

import duckdb

SCHEMAS = ("staging", "intermediate", "marts", "reference")


def warehouse_objects(con: duckdb.DuckDBPyConnection, db: str) -> set[tuple[str, str]]:
    """(schema, name) of the tables and views (int_time_entries_unioned and int_leakage_events
    are views) of the warehouse schemas of the attached database ``db``."""
    return {(s, t) for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? and table_schema in (select unnest(?))",
        [db, list(SCHEMAS)]).fetchall()}


def rows_differ(con: duckdb.DuckDBPyConnection, a: str, b: str, columns: str = "*") -> int:
    """Rows of ``a`` not in ``b`` plus rows of ``b`` not in ``a`` (EXCEPT ALL both ways), on
    ``columns``; ``a``/``b`` are relations or parenthesised queries."""
    return sum(con.execute(f"select count(*) from (select {columns} from {x} except all "
                           f"select {columns} from {y})").fetchone()[0]
               for x, y in ((a, b), (b, a)))


def objects_differ(con: duckdb.DuckDBPyConnection, a_db: str, b_db: str,
                   objects: set[tuple[str, str]]) -> list[str]:
    """'<schema>.<name>: <n> rows differ' for each of ``objects`` whose rows differ between
    the attached databases ``a_db`` and ``b_db``."""
    differ = []
    for schema, name in sorted(objects):
        n = rows_differ(con, f'{a_db}."{schema}"."{name}"', f'{b_db}."{schema}"."{name}"')
        if n:
            differ.append(f"{schema}.{name}: {n} rows differ")
    return differ
