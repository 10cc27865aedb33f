"""`lexrecon refresh`: the nightly job (ingest, build, publish in one process), its background
parse of the dbt project, and publish freeing the old serving file after the new one is served.

Real parts only: the tiny demo firm served by the emulators (child processes) and loaded by dlt,
dbt in-process, DuckDB files. The reference for "equal" is the shared tiny pipeline
(tests/conftest.py: `lexrecon ingest`, then ``build`` and ``publish`` as separate steps).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from lexrecon import warehouse
from lexrecon.cli import main
from tests.warehouse_compare import rows_differ

# columns that differ between two loads of the same data: dlt's load ids and random row ids,
# and the load time
LOAD_SPECIFIC = {"dlt_id", "dlt_load_id", "_dlt_id", "_dlt_load_id", "load_id", "loaded_at"}
SIDE_FILES = (".run_results.json", ".build.json", ".state.json")


def _copy_db(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    for suffix in SIDE_FILES:
        side = src.with_name(src.name + suffix)
        if side.is_file():
            shutil.copyfile(side, dst.with_name(dst.name + suffix))
    return dst


def _differences(a: Path, b: Path) -> list[str]:
    """Tables and views of the two warehouses that differ (rows compared with EXCEPT ALL both
    ways, on every column but the load-specific ones)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")

        def relations(db: str) -> dict[tuple[str, str], list[str]]:
            found: dict[tuple[str, str], list[str]] = {}
            for schema, table, column in con.execute(
                    "select table_schema, table_name, column_name from information_schema.columns "
                    "where table_catalog = ? order by table_schema, table_name, ordinal_position",
                    [db]).fetchall():
                found.setdefault((schema, table), []).append(column)
            return found

        left, right = relations("a"), relations("b")
        differ = [f"only in one: {key}" for key in sorted(set(left) ^ set(right))]
        for key in sorted(set(left) & set(right)):
            if left[key] != right[key]:
                differ.append(f"columns of {key}")
                continue
            cols = ", ".join(f'"{c}"' for c in left[key] if c not in LOAD_SPECIFIC)
            schema, table = key
            n = rows_differ(con, f'a."{schema}"."{table}"', f'b."{schema}"."{table}"', cols)
            if n:
                differ.append(f"{key}: {n} rows differ")
        return differ
    finally:
        con.close()


def _env(home: Path, firm: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "LEXRECON_HOME": str(home), "LEXRECON_FIRM": str(firm),
            "RUNTIME__DLTHUB_TELEMETRY": "false", **more}


def test_refresh_from_a_fresh_firm_equals_ingest_build_publish(tiny_pipeline, tmp_path):
    """One `lexrecon refresh` process from nothing (no raw, build or serving file) loads every
    source, builds in full with the project parsed while it ingested, publishes, and exits 0;
    its serving file holds what the separate `ingest`, `build`, `publish` give."""
    if not tiny_pipeline.published:
        pytest.fail("the tiny pipeline's build is not green")
    home = tmp_path / "home"
    proc = subprocess.run([sys.executable, "-m", "lexrecon", "refresh"],
                          env=_env(home, tiny_pipeline.firm), capture_output=True, text=True,
                          timeout=1800, check=False)
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "5 of 5 sources loaded" in out and "build green" in out and "(full" in out
    assert "dbt parse: background" in out  # the build took the parse made while ingesting
    serving = home / "serving.duckdb"
    assert f"published {serving}" in out and "refresh done" in out
    assert not (home / "build.duckdb").exists()  # moved, not copied
    assert warehouse.trash_files(serving) == []  # the process waited for the old file's delete
    info = json.loads(warehouse.build_info_path(serving).read_text())
    assert info["success"] and info["mode"] == "full"
    assert warehouse.state_path(serving).is_file()  # the next refresh can be incremental
    assert _differences(serving, tiny_pipeline.serving_db) == []


def test_a_failing_ingest_stops_the_refresh_and_leaves_the_serving_file(
        tiny_pipeline, tmp_path, monkeypatch, capsys):
    """Clio unreachable: the refresh says the ingest step failed, which source and why, exits
    1, builds nothing and leaves the published file as it was (sales still loads)."""
    serving = _copy_db(tiny_pipeline.serving_db, tmp_path / "serving.duckdb")
    before = serving.read_bytes()
    firm = tiny_pipeline.firm
    monkeypatch.setenv("LEXRECON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SOURCES__SALES__CREDENTIALS", f"sqlite:///{firm / 'sales' / 'sales.sqlite'}")
    monkeypatch.setenv("SOURCES__CLIO__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SOURCES__CLIO__CLIENT_ID", "someone")
    monkeypatch.setenv("SOURCES__CLIO__CLIENT_SECRET", "do-not-print-me")
    build_db = tmp_path / "build.duckdb"
    code = main(["refresh", "-s", "clio", "-s", "sales", "--firm", str(firm),
                 "--raw-db", str(tmp_path / "raw.duckdb"), "--build-db", str(build_db),
                 "--serving-db", str(serving)])
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert code == 1
    assert "refresh FAILED at step ingest" in text
    assert "clio: cannot reach http://127.0.0.1:9/oauth/token" in text
    assert "1 of 2 sources loaded" in text and "do-not-print-me" not in text
    assert "build green" not in text and f"published {serving}" not in text
    assert "Nothing was built or published" in text
    assert not build_db.exists() and not warehouse.run_results_path(build_db).exists()
    assert serving.read_bytes() == before
    assert warehouse.trash_files(serving) == []
    for key in ("LEXRECON_RAW_DB", "LEXRECON_BUILD_DB"):  # the background parse's, restored
        assert key not in os.environ


