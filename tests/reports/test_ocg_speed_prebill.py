"""Pre-bill reads only what it needs (typed values, only the entries of clients with a rules
file, the training sample's days, counted per document) and encodes tokens without a Python
string per token; the results are those of the plain definitions."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from lexrecon.ocg.engine import evaluate
from lexrecon.ocg.rules import rules_from_mapping
from reports import prebill
from reports.prebill import (
    CODED_SQL,
    HELD_SQL,
    UNBILLED_WHERE,
    UNCODED_SQL,
    _frame,
    encode_frame,
    learn_codes,
    ocg_exceptions,
    suggest_codes,
    tokens,
)

# The sample's definition, as one window over every coded entry.
PLAIN_SAMPLE_SQL = f"""
with ranked as (
    select time_entry_key,
           row_number() over (partition by task_code, activity_code
                              order by entry_date desc, time_entry_key desc) as recency
    from marts.fct_time_entries
    where task_code is not null and activity_code is not null
)
select te.time_entry_key, te.task_code || '|' || te.activity_code as pair, {HELD_SQL} as held,
       te.narrative, m.practice_area, t.classification
from ranked r
join marts.fct_time_entries te on te.time_entry_key = r.time_entry_key
left join marts.dim_matters m on m.matter_number = te.matter_number
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
where r.recency <= ?
order by te.time_entry_key
"""


@pytest.fixture(scope="module")
def con(serving_db):
    connection = duckdb.connect(str(serving_db), read_only=True)
    yield connection
    connection.close()


def counted(sample: pl.DataFrame, con) -> pl.DataFrame:
    """A sample of entries counted as CODED_SQL returns it: entries per (pair, held out,
    document), with the pair's count of every coded entry."""
    totals = _frame(con, "select task_code || '|' || activity_code as pair, "
                         "count(*) as pair_entries from marts.fct_time_entries "
                         "where task_code is not null and activity_code is not null group by 1")
    cols = ["pair", "held", "narrative", "practice_area", "classification"]
    return (sample.group_by(cols).agg(pl.len().cast(pl.Int64).alias("entries"))
            .join(totals, on="pair", how="left").sort(cols, nulls_last=True))


def coded_sample(con, per_pair: int) -> pl.DataFrame:
    cols = ["pair", "held", "narrative", "practice_area", "classification"]
    got = _frame(con, CODED_SQL, [per_pair])
    return got.with_columns(pl.col("entries", "pair_entries").cast(pl.Int64)
                            ).sort(cols, nulls_last=True)


@pytest.mark.parametrize("per_pair", [1, 3, 17, 10_000])
def test_training_sample_is_the_most_recent_entries_of_each_pair(con, per_pair):
    plain = _frame(con, PLAIN_SAMPLE_SQL, [per_pair])
    assert plain.height
    assert coded_sample(con, per_pair).equals(counted(plain, con))


def test_training_sample_with_undated_and_same_day_entries(serving_db, tmp_path):
    """Ties on the cut-off day (key order decides) and entries without a date (last)."""
    copy = tmp_path / "serving.duckdb"
    copy.write_bytes(Path(serving_db).read_bytes())
    rw = duckdb.connect(str(copy))
    try:
        rw.execute("update marts.fct_time_entries set entry_date = date '2024-03-01' "
                   "where hash(time_entry_key) % 3 = 0")
        # the mart never holds an undated entry (NOT NULL); the sample would still be right
        rw.execute("alter table marts.fct_time_entries alter column entry_date drop not null")
        rw.execute("update marts.fct_time_entries set entry_date = null "
                   "where hash(time_entry_key) % 7 = 0")
        # and a count that a pair reaches only on its undated entries (the cut is there)
        dated, total = rw.execute(
            "select count(entry_date), count(*) from marts.fct_time_entries "
            "where task_code is not null and activity_code is not null "
            "group by task_code, activity_code order by count(*) desc limit 1").fetchall()[0]
        assert total > dated + 1
        for per_pair in (1, 2, 9, 40, dated + 1, total - 1, total, total + 5):
            assert coded_sample(rw, per_pair).equals(
                counted(_frame(rw, PLAIN_SAMPLE_SQL, [per_pair]), rw))
    finally:
        rw.close()


@pytest.mark.parametrize("per_pair", [5, 10_000])
def test_counted_sample_learns_what_entry_by_entry_learning_does(con, per_pair):
    """The model learns from the sample counted per document: its accuracy figures and every
    suggestion (code pair, confidence, runner-up) are those of one row per sampled entry."""
    entry_by_entry = _frame(con, PLAIN_SAMPLE_SQL, [per_pair]).join(
        _frame(con, "select task_code || '|' || activity_code as pair, count(*) as pair_entries "
                    "from marts.fct_time_entries where task_code is not null "
                    "and activity_code is not null group by 1"), on="pair", how="left"
    ).with_columns(entries=pl.lit(1, dtype=pl.Int64)).drop("time_entry_key")
    counted_rows = _frame(con, CODED_SQL, [per_pair])
    assert counted_rows.height < entry_by_entry.height
    plain = learn_codes(entry_by_entry, _frame(con, UNCODED_SQL))
    got = suggest_codes(con, train_per_pair=per_pair)
    assert plain.held_out and plain.suggestions.height
    assert (got.held_out, got.trained_on, got.task_accuracy, got.activity_accuracy,
            got.pair_accuracy, got.majority_pair_accuracy) == (
        plain.held_out, plain.trained_on, plain.task_accuracy, plain.activity_accuracy,
        plain.pair_accuracy, plain.majority_pair_accuracy)
    assert got.suggestions.equals(plain.suggestions)


