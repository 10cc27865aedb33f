"""The ground-truth file: one row per planted anomaly, with the keys a detector needs."""
from __future__ import annotations

import re

import polars as pl

from .money import dec, to_usd_cents
from .rules_files import MAX_DAILY_HOURS
from .schema import ANOMALY_KINDS, GROUND_TRUTH

LINE_PLANTS = ["RATE_CAP", "TRAVEL", "BLOCK_BILLING", "VAGUE", "INCREMENT", "TASK_CODE", "LATE",
               "ADMIN", "EXPENSE_DISALLOWED"]


def normalise(text: str) -> str:
    """As the VAGUE/DUPLICATE rules compare descriptions: lower case, no punctuation."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text.lower())).strip()


def normalise_expr(text: pl.Expr) -> pl.Expr:
    """``normalise`` as a vectorised expression (same result for ASCII text)."""
    return (text.str.to_lowercase().str.replace_all(r"[^\w\s]", "")
            .str.replace_all(r"\s+", " ").str.strip_chars())


def ebilled_lines(lines: pl.DataFrame, bills: pl.DataFrame, tks: pl.DataFrame,
                  entries: pl.DataFrame) -> pl.DataFrame:
    """Lines as they appear in the LEDES files, with their keys for the rules."""
    eb = bills.filter(pl.col("ebilled")).select("bill", "number", "client", "client_code", "matter_number",
                                                 "invoice_date", "currency", "fx_micro")
    tk = tks.select("tk", "timekeeper_id", "classification")
    plants = entries.select("eid", "plant", "plant_amt_c", "plant_detail")
    return (lines.join(eb, on="bill", maintain_order="left").join(tk, on="tk", how="left")
            .join(plants, on="eid", how="left", maintain_order="left"))


def ocg_findings(el: pl.DataFrame, rules: dict[int, dict]) -> pl.DataFrame:
    """Every finding a correct checker reports for the planted breaks (and nothing else)."""
    fee = pl.col("kind") == "F"
    planted = el.filter(pl.col("plant").is_in(LINE_PLANTS)).select(
        "bill", "line_number", code="plant",
        amount_c=pl.when(pl.col("plant").is_in(["RATE_CAP", "TRAVEL"])).then(pl.col("plant_amt_c"))
        .when(pl.col("plant") == "INCREMENT").then(None).otherwise(pl.col("total_c")),
        detail="plant_detail")
    approved = pl.DataFrame(
        [(c, t) for c, r in rules.items() for t in r["approved_timekeepers"]],
        schema={"client": pl.Int64, "timekeeper_id": pl.String}, orient="row")
    unapproved = (el.filter(fee).join(approved, on=["client", "timekeeper_id"], how="anti", maintain_order="left")
                  .select("bill", "line_number", code=pl.lit("TK_UNAPPROVED"),
                          amount_c="total_c",
                          detail=pl.lit("timekeeper ") + pl.col("timekeeper_id")
                          + pl.lit(" not on the approved list")))
    day = (el.filter(fee).with_columns(s=pl.col("units_x100").sum().over(["client", "tk", "date"]))
           .filter(pl.col("s") > MAX_DAILY_HOURS * 100)
           .select("bill", "line_number", code=pl.lit("DAILY_MAX"),
                   amount_c=pl.lit(None, pl.Int64),
                   detail=pl.lit("day total ") + (pl.col("s") / 100).round(2).cast(pl.String)
                   + pl.lit(" hours for this client")))
    f = el.filter(fee).with_columns(norm=normalise_expr(pl.col("narrative")))
    dup = (f.sort(["bill", "line_number"])
           .with_columns(rank=pl.int_range(pl.len()).over(
               ["bill", "tk", "date", "units_x100", "task", "activity", "norm"]))
           .filter(pl.col("rank") > 0)
           .select("bill", "line_number", code=pl.lit("DUPLICATE"), amount_c="total_c",
                   detail=pl.lit("same timekeeper, date, hours, codes and narrative as an earlier line")))
    planted_dups = el.filter(pl.col("plant") == "DUPLICATE").select("bill", "line_number").sort(
        ["bill", "line_number"])
    assert planted_dups.equals(dup.select("bill", "line_number").sort(["bill", "line_number"])), \
        "duplicate lines found that were not planted"
    out = pl.concat([planted, unapproved, day, dup], how="vertical_relaxed")
    return out.unique(subset=["bill", "line_number", "code"], keep="first").sort(
        ["bill", "line_number", "code"])


def build(findings: pl.DataFrame, el: pl.DataFrame, bills: pl.DataFrame, ebill: dict,
          sales_gt: list[dict], calendar_plants: pl.DataFrame, write_offs: pl.DataFrame,
          fx: pl.DataFrame, tks: pl.DataFrame, md: pl.DataFrame) -> pl.DataFrame:
    rows = []
    keyed = findings.join(el.select("bill", "line_number", "number", "timekeeper_id",
                                    "matter_number", "date", "fx_micro", "currency"),
                          on=["bill", "line_number"], maintain_order="left")
    usd = to_usd_cents(keyed["amount_c"].fill_null(0).to_numpy(), keyed["fx_micro"].to_numpy())
    keyed = keyed.with_columns(usd_c=pl.when(pl.col("amount_c").is_null()).then(None)
                               .otherwise(pl.Series(usd)))
    rows.append(keyed.select(
        kind="code", system=pl.lit("ledes"), invoice_number="number",
        line_item_number=pl.col("line_number").cast(pl.String),
        booking_id=pl.lit(None, pl.Int64), timekeeper_id="timekeeper_id",
        matter_number="matter_number", entry_date="date", usd_c="usd_c",
        detail=pl.col("detail") + pl.when(pl.col("amount_c").is_not_null()).then(
            pl.lit("; at risk ") + dec(pl.col("amount_c")).cast(pl.String) + " " + pl.col("currency"))
        .otherwise(pl.lit(""))))
    inv = ebill["invoices"]
    rej = ebill["status_history"].filter(pl.col("status") == "Rejected").join(
        inv.select("invoiceId", "lawFirmMatterId", "submittedTotal_c", "currency"), on="invoiceId")
    rej = rej.join(bills.select(invoiceNumber="number", fx_micro="fx_micro"), on="invoiceNumber", maintain_order="left")
    rows.append(rej.select(
        kind=pl.lit("EBILLING_REJECTION"), system=pl.lit("ebilling"),
        invoice_number="invoiceNumber", line_item_number=pl.lit(None, pl.String),
        booking_id=pl.lit(None, pl.Int64), timekeeper_id=pl.lit(None, pl.String),
        matter_number="lawFirmMatterId", entry_date=pl.col("at").dt.date(),
        usd_c=pl.Series(to_usd_cents(rej["submittedTotal_c"].to_numpy(), rej["fx_micro"].to_numpy())),
        detail=pl.col("reasonText")))
    if sales_gt:
        s = pl.DataFrame([{k: r.get(k) for k in ("kind", "invoice_number", "booking_id",
                                                  "amount_c", "detail", "bill")} for r in sales_gt],
                         schema={"kind": pl.String, "invoice_number": pl.String,
                                 "booking_id": pl.Int64, "amount_c": pl.Int64, "detail": pl.String,
                                 "bill": pl.Int64}, orient="row")
        s = s.join(bills.select("bill", "matter_number"), on="bill", how="left", maintain_order="left")
        rows.append(s.select(
            kind="kind", system=pl.lit("sales"), invoice_number="invoice_number",
            line_item_number=pl.lit(None, pl.String), booking_id="booking_id",
            timekeeper_id=pl.lit(None, pl.String), matter_number="matter_number",
            entry_date=pl.lit(None, pl.Date), usd_c="amount_c", detail="detail"))
    tk_ids = tks["timekeeper_id"].to_numpy()
    mnum = md["matter_number"].to_numpy()
    cp = calendar_plants
    rows.append(pl.DataFrame({
        "kind": "UNRECORDED_TIME", "system": "clio", "invoice_number": pl.Series([None] * cp.height, dtype=pl.String),
        "line_item_number": pl.Series([None] * cp.height, dtype=pl.String),
        "booking_id": pl.Series([None] * cp.height, dtype=pl.Int64),
        "timekeeper_id": pl.Series(tk_ids[cp["tk"].to_numpy()], dtype=pl.String),
        "matter_number": pl.Series(mnum[cp["matter"].to_numpy()], dtype=pl.String),
        "entry_date": cp["date"], "usd_c": pl.Series([None] * cp.height, dtype=pl.Int64),
        "detail": ("calendar entry '" + cp["summary"] + "' with no time recorded")}))
    wo = write_offs.join(bills.select("bill", "number", "office", "currency", "matter_number"),
                         on="bill", maintain_order="left").with_columns(month=pl.col("date").dt.strftime("%Y-%m"))
    wo = wo.join(fx, on=["currency", "month"], how="left", maintain_order="left")
    rows.append(wo.select(
        kind=pl.lit("WRITE_OFF"),
        system=pl.when(pl.col("office") == "NYC").then(pl.lit("clio")).otherwise(pl.lit("actionstep")),
        invoice_number="number", line_item_number=pl.lit(None, pl.String),
        booking_id=pl.lit(None, pl.Int64), timekeeper_id=pl.lit(None, pl.String),
        matter_number="matter_number", entry_date="date",
        usd_c=pl.Series(to_usd_cents(wo["amount_c"].to_numpy(), wo["fx_micro"].to_numpy())),
        detail=pl.col("reason") + "; " + dec(pl.col("amount_c")).cast(pl.String) + " "
        + pl.col("currency")))
    gt = pl.concat(rows, how="vertical_relaxed")
    order = {k: i for i, k in enumerate(ANOMALY_KINDS)}
    gt = gt.with_columns(ko=pl.col("kind").replace_strict(order, return_dtype=pl.Int64))
    gt = gt.with_columns(lnum=pl.col("line_item_number").cast(pl.Int64))
    gt = gt.sort(["ko", "invoice_number", "lnum", "booking_id", "timekeeper_id", "entry_date",
                  "matter_number"], nulls_last=True)
    gt = gt.with_columns(anomaly_id=pl.format("A{}", (pl.int_range(1, pl.len() + 1) + 100000)
                                              .cast(pl.String).str.slice(1)),
                         amount_usd=dec(pl.col("usd_c")))
    return gt.select([pl.col(c).cast(t) for c, t in GROUND_TRUTH.columns])