def test_a_failing_build_is_not_published(tiny_pipeline, tmp_path, monkeypatch, capsys):
    """The build fails (DuckDB refuses the configured memory limit): the refresh names the
    build step, exits 1 and the serving file is unchanged."""
    serving = _copy_db(tiny_pipeline.serving_db, tmp_path / "serving.duckdb")
    before = serving.read_bytes()
    firm = tiny_pipeline.firm
    monkeypatch.setenv("LEXRECON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEXRECON_FIRM", str(firm))
    monkeypatch.setenv("SOURCES__SALES__CREDENTIALS", f"sqlite:///{firm / 'sales' / 'sales.sqlite'}")
    monkeypatch.setenv("LEXRECON_DUCKDB_MEMORY_LIMIT", "not-a-size")
    code = main(["refresh", "-s", "sales", "--raw-db", str(tmp_path / "raw.duckdb"),
                 "--build-db", str(tmp_path / "build.duckdb"), "--serving-db", str(serving)])
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert code == 1, text[-2000:]
    assert "1 of 1 sources loaded" in text and "build FAILED" in text
    assert "refresh FAILED at step build" in text and f"published {serving}" not in text
    assert "Nothing was published" in text
    assert serving.read_bytes() == before
    assert warehouse.trash_files(serving) == []


def _comparable(manifest) -> dict:
    """dbt's parsed project as JSON, without what differs between any two parses (when and by
    which invocation)."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in (
                "created_at", "generated_at", "invocation_id", "invocation_started_at")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(manifest.writable_manifest().to_dict())


def test_the_background_parse_equals_a_foreground_parse(tiny_pipeline, tmp_path):
    build_db = tmp_path / "build.duckdb"
    parse = warehouse.start_parse(tiny_pipeline.raw_db, build_db)
    for key, value in parse.env.items():  # the build's profile paths, set while it runs
        assert os.environ[key] == value
    manifest, why = parse.take(tiny_pipeline.raw_db, build_db)
    assert why == "" and manifest is not None
    assert "LEXRECON_BUILD_DB" not in os.environ  # restored
    again = warehouse.parse_project(tiny_pipeline.raw_db, build_db)
    assert again.success
    assert _comparable(manifest) == _comparable(again.result)
    assert len(manifest.nodes) > 100
    assert parse.take(tiny_pipeline.raw_db, build_db) == (None, "the background parse was already used")


def test_a_stale_or_foreign_background_parse_is_not_used(tiny_pipeline, tmp_path, monkeypatch):
    """What dbt parse reads changed after the background parse (here an environment variable
    the profile renders), or the parse was made for another build: the build parses again."""
    build_db = tmp_path / "build.duckdb"
    parse = warehouse.start_parse(tiny_pipeline.raw_db, build_db)
    parse.close()
    monkeypatch.setenv("LEXRECON_DBT_THREADS", "1")
    manifest, why = parse.take(tiny_pipeline.raw_db, build_db)
    assert manifest is None and "changed after the background parse" in why

    other = warehouse.start_parse(tiny_pipeline.raw_db, build_db, extra_args=["--vars", "{x: 1}"])
    manifest, why = other.take(tiny_pipeline.raw_db, build_db)
    assert manifest is None and why == "the background parse was made for another build"

    # a build handed a stale parse parses itself (and here fails fast on a bad memory limit:
    # the environment it parsed and ran with is the current one)
    stale = warehouse.start_parse(tiny_pipeline.raw_db, build_db)
    stale.close()
    monkeypatch.setenv("LEXRECON_DUCKDB_MEMORY_LIMIT", "not-a-size")
    result = warehouse.build(tiny_pipeline.raw_db, build_db, parsed=stale)
    assert result.parse == ("foreground: the project or its environment changed after the "
                            "background parse")
    assert "dbt parse" in result.steps and not result.success


def test_publish_frees_the_old_serving_file_after_and_leaves_nothing_behind(
        tiny_pipeline, tmp_path):
    """The old serving file is set aside (a second name) and deleted in a thread once the new
    one is served; a reader holding it keeps reading it; a set-aside file a killed publish
    left behind is deleted by the next publish."""
    serving = _copy_db(tiny_pipeline.serving_db, tmp_path / "serving.duckdb")
    old_inode = serving.stat().st_ino
    leftover = serving.with_name(f".{serving.name}.999999.1.trash")
    os.link(serving, leftover)  # what a publish killed after setting the old file aside leaves
    assert warehouse.trash_files(serving) == [leftover]
    reader = duckdb.connect(str(serving), read_only=True)
    try:
        count = reader.execute("select count(*) from marts.fct_invoices").fetchall()
        build_db = _copy_db(tiny_pipeline.build_db, tmp_path / "build.duckdb")
        new_inode = build_db.stat().st_ino
        assert warehouse.publish(build_db, serving) == serving.resolve()
        warehouse.wait_freed()
        assert warehouse.trash_files(serving) == []
        assert serving.stat().st_ino == new_inode and new_inode != old_inode
        assert not build_db.exists()
        # the reader still has the old file, though no name points to it any more
        assert reader.execute("select count(*) from marts.fct_invoices").fetchall() == count
    finally:
        reader.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
