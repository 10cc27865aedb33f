"""LEDES 1998B files as submitted to the e-billing platforms: one file per invoice.

Built with vectorised string concatenation; the field list comes from lexrecon.ledes.fields.
"""
from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from lexrecon.ledes.fields import FIELDS_1998B, FORMAT_1998B

from .money import cents_text, dec
from .scales import LAW_FIRM_ID


def ledes_text(el: pl.DataFrame, bills: pl.DataFrame, tks: pl.DataFrame, md: pl.DataFrame
               ) -> pl.DataFrame:
    """(number, text) for every e-billed invoice; ``el`` are the e-billed lines."""
    b = bills.select("bill", "start", "end", "bill_month", inv_total_c="total_c")
    names = tks.select("tk", tk_name=pl.col("last_name") + ", " + pl.col("first_name"))
    ref = md.select("matter", "client_reference")
    d = el.join(b, on="bill", maintain_order="left").join(names, on="tk", how="left").join(ref, on="matter")
    fee = pl.col("kind") == "F"
    ymd = "%Y%m%d"

    def f(expr: pl.Expr) -> pl.Expr:
        return expr.cast(pl.String).fill_null("")

    fields = {
        "INVOICE_DATE": pl.col("invoice_date").dt.strftime(ymd),
        "INVOICE_NUMBER": pl.col("number"),
        "CLIENT_ID": pl.col("client_code"),
        "LAW_FIRM_MATTER_ID": pl.col("matter_number"),
        "INVOICE_TOTAL": cents_text(pl.col("inv_total_c")),
        "BILLING_START_DATE": pl.col("start").dt.strftime(ymd),
        "BILLING_END_DATE": pl.col("end").dt.strftime(ymd),
        "INVOICE_DESCRIPTION": pl.lit("Legal services for ") + pl.col("bill_month").dt.strftime("%B %Y"),
        "LINE_ITEM_NUMBER": pl.col("line_number"),
        "EXP/FEE/INV_ADJ_TYPE": pl.col("kind"),
        "LINE_ITEM_NUMBER_OF_UNITS": dec(pl.col("units_x100"), 2),
        "LINE_ITEM_ADJUSTMENT_AMOUNT": cents_text(pl.col("discount_c")),
        "LINE_ITEM_TOTAL": cents_text(pl.col("total_c")),
        "LINE_ITEM_DATE": pl.col("date").dt.strftime(ymd),
        "LINE_ITEM_TASK_CODE": pl.col("task"),
        "LINE_ITEM_EXPENSE_CODE": pl.col("expense_code"),
        "LINE_ITEM_ACTIVITY_CODE": pl.col("activity"),
        "TIMEKEEPER_ID": pl.when(fee).then(pl.col("timekeeper_id")),
        "LINE_ITEM_DESCRIPTION": pl.col("narrative"),
        "LAW_FIRM_ID": pl.lit(LAW_FIRM_ID),
        "LINE_ITEM_UNIT_COST": cents_text(pl.col("price_c")),
        "TIMEKEEPER_NAME": pl.when(fee).then(pl.col("tk_name")),
        "TIMEKEEPER_CLASSIFICATION": pl.when(fee).then(pl.col("classification")),
        "CLIENT_MATTER_ID": pl.col("client_reference"),
    }
    assert tuple(fields) == FIELDS_1998B
    rec = d.sort(["bill", "line_number"]).select(
        "bill", "number",
        rec=pl.concat_str([f(e) for e in fields.values()], separator="|") + "[]")
    head = FORMAT_1998B + "\n" + "|".join(FIELDS_1998B) + "[]\n"
    return (rec.group_by("bill", "number", maintain_order=True)
            .agg(text=pl.lit(head) + pl.col("rec").str.join("\n") + pl.lit("\n"))
            .select("number", "text"))


def write_ledes(out_dir: Path, files: pl.DataFrame) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = str(out_dir)
    for number, text in files.iter_rows():
        fd = os.open(os.path.join(base, f"{number}.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, text.encode("ascii"))
        finally:
            os.close(fd)
    return files.height
