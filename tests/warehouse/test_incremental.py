"""`lexrecon build` is incremental when it can be, and an incremental build equals a full rebuild.

The tiny firm's raw file is copied, built in full, then changed the way a daily run changes it:
one more business day of time entries, plus an edit of an already *billed* Clio time entry (new
narrative and task code: the invoice line that bills it must follow), loaded by the real dlt
sources. The next build starts from the previous file (mode ``incremental``), the time-entry and
invoice-line models take only the changed rows, and every table and view equals a full rebuild
from the same raw file. Before that, a day of new entries alone rebuilds nothing that depends on
the (unchanged) invoice lines only.
"""
from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from lexrecon.warehouse import (
    NothingToPublish,
    build,
    build_info_path,
    fingerprint,
    publish,
    run_results_path,
    state_path,
)
from tests.warehouse_compare import objects_differ, warehouse_objects


def _update_activity(firm: Path, acts: pl.DataFrame, target_id: int, minutes: int,
                     **values) -> None:
    """Set ``values`` on Clio activity ``target_id``, updated ``minutes`` after every other
    record (the source's updated_since cursor fetches it again)."""
    path = firm / "clio" / "activities.parquet"
    stamp = acts["updated_at"].max() + timedelta(minutes=minutes)
    edited = acts.with_columns(
        *(pl.when(pl.col("id") == target_id).then(pl.lit(value)).otherwise(pl.col(column))
          .alias(column) for column, value in {**values, "updated_at": stamp}.items()))
    tmp = path.with_name(path.name + ".tmp")
    edited.write_parquet(tmp)
    tmp.replace(path)


def _edit_a_billed_entry(firm: Path) -> int:
    """Give one billed Clio time entry a new narrative and task code; returns its id."""
    acts = pl.read_parquet(firm / "clio" / "activities.parquet")
    billed = acts.filter((pl.col("type") == "TimeEntry") & pl.col("bill__id").is_not_null()
                         & pl.col("utbms_task__code").is_not_null()).sort("id")
    target = billed.row(0, named=True)
    other = (billed.filter(pl.col("utbms_task__code") != target["utbms_task__code"])
             ["utbms_task__code"][0])
    _update_activity(firm, acts, target["id"], 5, utbms_task__code=other,
                     note="Edited after billing: revised narrative")
    return int(target["id"])


def _write_off_an_unbilled_entry(firm: Path) -> int:
    """Write off one unbilled Clio time entry (WIP written off); returns its id."""
    acts = pl.read_parquet(firm / "clio" / "activities.parquet")
    target = acts.filter((pl.col("type") == "TimeEntry") & (pl.col("status") == "unbilled")
                         & pl.col("bill__id").is_null()).sort("id").row(0, named=True)
    _update_activity(firm, acts, target["id"], 6, status="written_off")
    return int(target["id"])


