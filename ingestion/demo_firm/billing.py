"""Monthly invoices per matter (some split between two payers), their lines and write-downs."""
from __future__ import annotations

import numpy as np
import polars as pl

from .money import div_half_up
from .scales import AS_OF, Scale, rng_for

WRITE_DOWN_SHARE = 0.04  # hourly fee lines billed with a 10% courtesy discount


def invoice_date_for(work_month: np.ndarray) -> np.ndarray:
    """Bills for a month's work are dated the 5th of the next month (next business day)."""
    nxt = (work_month.astype("datetime64[M]") + 1).astype("datetime64[D]") + 4
    return np.busday_offset(nxt, 0, roll="forward")


def assign_bills(entries: pl.DataFrame, md: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Mark each entry with the month it is billed in and whether that bill exists by as-of."""
    rng = rng_for(seed, "writedowns")
    wm = entries["date"].dt.truncate("1mo").to_numpy().astype("datetime64[D]")
    inv = invoice_date_for(wm)
    billable = ~(entries["non_billable"] | entries["no_charge"] | entries["written_off"]).to_numpy()
    billed = billable & (inv <= np.datetime64(AS_OF))
    flat = md["flat"].to_numpy()[entries["matter"].to_numpy()]
    kind_f = (entries["kind"] == "F").to_numpy()
    wd = billed & kind_f & ~flat & (rng.random(entries.height) < WRITE_DOWN_SHARE)
    return entries.with_columns(
        bill_month=pl.Series(wm), invoice_date=pl.Series(inv), billed=pl.Series(billed),
        writedown=pl.Series(wd), dup=pl.lit(0, pl.Int64), plant=pl.lit(None, pl.String),
        plant_amt_c=pl.lit(None, pl.Int64), plant_detail=pl.lit(None, pl.String),
    )


def number_entries(entries: pl.DataFrame) -> pl.DataFrame:
    """Give every entry its activity id: ordered by date, then timekeeper, matter, time."""
    return (entries.sort(["date", "tk", "matter", "kind", "minute", "dup"], maintain_order=True)
            .with_row_index("eid", offset=1).with_columns(pl.col("eid").cast(pl.Int64)))


def build_bills(scale: Scale, entries: pl.DataFrame, md: pl.DataFrame, cl: pl.DataFrame
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(bills, lines). One bill per matter and work month with billed entries; a split matter
    gets a second bill for its second payer. Lines carry integer cents."""
    b = entries.lazy().filter(pl.col("billed")).select(
        "eid", "matter", "tk", "date", "kind", "units_x100", "price_c", "writedown", "narrative",
        "task", "activity", "expense_code", "bill_month", "invoice_date").collect()
    mcols = md.select("matter", "client", "office", "flat", "split", "payer2", "split_pct",
                      "flat_fee_c", "currency", "ebilled", "responsible_tk", "matter_number",
                      "billing_tk")
    keys = (b.group_by(["matter", "bill_month"])
            .agg(invoice_date=pl.col("invoice_date").first(), first_day=pl.col("date").min())
            .join(mcols, on="matter", maintain_order="left"))
    primary = keys.with_columns(part=pl.lit(0), payer=pl.col("client"),
                                pct=pl.col("split_pct"))
    second = (keys.filter(pl.col("split"))
              .with_columns(part=pl.lit(1), payer=pl.col("payer2"), pct=100 - pl.col("split_pct")))
    bills = pl.concat([primary, second]).with_columns(
        start=pl.min_horizontal(pl.col("bill_month"), pl.col("first_day")),
        end=(pl.col("bill_month").dt.offset_by("1mo") - pl.duration(days=1)),
    )
    # invoice numbers run per office in date order
    bills = bills.sort(["invoice_date", "office", "matter_number", "part"]).with_row_index(
        "bill", offset=0).with_columns(pl.col("bill").cast(pl.Int64))
    bills = bills.with_columns(
        number=pl.when(pl.col("office") == "NYC").then(pl.lit("NY-")).otherwise(pl.lit("LN-"))
        + (pl.int_range(1, pl.len() + 1).over("office") + 100000).cast(pl.String)
    )
    # hourly lines
    flat_m = md["flat"].to_numpy()[b["matter"].to_numpy()]
    hourly = b.filter(pl.Series(~(flat_m & (b["kind"] == "F").to_numpy())))
    value = hourly["units_x100"].to_numpy() * hourly["price_c"].to_numpy()
    assert (value % 100 == 0).all()
    value //= 100
    wd = np.where(hourly["writedown"].to_numpy(), -div_half_up(value * 10, 100), 0)
    full = value + wd
    hourly = hourly.with_columns(value_c=pl.Series(value), full_c=pl.Series(full))
    bl = bills.select("bill", "matter", "bill_month", "part", "pct", "split")
    lines = hourly.join(bl, on=["matter", "bill_month"], maintain_order="left")
    f = lines["full_c"].to_numpy()
    pct = lines["pct"].to_numpy()
    part = lines["part"].to_numpy()
    p0 = np.where(lines["split"].to_numpy(), div_half_up(f * np.where(part == 0, pct, 100 - pct), 100), f)
    total = np.where(part == 0, p0, f - p0)
    lines = lines.with_columns(total_c=pl.Series(total)).with_columns(
        discount_c=pl.col("total_c") - pl.col("value_c"))
    # flat-fee bills: one fee line for the month's fixed fee
    fb = bills.filter(pl.col("flat"))
    flat_lines = fb.select(
        "bill", "matter", "bill_month", "part", "pct", "split",
        tk=pl.col("responsible_tk"), date=pl.col("end"), kind=pl.lit("F"),
        units_x100=pl.lit(100, pl.Int64), price_c=pl.col("flat_fee_c"),
        value_c=pl.col("flat_fee_c"), full_c=pl.col("flat_fee_c"), total_c=pl.col("flat_fee_c"),
        discount_c=pl.lit(0, pl.Int64),
        narrative=pl.lit("Fixed fee for services in ") + pl.col("bill_month").dt.strftime("%B %Y"),
        eid=pl.lit(None, pl.Int64), task=pl.lit(None, pl.String),
        activity=pl.lit(None, pl.String), expense_code=pl.lit(None, pl.String),
    )
    keep = ["bill", "eid", "matter", "tk", "date", "kind", "units_x100", "price_c", "value_c",
            "full_c", "discount_c", "total_c", "narrative", "task", "activity", "expense_code"]
    lines = pl.concat([lines.select(keep), flat_lines.select(keep)])
    lines = lines.sort(["bill", "kind", "date", "eid"], descending=[False, True, False, False],
                       nulls_last=True)
    lines = lines.with_columns(line_number=pl.int_range(1, pl.len() + 1).over("bill"))
    lines = lines.with_row_index("line_id", offset=1).with_columns(pl.col("line_id").cast(pl.Int64))
    sums = lines.group_by("bill").agg(
        fees_c=pl.col("total_c").filter(pl.col("kind") == "F").sum(),
        expenses_c=pl.col("total_c").filter(pl.col("kind") == "E").sum(),
        matter_fees_c=pl.col("full_c").filter(pl.col("kind") == "F").sum(),
        matter_expenses_c=pl.col("full_c").filter(pl.col("kind") == "E").sum(),
    )
    bills = bills.join(sums, on="bill", maintain_order="left").with_columns(
        total_c=pl.col("fees_c") + pl.col("expenses_c"))
    terms = cl.select(payer="client", terms="payment_terms_days")
    bills = bills.join(terms, on="payer", maintain_order="left").with_columns(
        due=pl.col("invoice_date") + pl.duration(days=pl.col("terms"))).sort("bill")
    return bills, lines