@pytest.mark.parametrize("pair_table", [True, False])
def test_encoded_ids_spell_the_python_tokens(con, pair_table, monkeypatch):
    """Every row's ids are its tokens() in order, in a sorted vocabulary; with a given
    vocabulary, tokens not in it get the id vocab.height."""
    frame = _frame(con, "select te.narrative, m.practice_area, t.classification "
                        "from marts.fct_time_entries te "
                        "left join marts.dim_matters m using (matter_number) "
                        "left join marts.dim_timekeepers t using (timekeeper_id) "
                        "order by te.time_entry_key limit 2000")
    if not pair_table:  # a vocabulary too large for the table of pairs: sorted lookup
        monkeypatch.setattr(prebill, "PAIR_TABLE_LIMIT", 0)
    frame = pl.concat([frame, pl.DataFrame({
        "narrative": [None, "", "one", "Ünïcode café 3rd x1 x1 x1", "zz qq"],
        "practice_area": [None, "", "Tax", "IP", None],
        "classification": ["Partner", None, "", None, "Zebra"]})])
    ids, lens, vocab = encode_frame(frame)
    words = vocab["token"].to_list()
    assert words == sorted(set(words)) and vocab["id"].to_list() == list(range(len(words)))
    expected = [tokens(*row) for row in frame.iter_rows()]
    assert lens.tolist() == [len(t) for t in expected]
    assert [words[i] for i in ids] == [t for row in expected for t in row]

    known = vocab.head(len(words) // 2)
    lookup = dict(zip(known["token"], known["id"], strict=True))
    ids2, lens2, same = encode_frame(frame, known)
    assert same is known and np.array_equal(lens2, lens)
    assert ids2.tolist() == [lookup.get(t, known.height) for row in expected for t in row]


@pytest.mark.parametrize("every", [1, 3])
def test_exceptions_equal_the_plain_text_evaluation(serving_db, every):
    """Strict rules for every client (or every third: the others' entries are not read
    further than their client): many findings; the report equals evaluating every unbilled
    entry as LEDES text and joining its full row (the plain way)."""
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        clients = [r[0] for r in con.execute(
            "select distinct coalesce(c.ledes_client_id, te.client_code) "
            "from marts.fct_time_entries te left join marts.dim_clients c using (client_code) "
            "order by 1").fetchall()][::every]
        rules = [rules_from_mapping({
            "client_id": client, "billing_increment_hours": Decimal("0.25"),
            "max_daily_hours": Decimal(3), "submission_deadline_days": 20,
            "rate_caps": {"by_classification": {"PARTNR": Decimal(900), "ASSOC": Decimal(500)}},
            "allowed_task_codes": ["L1*"], "allowed_activity_codes": ["A101"],
            "vague": {"min_words": 6}, "block_billing": {"max_tasks": 1},
            "admin": {"keywords": ["file", "call"]}, "duplicate_lines": True,
        }, f"{client}.yml") for client in clients]
        bill_date = con.execute(
            "select max(entry_date) from marts.fct_time_entries").fetchall()[0][0]
        entries = _frame(con, f"""
            select te.*, coalesce(c.ledes_client_id, te.client_code) as ledes_client_id,
                   c.client_name, t.classification, t.timekeeper_name
            from marts.fct_time_entries te
            left join marts.dim_clients c on c.client_code = te.client_code
            left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
            where {UNBILLED_WHERE}
            order by te.matter_number, te.entry_date, te.time_entry_key""")
    finally:
        con.close()
    lines = entries.with_row_index("record_no", offset=3).select(
        pl.lit("prebill").alias("file"), pl.col("record_no").cast(pl.Int64),
        pl.concat_str(pl.lit("PREBILL-"), "matter_number").alias("invoice_number"),
        pl.col("ledes_client_id").alias("client_id"),
        pl.lit(bill_date.strftime("%Y%m%d")).alias("invoice_date"),
        pl.col("time_entry_key").alias("line_item_number"),
        pl.lit("F").alias("exp_fee_inv_adj_type"),
        pl.coalesce("hours_billable", "hours_worked").cast(pl.Utf8)
        .alias("line_item_number_of_units"),
        pl.col("recorded_value").cast(pl.Utf8).alias("line_item_total"),
        pl.col("entry_date").dt.strftime("%Y%m%d").alias("line_item_date"),
        pl.col("task_code").alias("line_item_task_code"),
        pl.lit(None, dtype=pl.Utf8).alias("line_item_expense_code"),
        pl.col("activity_code").alias("line_item_activity_code"), "timekeeper_id",
        pl.col("narrative").alias("line_item_description"),
        pl.col("recorded_rate").cast(pl.Utf8).alias("line_item_unit_cost"),
        pl.col("classification").alias("timekeeper_classification"),
    )
    plain = (evaluate(lines, rules).rename({"line_item_number": "time_entry_key"})
             .select("time_entry_key", "code", "message", "amount_at_risk")
             .join(entries.select(
                 "time_entry_key", "client_code", "client_name", "matter_number",
                 "timekeeper_id", "timekeeper_name", "billing_partner_timekeeper_id",
                 "entry_date", "hours_billable", "recorded_rate", "recorded_value", "currency",
                 "task_code", "activity_code", "narrative"), on="time_entry_key", how="left")
             .sort("client_code", "matter_number", "entry_date", "time_entry_key", "code"))
    found = ocg_exceptions(serving_db, rules)
    assert found.height > 50 // every and len(set(found["code"])) >= 6
    assert found.equals(plain)
    if every > 1:  # entries of clients without rules were evaluated too in the plain way
        assert set(plain["client_code"]) < set(entries["client_code"])
