"""Clients (with LEDES client ids, some on an e-billing platform) and their matters and teams."""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from .scales import Scale, rng_for

ADJ = ["Northwind", "Bluewater", "Granite", "Harbor", "Summit", "Cedar", "Ironbridge", "Lumen",
       "Meridian", "Oakridge", "Pinnacle", "Redstone", "Silverline", "Tidewater", "Vantage",
       "Westbrook", "Aurora", "Brightfield", "Copperleaf", "Evergreen", "Falcon", "Keystone",
       "Lakeside", "Monarch", "Orchard", "Quarry", "Riverton", "Sterling", "Trident", "Windmere"]
NOUN = ["Logistics", "Capital", "Pharma", "Energy", "Foods", "Holdings", "Systems", "Media",
        "Insurance", "Robotics", "Shipping", "Textiles", "Motors", "Analytics", "Biosciences",
        "Retail", "Minerals", "Aviation", "Telecom", "Realty"]
SUFFIX = {"USD": ["Inc.", "Corp.", "LLC"], "GBP": ["plc", "Ltd"], "EUR": ["GmbH", "SA", "NV"]}
OPPONENTS = ["Acheron Partners", "Borealis Group", "Castellan Ltd", "Draycott Industries",
             "Emberly Systems", "Fordham Marine", "Galloway Trust", "Highgate Labs"]
AREAS = ["litigation", "counseling", "transactional"]
AREA_PREFIX = {"litigation": "L", "counseling": "C", "transactional": "P"}


def clients(scale: Scale, seed: int) -> pl.DataFrame:
    rng = rng_for(seed, "clients")
    rows = []
    code = 0
    for office in ("NYC", "LDN"):
        n = scale.clients[office]
        if office == "NYC":
            cur = np.full(n, "USD")
        else:
            cur = rng.choice(np.array(["GBP", "EUR", "USD"]), n, p=[0.6, 0.25, 0.15])
            cur[:3] = ["GBP", "EUR", "GBP"][: min(3, n)]
        n_eb = max(2, round(scale.ebilled_share * n))
        eb = np.zeros(n, bool)
        eb[rng.permutation(n)[:n_eb]] = True
        terms = rng.choice(np.array([30, 45, 60]), n, p=[0.5, 0.3, 0.2])
        plat_i = 0
        for i in range(n):
            code += 1
            k = code - 1
            name = f"{ADJ[k % len(ADJ)]} {NOUN[(k // len(ADJ)) % len(NOUN)]}"
            gen = k // (len(ADJ) * len(NOUN))
            if gen:
                name += f" {gen + 1}"
            suffix = SUFFIX[str(cur[i])][k % len(SUFFIX[str(cur[i])])]
            platform = None
            if eb[i]:
                platform = "brightflag" if plat_i % 2 == 0 else "legal_tracker"
                plat_i += 1
            rows.append({
                "client": k, "office": office, "client_code": f"C{code:04d}",
                "name": f"{name} {suffix}", "currency": str(cur[i]),
                "ebilling_platform": platform, "payment_terms_days": int(terms[i]),
            })
    return pl.DataFrame(rows)


