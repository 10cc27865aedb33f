"""Pre-bill exceptions: unbilled time checked by the OCG rules engine, and UTBMS code
suggestions learned from coded history (accuracy on held-out entries)."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from lexrecon.cli import main
from reports.prebill import (
    HELD_SQL,
    _held_out,
    load_rules_dir,
    ocg_exceptions,
    suggest_codes,
    token_frame,
    tokens,
)


def _ebilled_entry(db: Path) -> tuple[str, str]:
    """(time_entry_key, client_code) of a fee entry on a matter of a client with a rules file."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "select te.time_entry_key, te.client_code from marts.fct_time_entries te "
            "join marts.dim_clients c using (client_code) where c.is_ebilled and "
            "te.is_billable and te.task_code is not null order by te.time_entry_key limit 1"
        ).fetchall()[0]
    finally:
        con.close()


def test_unbilled_time_breaking_ocg_rules_is_found(serving_copy, tiny):
    key, client = _ebilled_entry(serving_copy)
    con = duckdb.connect(str(serving_copy))
    # a block-billed entry, still unbilled: three tasks in one narrative
    con.execute("update marts.fct_time_entries set status = 'unbilled', invoice_number = null, "
                "is_no_charge = false, narrative = ? where time_entry_key = ?",
                [("Draft motion to compel production; call with client on strategy; "
                  "review deposition transcript of the CFO"), key])
    value = con.execute("select recorded_value from marts.fct_time_entries where "
                        "time_entry_key = ?", [key]).fetchall()[0][0]
    con.close()
    rules = load_rules_dir(tiny.firm / "ocg")
    assert client in {r.client_id for r in rules}
    found = ocg_exceptions(serving_copy, rules)
    mine = found.filter((pl.col("time_entry_key") == key) & (pl.col("code") == "BLOCK_BILLING"))
    assert mine.height == 1
    assert mine["amount_at_risk"][0] == f"{value:.2f}"
    assert mine["client_code"][0] == client and "3 tasks" in mine["message"][0]
    # billed entries are not pre-bill exceptions
    assert not found.filter(pl.col("time_entry_key").is_in(
        _billed_keys(serving_copy))).height


def _billed_keys(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute(
            "select time_entry_key from marts.fct_time_entries where status = 'billed'"
        ).fetchall()]
    finally:
        con.close()


def test_code_suggestions_are_accurate_on_held_out_entries(serving_db):
    result = suggest_codes(serving_db)
    assert result.held_out > 20 and result.trained_on > result.held_out
    assert result.pair_accuracy > 0.9 and result.pair_accuracy > result.majority_pair_accuracy
    s = result.suggestions
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        uncoded = {r[0] for r in con.execute(
            "select time_entry_key from marts.fct_time_entries where status = 'unbilled' and "
            "is_billable and (task_code is null or activity_code is null)").fetchall()}
        tasks = {r[0] for r in con.execute(
            "select distinct task_code from marts.fct_time_entries").fetchall()}
    finally:
        con.close()
    assert set(s["time_entry_key"]) == uncoded
    assert set(s["suggested_task_code"]) <= tasks
    assert s["confidence"].is_between(0, 1).all()


def test_suggestions_recover_codes_that_were_removed(serving_copy):
    con = duckdb.connect(str(serving_copy))
    truth = con.execute(
        "select time_entry_key, task_code, activity_code from marts.fct_time_entries where "
        "status = 'unbilled' and is_billable and task_code is not null "
        "order by time_entry_key limit 25").fetchall()
    con.execute("update marts.fct_time_entries set task_code = null, activity_code = null "
                "where time_entry_key in (select unnest(?::varchar[]))", [[t[0] for t in truth]])
    con.close()
    got = {r["time_entry_key"]: (r["suggested_task_code"], r["suggested_activity_code"])
           for r in suggest_codes(serving_copy).suggestions.iter_rows(named=True)}
    right = sum(got.get(k) == (t, a) for k, t, a in truth)
    assert right >= 0.9 * len(truth)


