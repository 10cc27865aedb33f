"""The ground truth lists every planted anomaly, and nothing a correct detector would not find.

Each check re-derives the anomalies from the written files with tests/demo_firm/reference.py
(an independent plain-Python reading of the contracts) and compares with ground_truth.parquet.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from ingestion.demo_firm.schema import ANOMALY_KINDS, OCG_CODES

from . import reference as ref


@pytest.fixture(scope="module")
def gt(tiny_firm: Path) -> pl.DataFrame:
    return pl.read_parquet(tiny_firm / "ground_truth.parquet")


def test_every_kind_is_planted(gt: pl.DataFrame):
    counts = dict(gt.group_by("kind").len().iter_rows())
    assert {k for k in ANOMALY_KINDS if counts.get(k, 0) == 0} == set()


def test_anomaly_ids_unique(gt: pl.DataFrame):
    assert gt["anomaly_id"].n_unique() == gt.height


def test_ledes_files_are_valid(tiny_firm: Path):
    assert ref.file_errors(ref.all_ledes(tiny_firm)) == []


def test_ocg_findings_equal_ground_truth(tiny_firm: Path, gt: pl.DataFrame):
    found = ref.ocg_findings(ref.all_ledes(tiny_firm), ref.load_rules(tiny_firm))
    truth = {(r[0], r[1], r[2]) for r in gt.filter(pl.col("kind").is_in(OCG_CODES))
             .select("invoice_number", "line_item_number", "kind").iter_rows()}
    assert found == truth


def test_ledes_lines_equal_lpm_bill_lines(tiny_firm: Path):
    recs = ref.all_ledes(tiny_firm)
    cl = pl.read_parquet(tiny_firm / "clio" / "line_items.parquet")
    cb = pl.read_parquet(tiny_firm / "clio" / "bills.parquet").select(bill__id="id", number="number")
    al = pl.read_parquet(tiny_firm / "actionstep" / "billlines.parquet")
    ab = pl.read_parquet(tiny_firm / "actionstep" / "bills.parquet").select(links__bill="id", number="ourReference")
    lpm = {(n, str(ln)): (str(t), str(q)) for n, ln, t, q in
           cl.join(cb, on="bill__id").select("number", "line_number", "total", "quantity").iter_rows()}
    lpm.update({(n, str(ln)): (str(t), str(q)) for n, ln, t, q in
                al.join(ab, on="links__bill").select("number", "lineNumber", "amount", "quantity").iter_rows()})
    for r in recs:
        total, qty = lpm[(r["INVOICE_NUMBER"], r["LINE_ITEM_NUMBER"])]
        assert Decimal(total) == Decimal(r["LINE_ITEM_TOTAL"])
        assert Decimal(qty) == Decimal(r["LINE_ITEM_NUMBER_OF_UNITS"])


def test_variance_classification_equals_ground_truth(tiny_firm: Path, gt: pl.DataFrame):
    kinds = ("MISSING_IN_SALES", "BOOKING_WITHOUT_INVOICE", "DUPLICATE_BOOKING",
             "RATE_DEFINITION", "TIMING", "ROUNDING_FX", "SPLIT_ALLOCATION")
    got = ref.variance(tiny_firm)
    assert [g for g in got if g[0] == "UNEXPLAINED"] == []
    truth = gt.filter(pl.col("kind").is_in(kinds))
    want = {(k, n, b) for k, n, b in truth.select("kind", "invoice_number", "booking_id").iter_rows()}
    assert {(k, n, b) for k, n, b, _ in got} == want
    amounts = {(k, n, b): a for k, n, b, a in
               truth.select("kind", "invoice_number", "booking_id", "amount_usd").iter_rows()}
    for k, n, b, v in got:
        if k != "TIMING":
            assert v == amounts[(k, n, b)], (k, n, b)


def test_unrecorded_time_equals_ground_truth(tiny_firm: Path, gt: pl.DataFrame):
    cal = pl.read_parquet(tiny_firm / "clio" / "calendar_entries.parquet").filter(
        pl.col("matter__id").is_not_null())
    act = pl.read_parquet(tiny_firm / "clio" / "activities.parquet").filter(
        pl.col("type") == "TimeEntry").select(user="user__id", matter="matter__id", day="date").unique()
    cal = cal.select(user="calendar_owner__id", matter="matter__id", day=pl.col("start_at").dt.date())
    missing = cal.join(act, on=["user", "matter", "day"], how="anti")
    users = pl.read_parquet(tiny_firm / "clio" / "users.parquet").select(user="id", tk="timekeeper_id")
    matters = pl.read_parquet(tiny_firm / "clio" / "matters.parquet").select(matter="id", num="display_number")
    got = {tuple(r) for r in missing.join(users, on="user").join(matters, on="matter")
           .select("tk", "day", "num").iter_rows()}
    want = {tuple(r) for r in gt.filter(pl.col("kind") == "UNRECORDED_TIME")
            .select("timekeeper_id", "entry_date", "matter_number").iter_rows()}
    assert got == want and want


def test_rejections_and_write_offs_equal_ground_truth(tiny_firm: Path, gt: pl.DataFrame):
    hist = pl.read_parquet(tiny_firm / "ebilling" / "status_history.parquet")
    rejected = set(hist.filter(pl.col("status") == "Rejected")["invoiceNumber"])
    assert rejected == set(gt.filter(pl.col("kind") == "EBILLING_REJECTION")["invoice_number"])
    cm = pl.read_parquet(tiny_firm / "clio" / "credit_memos.parquet").join(
        pl.read_parquet(tiny_firm / "clio" / "bills.parquet").select(bill__id="id", n="number"), on="bill__id")
    wo = pl.read_parquet(tiny_firm / "actionstep" / "writeoffs.parquet").join(
        pl.read_parquet(tiny_firm / "actionstep" / "bills.parquet").select(links__bill="id", n="ourReference"),
        on="links__bill")
    got = sorted(cm["n"].to_list() + wo["n"].to_list())
    assert got == sorted(gt.filter(pl.col("kind") == "WRITE_OFF")["invoice_number"].to_list())


def test_variance_partner_month_is_about_five_percent(tiny_firm: Path):
    import json
    m = json.loads((tiny_firm / "manifest.json").read_text())
    assert 3.5 <= abs(m["variance_pct"]) <= 6.5
    assert len(m["variance_causes"]) >= 3


@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_ground_truth_holds_for_other_seeds(tmp_path: Path, seed: int):
    from ingestion.demo_firm.generator import generate

    firm = tmp_path / f"firm{seed}"
    m = generate("tiny", seed, firm)
    gt = pl.read_parquet(firm / "ground_truth.parquet")
    recs = ref.all_ledes(firm)
    assert ref.file_errors(recs) == []
    found = ref.ocg_findings(recs, ref.load_rules(firm))
    truth = {r for r in gt.filter(pl.col("kind").is_in(OCG_CODES))
             .select("invoice_number", "line_item_number", "kind").iter_rows()}
    assert found == truth
    got = ref.variance(firm)
    assert [g for g in got if g[0] == "UNEXPLAINED"] == []
    want = {r for r in gt.filter(pl.col("system") == "sales")
            .select("kind", "invoice_number", "booking_id").iter_rows()}
    assert {(k, n, b) for k, n, b, _ in got} == want
    assert all(m["anomalies"][k] > 0 for k in ANOMALY_KINDS if k != "WRITE_OFF")
