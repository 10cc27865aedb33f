"""Collections: the payment-likelihood model, its held-out ranking quality, the scored
worklist with reasons, next steps and escalation, and the dunning letter drafts."""
from __future__ import annotations

import csv
import itertools
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from lexrecon.cli import main
from reports.collections import (
    FEATURES,
    LogisticModel,
    _gram,
    roc_auc,
    score_worklist,
    stage_for,
)
from reports.dunning import write_letters


def test_roc_auc_matches_pair_counting():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.random(200) + 0.3 * y, 1)  # ties on purpose
    pos, neg = s[y == 1], s[y == 0]
    pairs = [(1.0 if p > n else 0.5 if p == n else 0.0) for p, n in itertools.product(pos, neg)]
    assert abs(roc_auc(y, s) - sum(pairs) / len(pairs)) < 1e-12
    assert roc_auc(np.ones(3), np.arange(3)) is None


def test_logistic_regression_learns_a_known_rule():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 3))
    y = (rng.random(2000) < 1 / (1 + np.exp(-(2 * x[:, 0] - x[:, 1])))).astype(float)
    model = LogisticModel.fit(x, y, ("a", "b", "c"))
    assert model.weights[1] > 0.5 and model.weights[2] < -0.2 and abs(model.weights[3]) < 0.2
    assert roc_auc(y, model.predict(x)) > 0.8


def test_worklist_is_scored_explained_and_ranked(serving_db):
    worklist = score_worklist(serving_db)
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        open_items = {r[0] for r in con.execute(
            "select invoice_number from marts.fct_collections_worklist").fetchall()}
    finally:
        con.close()
    rows = worklist.rows
    assert set(rows["invoice_number"]) == open_items and rows.height == len(open_items)
    assert rows["rank"].to_list() == list(range(1, rows.height + 1))
    assert rows["payment_likelihood"].is_between(0, 1).all()
    for r in rows.iter_rows(named=True):
        assert r["dunning_stage"] == stage_for(r["days_past_due"])
        assert r["next_step"] and r["escalate_to"]
        if r["dunning_stage"] >= 1:
            assert r["reasons_lower"] or r["reasons_higher"]
    # invoices needing action come before those not yet due
    stages = rows["dunning_stage"].to_list()
    first_not_due = stages.index(0) if 0 in stages else len(stages)
    assert all(s >= 1 for s in stages[:first_not_due]) and all(
        s == 0 for s in stages[first_not_due:])
    ev = worklist.evaluation
    assert ev.train_rows > 0 and ev.test_rows > 0 and ev.auc is not None
    assert 0.0 <= ev.auc <= 1.0 and set(ev.coefficients) == set(FEATURES)
    assert ev.train_until < ev.test_from  # held out in time, never seen in training


def test_partner_sees_only_own_invoices(serving_db):
    everyone = score_worklist(serving_db).rows
    partner = everyone["billing_partner_timekeeper_id"][0]
    mine = score_worklist(serving_db, partner=partner).rows
    assert set(mine["billing_partner_timekeeper_id"]) == {partner}
    assert mine.height == (everyone["billing_partner_timekeeper_id"] == partner).sum()


def test_dunning_drafts_per_client_and_stage(serving_db, tmp_path):
    worklist = score_worklist(serving_db)
    letters = write_letters(worklist, tmp_path / "letters")
    due = worklist.rows.filter(worklist.rows["dunning_stage"] >= 1)
    groups = {(r["client_code"], r["dunning_stage"]) for r in due.iter_rows(named=True)}
    assert len(letters) == len(groups) > 0
    with open(tmp_path / "letters" / "index.csv") as fh:
        index = list(csv.DictReader(fh))
    assert len(index) == len(groups)
    for entry in index:
        text = (tmp_path / "letters" / entry["file"]).read_text()
        assert text.startswith("DRAFT for review by")
        for number in entry["invoice_numbers"].split():
            assert number in text
    not_due = worklist.rows.filter(worklist.rows["dunning_stage"] == 0)["invoice_number"]
    all_text = "".join(p.read_text() for p in letters)
    assert not any(n in all_text for n in not_due)