def matters(scale: Scale, seed: int, cl: pl.DataFrame, tks: pl.DataFrame) -> pl.DataFrame:
    """Matters with billing method, split payer, partners; closed legacy matters included."""
    rng = rng_for(seed, "matters")
    n_cl = cl.height
    per = np.maximum(1, rng.poisson(scale.matters_per_client - 1, n_cl) + 1)
    client = np.repeat(np.arange(n_cl), per)
    n = client.size
    office = cl["office"].to_numpy()[client]
    ebilled = cl["ebilling_platform"].is_not_null().to_numpy()[client]
    currency = cl["currency"].to_numpy()[client]
    seq = np.arange(n) - np.repeat(np.cumsum(per) - per, per) + 1
    area = rng.choice(np.array(AREAS), n, p=[0.5, 0.25, 0.25])
    u = rng.random(n)
    flat = (~ebilled) & (u < scale.flat_share)
    split = (~ebilled) & (~flat) & (u >= scale.flat_share) & (u < scale.flat_share + scale.split_share)
    if scale.name == "tiny":  # make sure every billing shape exists
        nyc_non_eb = np.flatnonzero((~ebilled) & (office == "NYC"))
        flat[:] = False
        split[:] = False
        flat[nyc_non_eb[0]] = True
        split[nyc_non_eb[1]] = True
        ldn_non_eb = np.flatnonzero((~ebilled) & (office == "LDN"))
        if ldn_non_eb.size:
            split[ldn_non_eb[0]] = True
    # second payer: another client of the same office and currency
    payer2 = np.full(n, -1)
    cl_office = cl["office"].to_numpy()
    cl_cur = cl["currency"].to_numpy()
    for i in np.flatnonzero(split):
        cands = np.flatnonzero((cl_office == office[i]) & (cl_cur == currency[i])
                               & (np.arange(n_cl) != client[i]))
        if cands.size == 0:
            split[i] = False
            continue
        payer2[i] = cands[(i * 7 + 3) % cands.size]
    split_pct = np.where(split, rng.choice(np.array([50, 60, 70, 75]), n), 100)
    flat_fee_c = np.where(flat, rng.integers(5, 26, n) * 1000_00, 0)

    # partners: billing (originating) and responsible; NYC partner 0 bills a larger share
    tk_office = tks["office"].to_numpy()
    tk_cls = tks["classification"].to_numpy()
    billing = np.zeros(n, np.int64)
    responsible = np.zeros(n, np.int64)
    for off in ("NYC", "LDN"):
        m = office == off
        partners = np.flatnonzero((tk_office == off) & (tk_cls == "PARTNR"))
        w = np.ones(partners.size)
        if off == "NYC":
            w[0] = max(3.0, partners.size / 12)
        w /= w.sum()
        billing[m] = rng.choice(partners, m.sum(), p=w)
        if off == "NYC" and scale.name == "tiny":  # the 5% partner file includes a split
            billing[m & split] = partners[0]
        senior = np.flatnonzero((tk_office == off) & np.isin(tk_cls, ["PARTNR", "OFCOUN"]))
        responsible[m] = rng.choice(senior, m.sum())
    start = np.datetime64(scale.start)
    open_date = start - rng.integers(30, 1200, n).astype("timedelta64[D]")
    mdf = pl.DataFrame({
        "matter": np.arange(n, dtype=np.int64), "client": client, "office": office,
        "seq": seq, "practice_area": area, "flat": flat, "split": split, "payer2": payer2,
        "split_pct": split_pct.astype(np.int64), "flat_fee_c": flat_fee_c.astype(np.int64),
        "billing_tk": billing, "responsible_tk": responsible, "open_date": open_date,
        "active": np.ones(n, bool),
    })
    # legacy matters, closed before the period: present in the systems, no activity
    n_old = max(1, n // 20)
    oc = rng.integers(0, n_cl, n_old)
    old_open = start - rng.integers(1300, 2500, n_old).astype("timedelta64[D]")
    old = pl.DataFrame({
        "matter": np.arange(n, n + n_old, dtype=np.int64), "client": oc,
        "office": cl["office"].to_numpy()[oc], "seq": np.zeros(n_old, np.int64),
        "practice_area": rng.choice(np.array(AREAS), n_old), "flat": np.zeros(n_old, bool),
        "split": np.zeros(n_old, bool), "payer2": np.full(n_old, -1),
        "split_pct": np.full(n_old, 100, np.int64), "flat_fee_c": np.zeros(n_old, np.int64),
        "billing_tk": billing[rng.integers(0, n, n_old)], "responsible_tk": np.zeros(n_old, np.int64),
        "open_date": old_open, "active": np.zeros(n_old, bool),
    })
    old = old.with_columns(responsible_tk=pl.col("billing_tk"))
    # billing partner of a legacy matter must be of its office
    mdf = pl.concat([mdf, old])
    off_arr = mdf["office"].to_numpy()
    bt = mdf["billing_tk"].to_numpy().copy()
    wrong = tk_office[bt] != off_arr
    for i in np.flatnonzero(wrong):
        bt[i] = np.flatnonzero((tk_office == off_arr[i]) & (tk_cls == "PARTNR"))[0]
    mdf = mdf.with_columns(billing_tk=pl.Series(bt), responsible_tk=pl.when(pl.col("active"))
                           .then(pl.col("responsible_tk")).otherwise(pl.Series(bt)))
    # number per client
    mdf = mdf.sort(["client", "matter"]).with_columns(
        seq=pl.int_range(1, pl.len() + 1).over("client")).sort("matter")
    codes = cl["client_code"].to_numpy()
    mdf = mdf.with_columns(
        matter_number=pl.Series(codes[mdf["client"].to_numpy()]) + "-"
        + pl.col("seq").cast(pl.String).str.zfill(4),
        client_reference=pl.lit("CM-") + ((pl.col("matter") * 7919 + 1301) % 90000 + 10000)
        .cast(pl.String),
        close_date=pl.when(pl.col("active")).then(None)
        .otherwise(pl.col("open_date") + pl.duration(days=400)).cast(pl.Date),
        ebilled=pl.Series(cl["ebilling_platform"].is_not_null().to_numpy()[mdf["client"].to_numpy()]),
        currency=pl.Series(cl["currency"].to_numpy()[mdf["client"].to_numpy()]),
    )
    names = cl["name"].to_numpy()[mdf["client"].to_numpy()]
    area_arr = mdf["practice_area"].to_numpy()
    mi = mdf["matter"].to_numpy()
    desc = []
    for i, (nm, ar) in enumerate(zip(names, area_arr)):
        short = nm.rsplit(" ", 1)[0]
        if ar == "litigation":
            desc.append(f"{short} v. {OPPONENTS[mi[i] % len(OPPONENTS)]}")
        elif ar == "counseling":
            desc.append(f"{short}: regulatory advice {mi[i] % 97 + 1}")
        else:
            desc.append(f"{short}: acquisition project {mi[i] % 89 + 1}")
    return mdf.with_columns(description=pl.Series(desc))


def teams(scale: Scale, seed: int, md: pl.DataFrame, tks: pl.DataFrame) -> pl.DataFrame:
    """(matter, tk) pairs: who records time on which active matter."""
    rng = rng_for(seed, "teams")
    act = md.filter(pl.col("active"))
    m = act["matter"].to_numpy()
    office = act["office"].to_numpy()
    tk_office = tks["office"].to_numpy()
    tk_cls = tks["classification"].to_numpy()
    pairs_m = [m, m]
    pairs_t = [act["billing_tk"].to_numpy(), act["responsible_tk"].to_numpy()]
    for off in ("NYC", "LDN"):
        sel = office == off
        staff = np.flatnonzero((tk_office == off) & (tk_cls != "PARTNR"))
        allk = np.flatnonzero(tk_office == off)
        k = scale.team_size
        pairs_m.append(np.repeat(m[sel], k))
        pairs_t.append(rng.choice(staff, sel.sum() * k))
        # every timekeeper of the office is on at least one matter
        pairs_m.append(rng.choice(m[sel], allk.size))
        pairs_t.append(allk)
    return (pl.DataFrame({"matter": np.concatenate(pairs_m), "tk": np.concatenate(pairs_t)})
            .unique().sort(["tk", "matter"]))


def first_of_month(d: date) -> date:
    return date(d.year, d.month, 1)
