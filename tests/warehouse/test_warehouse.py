"""The tiny firm's warehouse: green build, tie-outs to the cent, AR buckets, contracts, publish."""
from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from lexrecon.warehouse import (
    PublishRefused,
    build_info_path,
    publish,
    run_results_path,
    sha256_file,
)

CENT = Decimal("0.01")
FACTS = ("fct_time_entries", "fct_invoices", "fct_invoice_lines", "fct_payments", "fct_rejections",
         "fct_write_offs", "fct_ar_aging", "fct_ar_roll_forward", "fct_collections_worklist")


def test_build_is_green(tiny):
    result = tiny.result
    assert result.run_results_path == run_results_path(tiny.build_db)
    assert result.run_results_path.is_file()
    assert result.statuses.get("pass", 0) > 100, result.statuses
    assert result.success, "dbt nodes not passing:\n" + "\n".join(result.failures[:20])


def test_run_results_kept_next_to_build(tiny):
    results = json.loads(run_results_path(tiny.build_db).read_text())
    kinds = {r["unique_id"].split(".")[0] for r in results["results"]}
    assert {"model", "test", "seed", "unit_test"} <= kinds
    info = json.loads(build_info_path(tiny.build_db).read_text())
    assert info["sha256"] == sha256_file(tiny.build_db)


# The two 3.5-4M-row facts declare their key in the contract (enforced NOT NULL) and prove it
# unique with dbt's `unique` test in the same build (a failure blocks publish); an enforced
# PRIMARY KEY there would build an ART index costing ~50% of their build (docs/warehouse.md).
KEY_BY_TEST = {"fct_time_entries": "time_entry_key", "fct_invoice_lines": "invoice_line_key"}


def test_every_fact_has_a_guaranteed_primary_key(tiny):
    rows = tiny.query(
        "select table_name, constraint_type, constraint_column_names from duckdb_constraints() "
        "where schema_name = 'marts' and constraint_type in ('PRIMARY KEY', 'NOT NULL')")
    with_pk = {t for t, kind, _ in rows if kind == "PRIMARY KEY"}
    missing = [f for f in FACTS if f not in with_pk and f not in KEY_BY_TEST]
    assert not missing, f"facts without an enforced primary key: {missing}"
    results = {r["unique_id"]: r["status"] for r in tiny.result.run_results["results"]}
    for fact, key in KEY_BY_TEST.items():
        assert (fact, "NOT NULL", [key]) in [(t, k, list(c)) for t, k, c in rows], fact
        unique = [uid for uid in results if uid.startswith(f"test.lexrecon.unique_{fact}_{key}.")]
        assert unique and all(results[uid] == "pass" for uid in unique), (fact, unique)
        dupes = tiny.query(f"select count(*) - count(distinct {key}) from marts.{fact}")
        assert dupes == [(0,)], fact


def test_a_contracted_column_has_no_data_test_repeating_its_constraint(tiny):
    """One rule, one check: on a contracted model, not null is a constraint of the contract,
    not a not_null test, and an enforced primary key is not tested again by `unique`."""
    from lexrecon.warehouse import manifest_path

    doc = json.loads(manifest_path(tiny.build_db).read_text())
    twice = []
    for test in doc["nodes"].values():
        kind = (test.get("test_metadata") or {}).get("name")
        model = doc["nodes"].get(test.get("attached_node") or "", {})
        if test["resource_type"] != "test" or kind not in ("not_null", "unique") or \
                not model.get("contract", {}).get("enforced"):
            continue
        column = model["columns"].get(test.get("column_name") or "", {})
        if kind == "not_null" or any(c["type"] == "primary_key"
                                     for c in column.get("constraints", [])):
            twice.append(test["name"])
    assert not twice, twice


def test_a_null_in_a_contracted_column_fails_the_build(tiny, tmp_path, monkeypatch):
    """The enforced `not null` of a contract stops the model that would write a null (so the
    build is not green and cannot be published), with no data test needed."""
    from lexrecon.warehouse import build

    build_db = tmp_path / "build.duckdb"
    shutil.copyfile(tiny.build_db, build_db)
    con = duckdb.connect(str(build_db))
    try:
        assert con.execute("select count(*) from intermediate.int_calendar_events_unrecorded"
                           ).fetchone()[0] > 0
        con.execute("update intermediate.int_calendar_events_unrecorded set timekeeper_id = null")
    finally:
        con.close()
    monkeypatch.setenv("LEXRECON_FIRM", str(tiny.firm))
    result = build(tiny.raw_db, build_db, select=["fct_unrecorded_time"])
    assert not result.success
    assert any("fct_unrecorded_time" in f and "error" in f for f in result.failures), \
        result.failures
    with pytest.raises(PublishRefused):
        publish(build_db, tmp_path / "serving.duckdb")


