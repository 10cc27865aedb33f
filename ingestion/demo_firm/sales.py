"""The sales/finance system: customers, month-end fx rates, revenue bookings, cash receipts.

Bookings of ordinary invoices tie to the invoice exactly. Variance causes are planted on chosen
invoices (one cause per invoice), including one billing partner's month that is off by ~5%.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import polars as pl

from .money import FX_SCALE, dec, div_half_up, to_usd_cents
from .scales import AS_OF, Scale, rng_for

BASE_FX = {"GBP": 1.27, "EUR": 1.08}


def fx_rates(scale: Scale, seed: int) -> pl.DataFrame:
    """Month-end rate to USD for every month from the start to the as-of month (millionths)."""
    rng = rng_for(seed, "fx")
    months = np.arange(np.datetime64("2024-01", "M"), np.datetime64(AS_OF, "M") + 1)
    rows = []
    for cur, base in BASE_FX.items():
        walk = base * np.exp(np.cumsum(rng.normal(0, 0.012, months.size)))
        for m, r in zip(months, walk):
            rows.append((cur, str(m), round(float(r) * FX_SCALE)))
    for m in months:
        rows.append(("USD", str(m), FX_SCALE))
    df = pl.DataFrame(rows, schema={"currency": pl.String, "month": pl.String,
                                    "fx_micro": pl.Int64}, orient="row")
    start = str(np.datetime64(scale.start, "M"))
    return df.filter(pl.col("month") >= start).sort(["currency", "month"])


def request_ids(keys: list[str], seed: int) -> list[str]:
    out = []
    for k in keys:
        h = hashlib.sha256(f"{seed}:{k}".encode()).hexdigest()
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}")
    return out


def bookings(scale: Scale, seed: int, bills: pl.DataFrame, lines: pl.DataFrame,
             entries: pl.DataFrame, fx: pl.DataFrame, cl: pl.DataFrame, tks: pl.DataFrame
             ) -> tuple[pl.DataFrame, list[dict], dict]:
    """(revenue_bookings with *_c integer columns, ground-truth rows, variance-partner info)."""
    rng = rng_for(seed, "sales")
    codes = cl["client_code"].to_numpy()
    tk_ids = tks["timekeeper_id"].to_numpy()
    b = bills.sort("bill").with_columns(
        period=pl.col("invoice_date").dt.strftime("%Y-%m"),
        customer_id=pl.Series(codes[bills.sort("bill")["payer"].to_numpy()]),
        partner_code=pl.Series(tk_ids[bills.sort("bill")["billing_tk"].to_numpy()]),
    )
    assert b["fx_micro"].null_count() == 0
    b = b.with_columns(usd_c=pl.Series(to_usd_cents(b["total_c"].to_numpy(),
                                                     b["fx_micro"].to_numpy())))
    # fees at the pre-increase rates, per bill (for RATE_DEFINITION)
    prev = (lines.filter((pl.col("kind") == "F") & pl.col("eid").is_not_null())
            .join(entries.select("eid", "prev_price_c"), on="eid", maintain_order="left")
            .with_columns(old=pl.col("units_x100") * pl.col("prev_price_c") // 100
                          + pl.col("discount_c"))
            .group_by("bill").agg(old_fees_c=pl.col("old").sum(), n_f=pl.len()))
    b = b.join(prev, on="bill", how="left", maintain_order="left").with_columns(
        pl.col("old_fees_c").fill_null(0), pl.col("n_f").fill_null(0))
    n = b.height
    bill_ids = b["bill"].to_numpy()
    fees = b["fees_c"].to_numpy().copy()
    exps = b["expenses_c"].to_numpy().copy()
    split_pct = b["pct"].to_numpy().copy()
    fxm = b["fx_micro"].to_numpy().copy()
    period = b["period"].to_numpy().astype(object).copy()
    bdate = b["invoice_date"].to_numpy().astype("datetime64[D]").copy()
    usd = b["usd_c"].to_numpy()
    cause = np.full(n, None, dtype=object)
    cur = b["currency"].to_numpy()
    flat = b["flat"].to_numpy()
    split = b["split"].to_numpy()
    rate_var = b["old_fees_c"].to_numpy() - fees  # only meaningful for hourly, non-split
    rate_ok = (cur == "USD") & ~flat & ~split & (b["n_f"].to_numpy() > 0) & (rate_var != 0)

    # the variance partner: NYC partner billing the most invoices in one month
    nyc = b.filter(pl.col("office") == "NYC")
    pm = (nyc.group_by(["billing_tk", "period"]).agg(k=pl.len(), t=pl.col("usd_c").sum())
          .sort(["k", "t", "period", "billing_tk"], descending=[True, True, True, False]))
    vp_tk, vp_month = pm.row(0)[0], pm.row(0)[1]
    in_vp = ((b["billing_tk"] == vp_tk) & (b["period"] == vp_month)).to_numpy()
    vp_all = (b["billing_tk"] == vp_tk).to_numpy()
    total_vp = int(usd[in_vp].sum())
    target = total_vp * 5 // 100
    acc = 0
    idx = np.flatnonzero(in_vp)
    by_size = idx[np.argsort(usd[idx], kind="stable")]
    for kind, share in (("MISSING_IN_SALES", 0.7), ("TIMING", 0.9)):
        for i in by_size:
            if cause[i] is None and acc + usd[i] <= share * target:
                cause[i] = kind
                acc += int(usd[i])
                break
    for i in by_size:
            if cause[i] is None and usd[i] <= 0.4 * target and acc + usd[i] <= target:
                cause[i] = kind
                acc += int(usd[i])
                break
    mf = b["matter_fees_c"].to_numpy()
    me = b["matter_expenses_c"].to_numpy()
    for i in by_size[::-1]:
        if cause[i] is None and split[i] and cur[i] == "USD" and acc < target:
            cause[i] = "SPLIT_ALLOCATION"
            acc += int((mf[i] + me[i]) // 10)
            break
    for i in by_size:
        if cause[i] is not None:
            continue
        cause[i] = "ROUNDING_FX_CENTS"
        acc += 3
        break
    for i in by_size[::-1]:
        if acc >= target * 0.97:
            break
        if cause[i] is None and rate_ok[i] and abs(acc - rate_var[i] - target) < abs(acc - target):
            cause[i] = "RATE_DEFINITION"
            acc -= int(rate_var[i])
    vp_causes = sorted({str(c).replace("_CENTS", "") for c in cause[in_vp] if c is not None})

    # the same causes, scattered over other invoices (never the variance partner's)
    pool = rng.permutation(np.flatnonzero(~vp_all))
    used = ~np.array([c is None for c in cause]) | vp_all
    k = scale.sales_plants

    def pick(ok: np.ndarray, kind: str, m: int = k) -> None:
        sel = pool[ok[pool] & ~used[pool]][:m]
        used[sel] = True
        cause[sel] = kind

    pick(np.ones(n, bool), "MISSING_IN_SALES")
    pick(np.ones(n, bool), "DUPLICATE_BOOKING")
    pick(np.ones(n, bool), "TIMING")
    pick(cur != "USD", "ROUNDING_FX_RATE")
    pick(cur == "USD", "ROUNDING_FX_CENTS", max(1, k // 2))
    pick(rate_ok, "RATE_DEFINITION")
    pick(split & (cur == "USD") & (mf % 10 == 0) & (me % 10 == 0), "SPLIT_ALLOCATION")
    if not (cause == "SPLIT_ALLOCATION").any():
        pick(split & (cur == "USD"), "SPLIT_ALLOCATION")

    gt: list[dict] = []
    numbers = b["number"].to_numpy()
    dup_rows = []
    usd_adj = np.zeros(n, np.int64)
    for i in np.flatnonzero(np.array([c is not None for c in cause])):
        c = cause[i]
        if c == "RATE_DEFINITION":
            fees[i] = fees[i] + rate_var[i]
            v = int(rate_var[i])
            d = f"fees booked at pre-increase rates: {fees[i] / 100:.2f} vs invoice {b['fees_c'][int(i)] / 100:.2f}"
        elif c == "TIMING":
            m0 = np.datetime64(bdate[i], "M")
            bdate[i] = m0.astype("datetime64[D]") - 1
            period[i] = str(m0 - 1)
            v = int(usd[i])
            d = f"booked in {period[i]}, invoice month {b['period'][int(i)]}; moves {usd[i] / 100:.2f} USD"
        elif c == "ROUNDING_FX_RATE":
            delta = int(rng.integers(2000, 6000)) * (1 if rng.random() < 0.5 else -1)
            fxm[i] = fxm[i] * (FX_SCALE + delta) // FX_SCALE
            v = int(to_usd_cents(np.array([fees[i] + exps[i]]), np.array([fxm[i]]))[0] - usd[i])
            d = f"booked at fx {fxm[i] / FX_SCALE:.6f} instead of the month-end rate"
        elif c == "ROUNDING_FX_CENTS":
            usd_adj[i] = -3
            v = -3
            d = "USD amount rounded per line, 0.03 below the invoice"
        elif c == "SPLIT_ALLOCATION":
            bs = split_pct[i] - 10
            df_ = div_half_up((bs - split_pct[i]) * mf[i], 100)
            de_ = div_half_up((bs - split_pct[i]) * me[i], 100)
            fees[i] += df_
            exps[i] += de_
            v = int(df_ + de_)
            d = f"booked with split {bs}% instead of {split_pct[i]}%"
            split_pct[i] = bs
        elif c == "MISSING_IN_SALES":
            v = -int(usd[i])
            d = "invoice never booked in the sales system"
        else:  # DUPLICATE_BOOKING
            v = int(usd[i])
            d = "booking created twice by a retried API call"
            dup_rows.append(i)
        kind = "ROUNDING_FX" if c.startswith("ROUNDING_FX") else c
        gt.append({"kind": kind, "bill": int(bill_ids[i]), "invoice_number": numbers[i],
                   "amount_c": v, "detail": d, "in_vp": bool(in_vp[i]), "_i": int(i)})
    amount = fees + exps
    usd_b = to_usd_cents(amount, fxm) + usd_adj
    for r in gt:  # the variance as the sales system's USD amounts show it
        i = r.pop("_i")
        if r["kind"] in ("RATE_DEFINITION", "SPLIT_ALLOCATION", "ROUNDING_FX"):
            r["amount_c"] = int(usd_b[i] - usd[i])
    keep = np.array([c != "MISSING_IN_SALES" for c in cause])
    created = bdate.astype("datetime64[s]") + np.timedelta64(12 * 3600, "s") + (bill_ids % 3600).astype("timedelta64[s]")
    rid = request_ids([f"bill-{x}" for x in bill_ids], seed)
    bk = pl.DataFrame({
        "bill": bill_ids, "invoice_ref": numbers, "customer_id": b["customer_id"],
        "matter_ref": b["matter_number"], "office": b["office"], "partner_code": b["partner_code"],
        "booking_date": bdate, "period": pl.Series(period, dtype=pl.String),
        "currency": b["currency"], "fees_c": fees, "expenses_c": exps, "amount_c": amount,
        "split_pct": split_pct, "fx_micro": fxm, "usd_c": usd_b, "request_id": rid,
        "created_at": created.astype("datetime64[us]"), "dup": np.zeros(n, np.int64),
    }).filter(pl.Series(keep))
    dups = bk.filter(pl.col("bill").is_in(bill_ids[dup_rows].tolist())).with_columns(
        created_at=pl.col("created_at") + pl.duration(seconds=95), dup=pl.lit(1, pl.Int64))
    # bookings with no invoice: manual accruals and a mistyped reference
    m = max(1, k)
    src = b.filter(pl.Series(~vp_all))[rng.choice(int((~vp_all).sum()), m, replace=False).tolist()]
    orphan_amt = rng.integers(1500, 25000, m) * 100
    orphan_ref = [None if j % 2 == 0 else f"{r[:3]}9{r[4:]}" for j, r in enumerate(src["number"])]
    ofx = src["fx_micro"].to_numpy()
    orphans = pl.DataFrame({
        "bill": np.full(m, -1), "invoice_ref": pl.Series(orphan_ref, dtype=pl.String),
        "customer_id": src["customer_id"], "matter_ref": src["matter_number"],
        "office": src["office"], "partner_code": src["partner_code"],
        "booking_date": src["invoice_date"].to_numpy().astype("datetime64[D]") + 3,
        "period": src["period"], "currency": src["currency"], "fees_c": orphan_amt,
        "expenses_c": np.zeros(m, np.int64), "amount_c": orphan_amt,
        "split_pct": np.full(m, 100), "fx_micro": ofx,
        "usd_c": to_usd_cents(orphan_amt, ofx),
        "request_id": request_ids([f"orphan-{j}" for j in range(m)], seed),
        "created_at": src["invoice_date"].to_numpy().astype("datetime64[s]")
        + np.timedelta64(3 * 86400 + 15 * 3600, "s").astype("timedelta64[us]"),
        "dup": np.full(m, 2),
    }).with_columns(booking_date=pl.col("booking_date").cast(pl.Date))
    allb = pl.concat([bk, dups, orphans], how="vertical_relaxed")
    allb = allb.with_columns(
        period=pl.when(pl.col("dup") == 2).then(pl.col("booking_date").dt.strftime("%Y-%m"))
        .otherwise(pl.col("period")))
    allb = allb.sort(["created_at", "bill", "dup"]).with_row_index("booking_id", offset=1).with_columns(
        pl.col("booking_id").cast(pl.Int64))
    for r in gt:
        if r["kind"] == "DUPLICATE_BOOKING":
            r["booking_id"] = int(allb.filter((pl.col("bill") == r["bill"]) & (pl.col("dup") == 1))
                                  ["booking_id"][0])
    for row in allb.filter(pl.col("dup") == 2).iter_rows(named=True):
        gt.append({"kind": "BOOKING_WITHOUT_INVOICE", "bill": None, "invoice_number": None,
                   "booking_id": row["booking_id"], "amount_c": int(row["usd_c"]),
                   "detail": "booking with no invoice: " + ("no invoice reference"
                                                            if row["invoice_ref"] is None
                                                            else f"unknown invoice {row['invoice_ref']}"),
                   "in_vp": False})
    inv_t = total_vp
    sales_t = int(allb.filter((pl.col("partner_code") == tk_ids[vp_tk])
                              & (pl.col("period") == vp_month))["usd_c"].sum())
    info = {"variance_partner": str(tk_ids[vp_tk]), "variance_month": vp_month,
            "variance_invoices_usd": f"{inv_t / 100:.2f}", "variance_sales_usd": f"{sales_t / 100:.2f}",
            "variance_pct": round((sales_t - inv_t) / inv_t * 100, 2) if inv_t else 0.0,
            "variance_causes": vp_causes}
    return allb, gt, info


def cash_receipts(receipts: pl.DataFrame, bills: pl.DataFrame, fx: pl.DataFrame,
                  cl: pl.DataFrame) -> pl.DataFrame:
    codes = cl["client_code"].to_numpy()
    r = receipts.join(bills.select("bill", "number", "payer", "currency"), on="bill", maintain_order="left")
    r = r.with_columns(month=pl.col("date").dt.strftime("%Y-%m")).join(
        fx, on=["currency", "month"], how="left", maintain_order="left")
    r = r.with_columns(usd_c=pl.Series(to_usd_cents(r["amount_c"].to_numpy(), r["fx_micro"].to_numpy())),
                       customer_id=pl.Series(codes[r["payer"].to_numpy()], dtype=pl.String))
    return r.sort(["date", "bill", "amount_c"]).with_row_index("receipt_id", offset=1)


def write_sqlite(path: Path, cl: pl.DataFrame, fx: pl.DataFrame, bk: pl.DataFrame,
                 cr: pl.DataFrame) -> dict[str, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.executescript("""
    CREATE TABLE customers (customer_id TEXT PRIMARY KEY, name TEXT NOT NULL,
        currency TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE fx_rates (currency TEXT NOT NULL, month TEXT NOT NULL,
        rate_to_usd NUMERIC(18,6) NOT NULL, PRIMARY KEY (currency, month));
    CREATE TABLE revenue_bookings (booking_id INTEGER PRIMARY KEY, invoice_ref TEXT,
        customer_id TEXT NOT NULL, matter_ref TEXT, office TEXT NOT NULL, partner_code TEXT,
        booking_date TEXT NOT NULL, period TEXT NOT NULL, currency TEXT NOT NULL,
        fees_local NUMERIC(18,2) NOT NULL, expenses_local NUMERIC(18,2) NOT NULL,
        amount_local NUMERIC(18,2) NOT NULL, split_percentage NUMERIC(18,2) NOT NULL,
        fx_rate NUMERIC(18,6) NOT NULL, amount_usd NUMERIC(18,2) NOT NULL,
        request_id TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE cash_receipts (receipt_id INTEGER PRIMARY KEY, invoice_ref TEXT,
        customer_id TEXT NOT NULL, received_date TEXT NOT NULL, currency TEXT NOT NULL,
        amount_local NUMERIC(18,2) NOT NULL, amount_usd NUMERIC(18,2) NOT NULL,
        updated_at TEXT NOT NULL);
    """)
    stamp = "2024-01-02T09:00:00Z"
    con.executemany("INSERT INTO customers VALUES (?,?,?,?)",
                    [(c, nm, cur, stamp) for c, nm, cur in
                     cl.select("client_code", "name", "currency").sort("client_code").iter_rows()])
    fxt = fx.with_columns(r=dec(pl.col("fx_micro"), 6).cast(pl.String))
    con.executemany("INSERT INTO fx_rates VALUES (?,?,?)",
                    fxt.select("currency", "month", "r").iter_rows())
    iso = "%Y-%m-%dT%H:%M:%SZ"
    bkt = bk.select(
        "booking_id", "invoice_ref", "customer_id", "matter_ref", "office", "partner_code",
        pl.col("booking_date").dt.strftime("%Y-%m-%d"), "period", "currency",
        dec(pl.col("fees_c")).cast(pl.String), dec(pl.col("expenses_c")).cast(pl.String),
        dec(pl.col("amount_c")).cast(pl.String),
        dec(pl.col("split_pct") * 100).cast(pl.String),
        dec(pl.col("fx_micro"), 6).cast(pl.String), dec(pl.col("usd_c")).cast(pl.String),
        "request_id", pl.col("created_at").dt.strftime(iso).alias("c"),
        pl.col("created_at").dt.strftime(iso).alias("u"))
    con.executemany("INSERT INTO revenue_bookings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    bkt.iter_rows())
    crt = cr.select(
        "receipt_id", "number", "customer_id", pl.col("date").dt.strftime("%Y-%m-%d"), "currency",
        dec(pl.col("amount_c")).cast(pl.String), dec(pl.col("usd_c")).cast(pl.String),
        (pl.col("date").dt.strftime("%Y-%m-%d") + "T18:00:00Z").alias("u"))
    con.executemany("INSERT INTO cash_receipts VALUES (?,?,?,?,?,?,?,?)", crt.iter_rows())
    con.commit()
    con.close()
    return {"customers": cl.height, "fx_rates": fx.height, "revenue_bookings": bk.height,
            "cash_receipts": cr.height}