def test_incremental_build_takes_only_the_changes_and_equals_a_full_rebuild(
        daily_firm, tmp_path):
    from ingestion.demo_firm.extra_day import append_day
    from ingestion.pipeline import run_source

    firm, raw_db, build_db, pipes = (daily_firm.firm, daily_firm.raw_db, daily_firm.build_db,
                                     daily_firm.pipes)

    serving = tmp_path / "serving.duckdb"
    first = build(raw_db, build_db, serving_db=serving)
    assert first.success, first.failures[:5]
    assert first.mode == "full" and "no previous build" in first.reason
    state = json.loads(state_path(build_db).read_text())
    assert state["fingerprint"] == fingerprint(raw_db)
    full_results = len(json.loads(run_results_path(build_db).read_text())["results"])
    built = json.loads(build_info_path(build_db).read_text())

    # publish moves the build file, with its side files, over the serving file
    publish(build_db, serving)
    assert not build_db.exists() and not state_path(build_db).exists()
    assert json.loads(state_path(serving).read_text())["sha256"] == built["sha256"]
    assert json.loads(build_info_path(serving).read_text())["published_at"]
    with pytest.raises(NothingToPublish, match="already holds the last build"):
        publish(build_db, serving)

    # nothing loaded since: the published green build stands, dbt does not run
    same = build(raw_db, build_db, serving_db=serving)
    assert same.success and same.mode == "up to date" and not same.statuses
    assert same.build_db == serving.resolve() and not build_db.exists()

    # a build killed half way leaves a build file without state: the next build starts from
    # the published one rather than from nothing
    build_db.write_bytes(b"half-written by a killed build")

    # a day of new (unbilled) entries only: the delta chain runs first; no invoice line
    # changed, so nothing downstream only of the invoice lines is rebuilt (the AR, variance
    # and collections models); equality with a full rebuild after such a day is
    # tests/bench/test_bench_tiny.py's
    first_day = append_day(firm)
    for name in ("clio", "actionstep"):
        run_source(name, firm, raw_db, pipelines_dir=pipes, unthrottled=True)
    quiet = build(raw_db, build_db, serving_db=serving)
    assert quiet.success and quiet.mode == "incremental", (quiet.reason, quiet.failures[:5])
    assert len(json.loads(run_results_path(build_db).read_text())["results"]) == full_results
    assert {"fct_time_entries", "fct_invoice_lines"} <= set(quiet.plan["first"])
    assert quiet.plan["delta_rows"]["fct_time_entries"] >= first_day["clio"]
    assert quiet.plan["delta_rows"]["fct_invoice_lines"] == 0
    assert "fct_invoice_lines" in quiet.plan["unchanged"]
    ran = {r["unique_id"].split(".")[-1] for r in quiet.run_results["results"]
           if r["unique_id"].startswith("model.")}
    assert "fct_time_entries" in ran and "srv_prebill_ocg_exceptions" in ran
    assert not ran & {"fct_invoices", "srv_collections_worklist", "fct_invoice_sales_variance",
                      "srv_invoice_line_totals"}, ran
    # models that read only the written-off or the billed entries (delta_read,
    # macros/delta_reads.sql): none of the day's entries is one, so they stand
    assert quiet.plan["delta_rows"]["int_time_entries_valued|int_write_offs_unioned"] == 0
    assert quiet.plan["delta_rows"]["int_time_entries_valued|int_realization_by_invoice"] == 0
    assert quiet.plan["delta_rows"]["int_time_entries_valued|int_leakage_billing_events"] == 0
    # the delta filters carry the day's id range for DuckDB's zone maps (delta_key_range),
    # pushed through the int_time_entries_unioned view onto the staging id columns
    compiled = {r["unique_id"].split(".")[-1]: r.get("compiled_code") or ""
                for r in quiet.run_results["results"]}
    assert "source_entry_id between '" in compiled["int_time_entries_valued"]
    assert "time_entry_key between 'clio:" in compiled["fct_time_entries"]
    assert not ran & {"int_write_offs_unioned", "fct_write_offs", "int_realization_by_invoice",
                      "fct_realization_monthly", "int_leakage_billing_events"}, ran
    assert {"int_leakage_time_events", "int_leakage_events", "fct_revenue_leakage"} <= ran, ran
    with duckdb.connect(str(build_db), read_only=True) as con:  # the delta log is gone
        assert not con.execute("select count(*) from duckdb_tables() where schema_name = "
                               "'_lexrecon_delta'").fetchone()[0]

    # the daily run: one more day of entries and an edited billed entry, loaded by dlt
    day = append_day(firm)
    edited_id = _edit_a_billed_entry(firm)
    written_off_id = _write_off_an_unbilled_entry(firm)
    received = {name: run_source(name, firm, raw_db, pipelines_dir=pipes,
                                 unthrottled=True).received
                for name in ("clio", "actionstep")}
    assert received["clio"] == day["clio"] + 2, received  # the new day and the edits only

    inc = build(raw_db, build_db, serving_db=serving)  # from the (unpublished) build file
    assert inc.success, inc.failures[:5]
    assert inc.mode == "incremental", inc.reason
    assert {"source:clio.activities+", "source:actionstep.timeentries+"} <= set(inc.select)
    ran = {r["unique_id"].split(".")[-1] for r in inc.run_results["results"]
           if r["unique_id"].startswith("model.")}
    assert "fct_time_entries" in ran and "fct_invoices" in ran
    # the edited billed entry and the written-off one are rows those models read
    assert {"int_write_offs_unioned", "int_realization_by_invoice",
            "int_leakage_billing_events"} <= ran, ran
    assert inc.plan["delta_rows"]["fct_invoice_lines"] > 0  # the edited entry's line
    assert "stg_sales__revenue_bookings" not in ran and "fct_ar_aging" not in ran
    # the kept run results still cover every node of the file (the rest carried over), so
    # publish and the evidence pack see the whole build
    kept = json.loads(run_results_path(build_db).read_text())
    assert len(kept["results"]) == full_results
    assert kept["lexrecon"]["carried_over_from_previous_build"] > 0
    publish(build_db, serving)
    assert not build_db.exists()

    rebuilt = tmp_path / "full.duckdb"
    full = build(raw_db, rebuilt, full_refresh=True)
    assert full.success and full.mode == "full"
    con = duckdb.connect()
    try:
        con.execute("attach ? as inc (read_only)", [str(serving)])
        con.execute("attach ? as rebuilt (read_only)", [str(rebuilt)])
        objects = warehouse_objects(con, "rebuilt")
        assert objects == warehouse_objects(con, "inc")
        assert {("intermediate", "int_time_entries_unioned"),
                ("marts", "fct_time_entries")} <= objects
        differ = objects_differ(con, "inc", "rebuilt", objects)
        assert not differ, differ
        key = f"clio:{edited_id}"
        narrative, task = con.execute(
            "select narrative, task_code from inc.marts.fct_time_entries "
            "where time_entry_key = ?", [key]).fetchall()[0]
        assert narrative == "Edited after billing: revised narrative"
        assert con.execute("select task_code from inc.marts.fct_invoice_lines "
                           "where time_entry_key = ?", [key]).fetchall() == [(task,)]
        assert con.execute("select count(*) from inc.marts.fct_time_entries "
                           "where entry_date = ?", [day["date"]]).fetchall()[0][0] > 0
        assert con.execute("select count(*) from inc.marts.fct_write_offs "
                           "where write_off_key = ?",
                           [f"wip_written_off:clio:{written_off_id}"]).fetchall() == [(1,)]
    finally:
        con.close()


