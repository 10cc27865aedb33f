"""What clients paid (partial, late, short) and the AR write-offs, as the LPMs record them."""
from __future__ import annotations

import numpy as np
import polars as pl

from .money import div_half_up
from .scales import AS_OF, rng_for

PAYMENT_TYPES = np.array(["EFT", "Check", "Wire", "Credit Card"])
SHORT_REASON = "Short payment - client disputed charges"
BAD_DEBT_REASON = "Uncollectible - client insolvent"
EBILL_REASON = "E-billing reductions not recovered"


def payments(seed: int, bills: pl.DataFrame, ebill_outcome: pl.DataFrame
             ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(receipts: bill, date, amount_c, payment_type; write_offs: bill, date, amount_c, reason)."""
    rng = rng_for(seed, "payments")
    asof = np.datetime64(AS_OF)
    nb = bills.filter(~pl.col("ebilled")).sort("bill")
    n = nb.height
    bill = nb["bill"].to_numpy()
    total = nb["total_c"].to_numpy()
    inv = nb["invoice_date"].to_numpy().astype("datetime64[D]")
    due = nb["due"].to_numpy().astype("datetime64[D]")
    terms = (due - inv).astype(np.int64)
    u = rng.random(n)
    r1 = rng.random(n)
    r2 = rng.random(n)
    cat = np.digitize(u, [0.66, 0.78, 0.86, 0.92, 0.95])  # 0 on time 1 late 2 partial 3 short 4 bad 5 open
    on_time = inv + (7 + r1 * (terms - 7)).astype("timedelta64[D]")
    # every office has at least one short payment written off, even at the tiny scale
    for off in ("NYC", "LDN"):
        first = np.flatnonzero(nb["office"].to_numpy() == off)[:1]
        cat[first] = 3
        on_time[first] = inv[first] + 10
    late = due + (10 + r1 * 80).astype("timedelta64[D]")
    pays_b, pays_d, pays_a = [], [], []

    def add(mask, d, a):
        m = mask & (d <= asof) & (a > 0)
        pays_b.append(bill[m])
        pays_d.append(d[m])
        pays_a.append(a[m])

    add(cat == 0, on_time, total)
    add(cat == 1, late, total)
    half = div_half_up(total, 2)
    add(cat == 2, on_time, half)
    add(cat == 2, due + (5 + r2 * 55).astype("timedelta64[D]"), total - half)
    short_paid = total * (90 + (r2 * 9).astype(np.int64)) // 100
    add(cat == 3, on_time, short_paid)
    wo_b, wo_d, wo_a, wo_r = [], [], [], []
    m = (cat == 3) & (on_time + 30 <= asof)
    wo_b.append(bill[m]); wo_d.append(on_time[m] + 30); wo_a.append((total - short_paid)[m])
    wo_r.append(np.full(m.sum(), SHORT_REASON, dtype=object))
    bad_at = due + 120
    m = (cat == 4) & (bad_at <= asof)
    wo_b.append(bill[m]); wo_d.append(bad_at[m]); wo_a.append(total[m])
    wo_r.append(np.full(m.sum(), BAD_DEBT_REASON, dtype=object))
    # e-billed: the platform's payment, and the reductions written off when it arrives
    eo = ebill_outcome.filter(pl.col("paid_at").is_not_null()).join(
        bills.select("bill", "total_c"), on="bill", maintain_order="left")
    pays_b.append(eo["bill"].to_numpy())
    pays_d.append(eo["paid_at"].to_numpy().astype("datetime64[D]"))
    pays_a.append(eo["paid_c"].to_numpy())
    gap = eo["total_c"].to_numpy() - eo["paid_c"].to_numpy()
    wd = eo["paid_at"].to_numpy().astype("datetime64[D]") + 3
    m = (gap > 0) & (wd <= asof)
    wo_b.append(eo["bill"].to_numpy()[m]); wo_d.append(wd[m]); wo_a.append(gap[m])
    wo_r.append(np.full(m.sum(), EBILL_REASON, dtype=object))
    b = np.concatenate(pays_b)
    receipts = pl.DataFrame({
        "bill": b, "date": np.concatenate(pays_d), "amount_c": np.concatenate(pays_a),
        "payment_type": PAYMENT_TYPES[(b * 7 + 3) % PAYMENT_TYPES.size],
    }).sort(["date", "bill"])
    write_offs = pl.DataFrame({
        "bill": np.concatenate(wo_b), "date": np.concatenate(wo_d),
        "amount_c": np.concatenate(wo_a),
        "reason": pl.Series(np.concatenate(wo_r), dtype=pl.String),
    }).sort(["date", "bill"])
    return receipts, write_offs


def bill_balances(bills: pl.DataFrame, receipts: pl.DataFrame, write_offs: pl.DataFrame
                  ) -> pl.DataFrame:
    """Bills with paid_c, credits_c, due_c and last_event (date of the last receipt/write-off)."""
    p = receipts.group_by("bill").agg(paid_c=pl.col("amount_c").sum(), last_p=pl.col("date").max())
    w = write_offs.group_by("bill").agg(credits_c=pl.col("amount_c").sum(),
                                        last_w=pl.col("date").max())
    return (bills.join(p, on="bill", how="left", maintain_order="left").join(w, on="bill", how="left")
            .with_columns(pl.col("paid_c").fill_null(0), pl.col("credits_c").fill_null(0))
            .with_columns(due_c=pl.col("total_c") - pl.col("paid_c") - pl.col("credits_c"),
                          last_event=pl.max_horizontal("invoice_date", "last_p", "last_w"))
            .drop("last_p", "last_w").sort("bill"))
