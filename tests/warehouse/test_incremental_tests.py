"""The data tests of an incremental build read only the rows it changed, where that is sound
(dbt_project/macros/delta_tests.sql; docs/warehouse.md, "Tests of an incremental build").

The tiny firm is built in full, then a business day is appended and loaded by the real dlt
sources, and the next build (incremental) runs the tests on the changed rows. Bad rows are planted
in raw among the new day's rows (what a faulty source could deliver): a duplicated activity and
an entry whose user is unknown (no timekeeper). The restricted tests still see them and the
build is not green. The compiled SQL in the run results shows which tests were restricted: a full
build's never are; a relationships test is restricted only while its parent table did not change.
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

from lexrecon.warehouse import build, state_path

from .test_incremental import _edit_a_billed_entry

SUBQUERY = "dbt_subquery"  # what get_where_subquery wraps a restricted model in
TIME_ENTRY_FILTER = "where (time_entry_key in ("  # a time-entry delta model's changed rows
ALL_ROW_TESTS = ("--vars", ("{delta_key_restricted_tests: [unique, not_null, accepted_values, "
                            "not_negative, expression_is_true, relationships]}"))


def _load_day(firm: Path, raw_db: Path, pipes: Path, edit: bool = False) -> dict:
    from ingestion.demo_firm.extra_day import append_day
    from ingestion.pipeline import run_source

    day = append_day(firm)
    if edit:
        day["edited"] = _edit_a_billed_entry(firm)
    for name in ("clio", "actionstep"):
        run_source(name, firm, raw_db, pipelines_dir=pipes, unthrottled=True)
    return day


def _new_clio_entry(con: duckdb.DuckDBPyConnection) -> int:
    """A Clio time entry of the newest load (the day just loaded)."""
    return con.execute(
        "select min(id) from raw_clio.activities where type = 'TimeEntry' and _dlt_load_id = "
        "(select max(_dlt_load_id) from raw_clio.activities)").fetchone()[0]


def _tests(result) -> dict[str, dict]:
    """This run's test results by test name (the generic tests' names without the hash)."""
    out = {}
    for r in result.run_results["results"]:
        kind, _, name = r["unique_id"].split(".")[:3]
        if kind == "test":
            out[name] = r
    return out


def _mark(build_db: Path, table: str) -> str:
    return json.loads(state_path(build_db).read_text())["marks"][table]


def test_daily_build_tests_the_new_rows_only_and_still_catches_a_duplicate(daily_firm):
    firm, raw_db, build_db, pipes = (daily_firm.firm, daily_firm.raw_db, daily_firm.build_db,
                                     daily_firm.pipes)
    full = build(raw_db, build_db)
    assert full.success and full.mode == "full", full.failures[:5]
    restricted = ("unique_stg_clio__activities_activity_id",
                  "unique_stg_actionstep__time_entries_time_entry_id",
                  "not_null_stg_clio__activities_activity_id",
                  "unique_int_time_entries_valued_time_entry_key",
                  "unique_fct_time_entries_time_entry_key")
    whole = ("row_count_matches_fct_time_entries_ref_int_time_entries_unioned_",
             "relationships_fct_time_entries_matter_number__matter_number__ref_dim_matters_",
             "expression_is_true_fct_time_entries_hours_billable_hours_worked")
    tests = _tests(full)
    for name in restricted + whole:  # a full build tests every row
        assert SUBQUERY not in tests[name]["compiled_code"], name

    def check_restricted(tests: dict[str, dict], clio_mark: str, actionstep_mark: str) -> None:
        for name in restricted:  # the rows loaded since the previous build only
            code = tests[name]["compiled_code"]
            assert code and SUBQUERY in code, name
            if name.startswith(("unique_stg_clio", "not_null_stg_clio")):
                assert f"where (dlt_load_id > '{clio_mark}')" in code, code
            elif name.startswith("unique_stg_actionstep"):
                assert f"where (dlt_load_id > '{actionstep_mark}')" in code, code
            else:
                assert TIME_ENTRY_FILTER in code and clio_mark in code and actionstep_mark in code
        for name in whole:  # row counts tie out on all rows; the others cost no more whole
            assert SUBQUERY not in tests[name]["compiled_code"], name

    marks = (_mark(build_db, "raw_clio.activities"), _mark(build_db, "raw_actionstep.timeentries"))
    _load_day(firm, raw_db, pipes)
    day = build(raw_db, build_db)
    assert day.success and day.mode == "incremental", (day.reason, day.failures[:5])
    tests = _tests(day)
    assert all(tests[name]["status"] == "pass" for name in restricted + whole)
    check_restricted(tests, *marks)

    marks = (_mark(build_db, "raw_clio.activities"), _mark(build_db, "raw_actionstep.timeentries"))
    _load_day(firm, raw_db, pipes)
    with duckdb.connect(str(raw_db)) as con:  # the source delivered one new entry twice
        dup = _new_clio_entry(con)
        con.execute("insert into raw_clio.activities select * replace (_dlt_id || '-again' as "
                    "_dlt_id) from raw_clio.activities where id = ?", [dup])
    bad = build(raw_db, build_db)
    assert bad.mode == "incremental", bad.reason
    assert not bad.success  # not green: publish refuses it
    tests = _tests(bad)
    caught = tests["unique_stg_clio__activities_activity_id"]
    assert caught["status"] == "fail" and caught["failures"] == 1
    assert f"where (dlt_load_id > '{marks[0]}')" in caught["compiled_code"]
    # the duplicate reached the facts; their key tests fail too or are skipped (dbt build
    # skips what is downstream of a failed test)
    for name in ("unique_int_time_entries_valued_time_entry_key",
                 "unique_fct_time_entries_time_entry_key"):
        assert tests[name]["status"] in ("fail", "skipped"), tests[name]["status"]
    with duckdb.connect(str(build_db), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_time_entries where time_entry_key = ?",
                           [f"clio:{dup}"]).fetchone()[0] == 2


def test_relationships_are_restricted_only_while_the_parent_is_unchanged(daily_firm):
    """With every sound test restricted on the delta models too (var
    delta_key_restricted_tests): a day whose edit of a billed entry rebuilds fct_invoices
    tests fct_time_entries' invoice numbers against all rows; a day of new entries only
    (fct_invoices as it was) tests the new rows. An entry without a timekeeper is stopped by
    the contract's not null (no data test needed)."""
    firm, raw_db, build_db, pipes = (daily_firm.firm, daily_firm.raw_db, daily_firm.build_db,
                                     daily_firm.pipes)
    args = list(ALL_ROW_TESTS)
    assert build(raw_db, build_db, extra_args=args).success
    to_invoices = "relationships_fct_time_entries_invoice_number__invoice_number__ref_fct_invoices_"
    to_matters = "relationships_fct_time_entries_matter_number__matter_number__ref_dim_matters_"
    lines_to_invoices = ("relationships_fct_invoice_lines_invoice_number__invoice_number__ref_"
                         "fct_invoices_")

    _load_day(firm, raw_db, pipes, edit=True)
    edited = build(raw_db, build_db, extra_args=args)
    assert edited.success and edited.mode == "incremental", (edited.reason, edited.failures[:5])
    ran = {r["unique_id"].split(".")[-1] for r in edited.run_results["results"]
           if r["unique_id"].startswith("model.")}
    assert "fct_invoices" in ran and "dim_matters" not in ran
    tests = _tests(edited)
    assert SUBQUERY not in tests[to_invoices]["compiled_code"]  # the parent changed
    assert SUBQUERY not in tests[lines_to_invoices]["compiled_code"]
    assert TIME_ENTRY_FILTER in tests[to_matters]["compiled_code"]  # this one did not
    assert TIME_ENTRY_FILTER in tests[
        "expression_is_true_fct_time_entries_hours_billable_hours_worked"]["compiled_code"]
    # an invoice line's key is tested on all rows that share a key with a changed line
    assert ("invoice_line_key in (select invoice_line_key from"
            in tests["unique_fct_invoice_lines_invoice_line_key"]["compiled_code"])
    assert SUBQUERY not in tests["row_count_matches_fct_time_entries_ref_int_time_entries_unioned_"][
        "compiled_code"]

    _load_day(firm, raw_db, pipes)
    quiet = build(raw_db, build_db, extra_args=args)
    assert quiet.mode == "incremental" and quiet.success, quiet.failures[:5]
    tests = _tests(quiet)
    assert TIME_ENTRY_FILTER in tests[to_invoices]["compiled_code"]  # fct_invoices as it was
    assert tests[to_invoices]["status"] == "pass"

    _load_day(firm, raw_db, pipes)
    with duckdb.connect(str(raw_db)) as con:  # a new entry by a user the firm does not know
        orphan = _new_clio_entry(con)
        con.execute("update raw_clio.activities set user__id = -1 where id = ?", [orphan])
    bad = build(raw_db, build_db, extra_args=args)
    assert bad.mode == "incremental" and not bad.success
    assert any("fct_time_entries" in f and "error" in f for f in bad.failures), bad.failures[:5]