def test_a_changed_project_or_file_forces_a_full_build(tiny, tmp_path, monkeypatch):
    """The incremental state is refused when anything besides raw changed: dbt vars (any
    project or rules change changes the same fingerprint) or the build file itself."""
    monkeypatch.setenv("LEXRECON_FIRM", str(tiny.firm))
    raw_db = tiny.raw_db
    assert fingerprint(raw_db) != fingerprint(raw_db, ["--vars", "{ar_as_of_date: 2026-09-15}"])
    assert fingerprint(raw_db) != fingerprint(tmp_path / "other-raw.duckdb")
    rules = tmp_path / "rules"
    rules.mkdir()
    with_rules = fingerprint(raw_db, ["--vars", f"{{ocg_rules_dir: '{rules}'}}"])
    (rules / "client.yml").write_text("client_id: X\n")
    assert fingerprint(raw_db, ["--vars", f"{{ocg_rules_dir: '{rules}'}}"]) != with_rules

    from lexrecon.warehouse import _previous_state

    build_db = tmp_path / "build.duckdb"
    for suffix in ("", ".build.json", ".state.json"):
        shutil.copyfile(tiny.build_db.with_name(tiny.build_db.name + suffix),
                        build_db.with_name(build_db.name + suffix))
    state = json.loads(state_path(build_db).read_text())
    finger = state["fingerprint"]
    ok, why = _previous_state(build_db, Path(state["raw_db"]), finger)
    assert ok is not None, why
    assert _previous_state(build_db, Path(state["raw_db"]), "changed")[0] is None
    assert _previous_state(build_db, tmp_path / "x.duckdb", finger)[0] is None
    info = json.loads(build_db.with_name("build.duckdb.build.json").read_text())
    info["success"] = False
    build_db.with_name("build.duckdb.build.json").write_text(json.dumps(info))
    assert _previous_state(build_db, Path(state["raw_db"]), finger)[0] is None


@pytest.mark.parametrize("lines_changed", [False, True])
def test_the_second_runs_short_selection_is_the_planned_one(tiny, tmp_path, lines_changed):
    """dbt resolves the second run's short --select (models, and `<node>,resource_type:test`
    for changed sources and first-wave models) to exactly the planned models and tests, with
    and without changed invoice lines."""
    from dbt.cli.main import dbtRunner

    from lexrecon.config import DBT_PROJECT_DIR
    from lexrecon.warehouse import manifest_path, plan_waves

    doc = json.loads(manifest_path(tiny.build_db).read_text())
    waves = plan_waves(doc, ["raw_clio.activities", "raw_actionstep.timeentries",
                             "raw_clio.load_tally"])
    delta = {"int_time_entries_valued": 2, "fct_time_entries": 2,
             "int_invoice_lines_unioned": int(lines_changed), "fct_invoice_lines": int(lines_changed)}
    models, tests, unchanged = waves.second(delta)
    assert ("fct_invoice_lines" in unchanged) is not lines_changed
    short = waves.second_select(delta)
    assert len(short) < len(models) + len(tests)

    def listed(select: list[str]) -> set[str]:
        out = dbtRunner().invoke(
            ["ls", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
             "--quiet", "--output", "name", "--select", *select,
             "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")])
        assert out.success, out.exception
        return set(out.result)

    assert listed(short) == listed(models + tests)