def test_money_columns_are_decimal_never_float(tiny):
    rows = tiny.query(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema in ('staging', 'intermediate', 'marts') "
        "and (data_type in ('DOUBLE', 'FLOAT', 'REAL') or column_name like '%amount%' "
        "     or column_name like '%total%')")
    floats = [r for r in rows if r[2] in ("DOUBLE", "FLOAT", "REAL")]
    assert not floats, floats
    money = [r for r in rows if r[1].endswith(("_amount", "_amount_usd")) and r[0].startswith("fct_")]
    assert money and all(r[2].startswith("DECIMAL(18,2)") for r in money), money


def test_invoice_totals_tie_to_raw_to_the_cent(tiny):
    raw = dict(tiny.raw(
        "select 'clio', sum(total) from raw_clio.bills union all "
        "select 'actionstep', sum(total_inclusive) from raw_actionstep.bills"))
    mart = dict(tiny.query(
        "select source_system, sum(total_amount) from marts.fct_invoices group by 1"))
    assert mart == raw


def test_invoice_total_equals_its_lines(tiny):
    rows = tiny.query(
        "select i.invoice_number, i.subtotal_amount, coalesce(sum(l.line_total), 0) "
        "from marts.fct_invoices i left join marts.fct_invoice_lines l using (invoice_number) "
        "group by all")
    assert rows
    bad = [r for r in rows if r[1] != r[2]]
    assert not bad, bad[:5]


def test_ledes_line_math_holds(tiny):
    rows = tiny.query(
        "select file_name, record_no, exp_fee_inv_adj_type, line_item_number_of_units, "
        "line_item_unit_cost, line_item_adjustment_amount, line_item_total "
        "from staging.stg_ledes__ledes_lines")
    assert rows
    for file, rec, kind, units, cost, adj, total in rows:
        if kind in ("F", "E"):
            expected = units * cost + (adj or 0)
            assert abs(expected - total) <= Decimal("0.005"), (file, rec, expected, total)


def test_usd_amount_uses_month_end_rate_of_invoice_month(tiny):
    rates = {(c, m): r for c, m, r in tiny.query(
        "select currency, month, rate_to_usd from staging.stg_sales__fx_rates")}
    rows = tiny.query(
        "select invoice_number, currency, invoice_month, total_amount, total_amount_usd "
        "from marts.fct_invoices")
    currencies = {r[1] for r in rows}
    assert {"USD", "GBP"} <= currencies
    for number, cur, month, total, usd in rows:
        expected = (total * rates[(cur, month)]).quantize(CENT, rounding=ROUND_HALF_UP)
        assert usd == expected, (number, cur, month, total, usd, expected)


def _open_ar_python(tiny, as_of: date) -> dict[str, Decimal]:
    """Open AR per invoice at ``as_of`` recomputed from raw, independently of the models."""
    invoices = tiny.raw(
        "select number, issued_at, total, state <> 'void', 'clio', id from raw_clio.bills "
        "union all select our_reference, invoice_date, total_inclusive, status <> 'Deleted', "
        "'actionstep', id from raw_actionstep.bills")
    by_bill = {(sys_, str(bid)): (num, d) for num, d, _, _, sys_, bid in invoices}
    open_ = {num: total for num, d, total, live, _, _ in invoices if live and d <= as_of}
    events = tiny.raw(
        "select 'clio', bill__id, date, amount from raw_clio.allocations where voided_at is null "
        "union all select 'actionstep', links__bill, date, amount from raw_actionstep.receipts "
        "union all select 'actionstep', links__bill, date, amount from raw_actionstep.writeoffs")
    try:
        events += tiny.raw("select 'clio', bill__id, date, amount from raw_clio.credit_memos")
    except duckdb.CatalogException:  # dlt creates no table for a resource without rows
        pass
    for sys_, bill, d, amount in events:
        num, inv_date = by_bill[(sys_, str(bill))]
        if num in open_ and max(d, inv_date) <= as_of:
            open_[num] -= amount
    return {k: v for k, v in open_.items() if v != 0}


@pytest.mark.parametrize("as_of", [date(2026, 8, 31), date(2026, 9, 30)])
def test_ar_aging_month_end_matches_raw(tiny, as_of):
    expected = _open_ar_python(tiny, as_of)
    got = dict(tiny.query(
        "select invoice_number, open_amount from marts.fct_ar_aging where as_of_date = ?", [as_of]))
    assert expected, "no open AR in the tiny firm at " + str(as_of)
    assert got == expected