def test_cli_writes_the_report(serving_db, tiny, tmp_path, capsys):
    assert main(["prebill", "--serving-db", str(serving_db), "--rules-dir",
                 str(tiny.firm / "ocg"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "held-out" in out
    assert (tmp_path / "ocg_exceptions.csv").is_file()
    assert (tmp_path / "code_suggestions.csv").is_file()
    model = json.loads((tmp_path / "model.json").read_text())
    assert model["pair_accuracy"] > 0.9
    assert main(["prebill", "--serving-db", str(serving_db), "--rules-dir",
                 str(tmp_path / "nowhere")]) == 2


def test_build_time_results_equal_the_cli_and_the_page(serving_db, tiny):
    """marts.srv_prebill_* (computed by the dbt build with the same functions) hold what
    `lexrecon prebill` computes on the published file, and the page reads them."""
    from dashboards.queries import Filters, Scope, prebill_exceptions

    rules = load_rules_dir(Path(tiny.firm) / "ocg")
    found = ocg_exceptions(serving_db, rules)
    codes = suggest_codes(serving_db)
    page = prebill_exceptions(serving_db, Scope("finance"), Filters(), limit=None)
    assert rules and page["ocg_count"] == found.height
    assert [(r["time_entry_key"], r["code"]) for r in page["ocg"]] == \
        [(r["time_entry_key"], r["code"]) for r in found.iter_rows(named=True)]
    assert codes.suggestions.height > 0
    assert page["uncoded_count"] == codes.suggestions.height
    got = {r["time_entry_key"]: (r["suggested_task_code"], r["suggested_activity_code"])
           for r in page["uncoded"]}
    assert got == {r["time_entry_key"]: (r["suggested_task_code"], r["suggested_activity_code"])
                   for r in codes.suggestions.iter_rows(named=True)}
    assert page["accuracy"] == codes.summary()
    assert page["pair_accuracy"] == Decimal(str(round(codes.pair_accuracy, 4)))
    # a partner gets only their own matters' rows
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        own = dict(con.execute("select matter_number, billing_partner_timekeeper_id "
                               "from marts.dim_matters").fetchall())
    finally:
        con.close()
    partner = own[codes.suggestions["matter_number"][0]]
    mine = prebill_exceptions(serving_db, Scope("partner", partner), Filters(), limit=None)
    expected = [r["time_entry_key"] for r in codes.suggestions.iter_rows(named=True)
                if own.get(r["matter_number"]) == partner]
    assert expected and sorted(r["time_entry_key"] for r in mine["uncoded"]) == sorted(expected)
    assert mine["uncoded_count"] == len(expected) < page["uncoded_count"]
    assert {r["billing_partner_timekeeper_id"] for r in mine["uncoded"]} == {partner}
    none = prebill_exceptions(serving_db, Scope("partner", None), Filters(), limit=None)
    assert none["ocg"] == [] and none["uncoded"] == [] and none["uncoded_count"] == 0


def test_vectorised_tokens_are_the_python_tokens(serving_db):
    """token_frame (polars) gives every row exactly the tokens of tokens() (Python), in order:
    on the warehouse's narratives and on edge cases (null, empty, digits, accents, no words)."""
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        frame = pl.from_arrow(con.sql(
            "select te.narrative, m.practice_area, t.classification "
            "from marts.fct_time_entries te left join marts.dim_matters m using (matter_number) "
            "left join marts.dim_timekeepers t using (timekeeper_id) "
            "order by te.time_entry_key limit 3000").to_arrow_table())
    finally:
        con.close()
    frame = pl.concat([frame, pl.DataFrame({
        "narrative": [None, "", "A", "Ünïcode café: 3rd x1 ab-cd", "  ", "Call w/ client re L120"],
        "practice_area": [None, "", "Tax", None, "IP", "Litigation"],
        "classification": ["Partner", None, "", "Associate", None, "Paralegal"]})])
    toks = token_frame(frame)
    got = toks.group_by("doc", maintain_order=True).agg("token")["token"].to_list()
    assert len(got) == frame.height
    assert got == [tokens(*row) for row in frame.iter_rows()]


def test_training_sample_is_bounded_per_code_pair(serving_db):
    """With train_per_pair = n the model learns from at most n entries of each code pair (the
    most recent ones), reports accuracy on the sample's held-out entries, and still suggests
    codes for every uncoded unbilled entry; the warehouse's held-out rule is the Python one."""
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        per_pair = [r[0] for r in con.execute(
            "select count(*) from marts.fct_time_entries where task_code is not null and "
            "activity_code is not null group by task_code, activity_code").fetchall()]
        held = con.execute(f"select te.time_entry_key, {HELD_SQL} "
                           "from marts.fct_time_entries te").fetchall()
    finally:
        con.close()
    assert held and all(h == _held_out(k) for k, h in held)
    full = suggest_codes(serving_db)
    assert full.trained_on + full.held_out == sum(per_pair)
    n = 5
    assert max(per_pair) > n
    small = suggest_codes(serving_db, train_per_pair=n)
    assert small.trained_on + small.held_out == sum(min(c, n) for c in per_pair)
    assert small.suggestions["time_entry_key"].to_list() == \
        full.suggestions["time_entry_key"].to_list()