def test_cli_writes_worklist_model_and_letters(serving_db, tmp_path, capsys):
    assert main(["collections", "--serving-db", str(serving_db), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "held-out" in out
    model = json.loads((tmp_path / "model.json").read_text())
    assert model["auc"] is not None and model["test_rows"] > 0
    assert (tmp_path / "worklist.csv").is_file() and (tmp_path / "letters" / "index.csv").is_file()
    assert Path(tmp_path / "letters").is_dir()


def test_build_time_worklist_equals_the_cli_scoring_and_the_page(serving_db):
    """marts.srv_collections_worklist (scored by the dbt build with score_worklist) holds what
    `lexrecon collections` computes on the published file, and the page reads it."""
    from dashboards.queries import Filters, Scope, scored_collections_worklist

    live = score_worklist(serving_db)
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        stored = con.execute(
            "select rank, invoice_number, payment_likelihood, next_step, reasons_lower, "
            "model_auc, model_evaluation from marts.srv_collections_worklist order by rank"
        ).fetchall()
    finally:
        con.close()
    assert stored, "the build stored no scored worklist"
    assert [(r[0], r[1], r[2], r[3], r[4] or "") for r in stored] == [
        (r["rank"], r["invoice_number"], r["payment_likelihood"], r["next_step"],
         r["reasons_lower"] or "")
        for r in live.rows.iter_rows(named=True)]
    assert {r[6] for r in stored} == {live.evaluation.summary()}
    page = scored_collections_worklist(serving_db, Scope("finance"), Filters(), limit=None)
    assert [r["invoice_number"] for r in page["rows"]] == live.rows["invoice_number"].to_list()
    assert page["count"] == live.rows.height and page["evaluation"] == live.evaluation.summary()
    top = scored_collections_worklist(serving_db, Scope("finance"), Filters(), limit=3)
    assert [r["invoice_number"] for r in top["rows"]] == live.rows["invoice_number"].to_list()[:3]
    assert top["count"] == live.rows.height
    assert top["past_due"] == live.rows.filter(live.rows["dunning_stage"] >= 1).height


def test_blocked_gram_equals_the_one_product():
    rng = np.random.default_rng(11)
    z, w = rng.normal(size=(2500, 6)), rng.random(2500)  # not a multiple of the block size
    assert np.allclose(_gram(z, w), (z * w[:, None]).T @ z, rtol=1e-12, atol=1e-9)


def test_likelihood_and_expected_unpaid_are_decimal_to_the_cent(serving_db):
    """payment_likelihood is DECIMAL(5,4); expected_unpaid_usd is money: DECIMAL(18,2), computed
    in Decimal as open_amount_usd x (1 - payment_likelihood), rounded half up to the cent, in
    the report and in the build's marts.srv_collections_worklist."""
    rows = score_worklist(serving_db).rows
    assert rows.schema["payment_likelihood"] == pl.Decimal(5, 4)
    assert rows.schema["expected_unpaid_usd"] == pl.Decimal(18, 2)
    assert rows.height
    for r in rows.iter_rows(named=True):
        want = (r["open_amount_usd"] * (1 - r["payment_likelihood"])).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
        assert r["expected_unpaid_usd"] == want
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns where "
            "table_schema = 'marts' and table_name = 'srv_collections_worklist'").fetchall())
        stored = dict(con.execute("select invoice_number, expected_unpaid_usd "
                                  "from marts.srv_collections_worklist").fetchall())
    finally:
        con.close()
    assert types["expected_unpaid_usd"] == "DECIMAL(18,2)"
    assert types["payment_likelihood"] == "DECIMAL(5,4)" and types["model_auc"] == "DECIMAL(5,4)"
    assert stored == dict(zip(rows["invoice_number"], rows["expected_unpaid_usd"], strict=True))