def test_ar_aging_macro_for_any_date_matches_python(tiny):
    as_of = date(2026, 9, 12)
    expected = _open_ar_python(tiny, as_of)
    got = dict(tiny.query(
        "select invoice_number, open_amount from marts.ar_aging_as_of(?)", [as_of]))
    assert got == expected


def test_ar_buckets_follow_ages(tiny):
    def bucket(days: int) -> str:
        for limit, label in ((30, "0-30"), (60, "31-60"), (90, "61-90"), (120, "91-120")):
            if days <= limit:
                return label
        return "120+"

    rows = tiny.query(
        "select as_of_date, invoice_date, due_date, days_since_invoice, days_past_due, "
        "aging_bucket_invoice_date, aging_bucket_due_date from marts.fct_ar_aging")
    assert rows
    for as_of, inv, due, age, past_due, b_inv, b_due in rows:
        assert age == (as_of - inv).days and past_due == (as_of - due).days
        assert b_inv == bucket(age) and b_due == bucket(past_due)


def test_ar_roll_forward_ties_per_month_and_currency(tiny):
    """opening + billed - collected - written off = closing, recomputed from the facts."""
    closing = defaultdict(Decimal)
    for as_of, cur, amount in tiny.query(
            "select as_of_date, currency, sum(open_amount) from marts.fct_ar_aging "
            "where as_of_date = last_day(as_of_date) group by all"):
        closing[(as_of.strftime("%Y-%m"), cur)] = amount
    moves = defaultdict(Decimal)
    for month, cur, amount in tiny.query(
            "select strftime(invoice_date, '%Y-%m'), currency, sum(total_amount) "
            "from marts.fct_invoices where not is_void group by all"):
        moves[(month, cur)] += amount
    for month, cur, amount in tiny.query(
            "select strftime(p.ar_effective_date, '%Y-%m'), p.currency, sum(p.amount) "
            "from marts.fct_payments p join marts.fct_invoices i using (invoice_number) "
            "where not p.is_voided and not i.is_void group by all"):
        moves[(month, cur)] -= amount
    for month, cur, amount in tiny.query(
            "select strftime(ar_effective_date, '%Y-%m'), currency, sum(amount) "
            "from marts.fct_write_offs where write_off_type = 'ar_write_off' group by all"):
        moves[(month, cur)] -= amount
    months = sorted({m for m, _ in moves} | {m for m, _ in closing})
    currencies = {c for _, c in moves} | {c for _, c in closing}
    assert len(months) >= 2
    for cur in currencies:
        running = Decimal(0)
        for month in months:
            running += moves[(month, cur)]
            assert running == closing[(month, cur)], (month, cur, running, closing[(month, cur)])
    mart = tiny.query("select year_month, currency, roll_forward_difference from marts.fct_ar_roll_forward")
    assert mart and all(r[2] == 0 for r in mart)


def test_write_offs_cover_the_three_kinds(tiny):
    kinds = dict(tiny.query(
        "select write_off_type, count(*) from marts.fct_write_offs group by 1"))
    assert set(kinds) == {"pre_bill_write_down", "ebilling_reduction", "ar_write_off"}
    planted = tiny.query("select count(*) from read_parquet(?)",
                         [str(tiny.firm / "ground_truth.parquet")])[0][0]
    assert planted > 0
    gt = duckdb.connect().execute(
        "select invoice_number from read_parquet(?) where kind = 'WRITE_OFF'",
        [str(tiny.firm / "ground_truth.parquet")]).fetchall()
    found = {r[0] for r in tiny.query(
        "select invoice_number from marts.fct_write_offs where write_off_type = 'ar_write_off'")}
    assert {r[0] for r in gt} == found


def test_rejections_match_ground_truth_and_keep_raw_text(tiny):
    gt = duckdb.connect().execute(
        "select invoice_number from read_parquet(?) where kind = 'EBILLING_REJECTION'",
        [str(tiny.firm / "ground_truth.parquet")]).fetchall()
    rows = tiny.query("select invoice_number, reason_text, reason_code from marts.fct_rejections")
    assert {r[0] for r in rows} == {r[0] for r in gt}
    assert all(r[1] and r[2] and r[2] != "OTHER" for r in rows), rows


def test_partner_facts_carry_the_billing_partner(tiny):
    for fact in ("fct_invoices", "fct_ar_aging", "fct_collections_worklist", "fct_time_entries",
                 "fct_invoice_lines", "fct_payments"):
        nulls = tiny.query(
            f"select count(*) from marts.{fact} where billing_partner_timekeeper_id is null")[0][0]
        assert nulls == 0, fact
    partners = tiny.query(
        "select distinct f.billing_partner_timekeeper_id, t.timekeeper_role "
        "from marts.fct_invoices f join marts.dim_timekeepers t "
        "on t.timekeeper_id = f.billing_partner_timekeeper_id")
    assert partners and all(role in ("partner", "counsel") for _, role in partners)


def test_collections_worklist_is_open_ar_at_data_date(tiny):
    rows = tiny.query(
        "select max(as_of_date), sum(open_amount), count(*), min(priority_rank) "
        "from marts.fct_collections_worklist")
    as_of, total, n, first = rows[0]
    expected = _open_ar_python(tiny, as_of)
    assert n == len([v for v in expected.values() if v > 0])
    assert total == sum(v for v in expected.values() if v > 0)
    assert first == 1


def test_realization_is_billed_over_worked_at_standard(tiny):
    rows = tiny.query(
        "select billed_amount, worked_value_standard, billing_realization "
        "from marts.fct_time_entries where billed_amount > 0 and worked_value_standard > 0")
    assert rows
    for billed, worked, ratio in rows:
        assert abs(ratio - billed / worked) <= Decimal("0.00005"), (billed, worked, ratio)


def test_publish_refuses_a_failing_build_and_replaces_atomically(tiny, tmp_path):
    build_db = tmp_path / "build.duckdb"
    shutil.copyfile(tiny.build_db, build_db)
    results = json.loads(run_results_path(tiny.build_db).read_text())
    green = dict(results, results=[dict(r, status="pass" if r["status"] != "success" else "success")
                                   for r in results["results"]])
    info = {"success": True, "sha256": sha256_file(build_db)}
    run_results_path(build_db).write_text(json.dumps(green))
    build_info_path(build_db).write_text(json.dumps(info))

    serving = tmp_path / "serving.duckdb"
    duckdb.connect(str(serving)).execute("create table marker as select 'old' as v").fetchall()
    reader = duckdb.connect(str(serving), read_only=True)  # a dashboard request in flight

    red = dict(results, results=[dict(results["results"][0], status="fail")] + green["results"])
    run_results_path(build_db).write_text(json.dumps(red))
    with pytest.raises(PublishRefused, match="not green"):
        publish(build_db, serving)
    assert reader.execute("select v from marker").fetchall() == [("old",)]

    run_results_path(build_db).write_text(json.dumps(green))
    tampered = tmp_path / "tampered.duckdb"
    for path in (build_db, run_results_path(build_db), build_info_path(build_db)):
        shutil.copyfile(path, tampered.with_name(path.name.replace("build", "tampered", 1)))
    with open(tampered, "ab") as fh:  # changed after it was tested
        fh.write(b"\0")
    with pytest.raises(PublishRefused, match="changed after"):
        publish(tampered, serving)
    assert reader.execute("select v from marker").fetchall() == [("old",)]

    publish(build_db, serving)  # moved, with its side files
    assert not build_db.exists() and not run_results_path(build_db).exists()
    assert reader.execute("select v from marker").fetchall() == [("old",)]  # old file kept
    reader.close()
    con = duckdb.connect(str(serving), read_only=True)
    try:
        assert con.execute("select count(*) from marts.fct_invoices").fetchall()[0][0] > 0
    finally:
        con.close()
    assert run_results_path(serving).is_file()
    assert json.loads(build_info_path(serving).read_text())["sha256"] == info["sha256"]


def test_write_off_usd_uses_the_write_off_month_rate(tiny):
    """Value lost is converted at the month-end rate of the month it was lost (the write-off
    date), as the demo firm's ground truth does; not at the invoice month's rate."""
    rows = tiny.query(
        "select w.amount, w.amount_usd, fx.rate_to_usd, fi.rate_to_usd "
        "from marts.fct_write_offs w "
        "join intermediate.int_fx_month_end_rates fx on fx.currency = upper(w.currency) "
        " and fx.month = strftime(w.write_off_date, '%Y-%m') "
        "left join intermediate.int_fx_month_end_rates fi on fi.currency = upper(w.currency) "
        " and fi.month = strftime(w.invoice_date, '%Y-%m')")
    assert rows
    # the tiny firm has write-offs booked in another month (and rate) than their invoice
    assert any(inv_rate is not None and inv_rate != rate for _, _, rate, inv_rate in rows)
    wrong = [r for r in rows if r[1] != (r[0] * r[2]).quantize(CENT, rounding=ROUND_HALF_UP)]
    assert not wrong, wrong[:5]
    assert tiny.query("select count(*) from marts.fct_write_offs where amount_usd is null") == [(0,)]
