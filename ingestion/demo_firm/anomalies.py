"""Planted OCG rule breaks on e-billed lines (base data is clean; these are on purpose).

Each planted entry carries the rule code in ``plant``; the findings a correct checker reports
are derived in ``ground_truth.py`` from the final LEDES lines.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from .rules_files import MAX_DAILY_HOURS, cap_cents
from .scales import Scale, rng_for
from .timekeeping import TEMPLATES

VAGUE_TEXTS = ["Attention to file", "Work on matter", "Review file", "Follow up"]
ADMIN_TEXTS = ["Scan and bates label documents for the production set",
               "Organize file folders and update the case calendar for the team"]
TRAVEL_TEXTS = ["Travel to client headquarters for strategy meetings with management",
                "Travel to Chicago for the deposition of the plant manager"]
MEAL_TEXT = "Working dinner for the trial team during hearing preparation"
LINE_CODES = ["RATE_CAP", "TRAVEL", "BLOCK_BILLING", "VAGUE", "INCREMENT", "TASK_CODE", "LATE",
              "DUPLICATE", "ADMIN", "EXPENSE_DISALLOWED"]


class _Sparse:
    """A string column edited at a few rows (cheap on millions of rows)."""

    def __init__(self, s: pl.Series) -> None:
        self.s = s
        self.edits: dict[int, str | None] = {}

    def __getitem__(self, i: int) -> str | None:
        return self.edits.get(int(i), self.s[int(i)])

    def __setitem__(self, i: int, v: str | None) -> None:
        self.edits[int(i)] = v

    def series(self) -> pl.Series:
        out = self.s.clone()
        if self.edits:
            idx = sorted(self.edits)
            out.scatter(idx, pl.Series([self.edits[i] for i in idx], dtype=pl.String))
        return out


def plant_ocg(scale: Scale, seed: int, entries: pl.DataFrame, md: pl.DataFrame,
              cl: pl.DataFrame, tks: pl.DataFrame, rules: dict[int, dict]) -> pl.DataFrame:
    rng = rng_for(seed, "ocg")
    n_per = scale.plants_per_code
    e = entries
    matter = e["matter"].to_numpy()
    client = md["client"].to_numpy()[matter]
    ebilled = md["ebilled"].to_numpy()[matter]
    billed = e["billed"].to_numpy()
    kind_f = (e["kind"] == "F").to_numpy()
    tk = e["tk"].to_numpy()
    tk_ids = tks["timekeeper_id"].to_numpy()
    tk_cls = tks["classification"].to_numpy()
    units = e["units_x100"].to_numpy().copy()
    price = e["price_c"].to_numpy().copy()
    date = e["date"].to_numpy().astype("datetime64[D]").copy()
    inv = e["invoice_date"].to_numpy().astype("datetime64[D]")
    narrative = _Sparse(e["narrative"])
    task = _Sparse(e["task"])
    act = _Sparse(e["activity"])
    plant = _Sparse(e["plant"])
    amt = np.full(e.height, -1, dtype=np.int64)
    detail = _Sparse(e["plant_detail"])
    cand = np.flatnonzero(billed & kind_f & ebilled)
    order = rng.permutation(cand)
    used = np.zeros(e.height, bool)

    def take(n: int, ok=None) -> np.ndarray:
        sel = order[~used[order]]
        if ok is not None:
            sel = sel[ok[sel]]
        sel = sel[:n]
        used[sel] = True
        return sel

    # caps depend on the office only (every client of an office has the same rate caps)
    cap_tk = np.zeros(tks.height, np.int64)
    tk_office = tks["office"].to_numpy()
    cl_office = cl["office"].to_numpy()
    done: set[str] = set()
    for c in sorted(rules):
        off = cl_office[c]
        if off in done:
            continue
        done.add(off)
        for t in np.flatnonzero(tk_office == off):
            cap_tk[t] = cap_cents(rules[c], tk_ids[t], tk_cls[t]) or 0
    cap_of = cap_tk[tk]

    for i in take(n_per):
        price[i] = cap_of[i] + 5000
        plant[i], amt[i] = "RATE_CAP", (price[i] - cap_of[i]) * units[i] // 100
        detail[i] = f"unit cost {price[i] / 100:.2f} above cap {cap_of[i] / 100:.2f}"
    for j, i in enumerate(take(n_per, ok=price * 2 > cap_of + 2000)):
        narrative[i] = TRAVEL_TEXTS[j % 2]
        plant[i], amt[i] = "TRAVEL", (price[i] * 2 - cap_of[i]) * units[i] // 200
        detail[i] = f"travel billed at {price[i] / 100:.2f}, over 0.5 x cap {cap_of[i] / 100:.2f}"
    area = md["practice_area"].to_numpy()[matter]
    for j, i in enumerate(take(n_per)):
        others = [t[2] for t in TEMPLATES[area[i]] if t[2] != narrative[i]]
        narrative[i] = "; ".join([narrative[i], others[j % len(others)], others[(j + 5) % len(others)]])
        plant[i], detail[i] = "BLOCK_BILLING", "three tasks in one entry"
    for j, i in enumerate(take(n_per)):
        narrative[i] = VAGUE_TEXTS[j % len(VAGUE_TEXTS)]
        plant[i], detail[i] = "VAGUE", f"narrative '{narrative[i]}'"
    for i in take(n_per):
        units[i] += 5
        plant[i], detail[i] = "INCREMENT", f"{units[i] / 100:.2f} hours"
    for j, i in enumerate(take(n_per)):
        if j % 3 == 0:
            task[i] = None
            detail[i] = "blank task code"
        elif j % 3 == 1:
            act[i] = None
            detail[i] = "blank activity code"
        else:
            task[i] = "B110"
            detail[i] = "task code B110 not allowed"
        plant[i] = "TASK_CODE"
    dl_by_client = np.zeros(cl.height, np.int64)
    for c, r in rules.items():
        dl_by_client[c] = r["submission_deadline_days"]
    deadline = dl_by_client[client]
    earliest = inv - (deadline + 8).astype("timedelta64[D]")
    for j, i in enumerate(take(n_per, ok=earliest >= np.datetime64(scale.start))):
        date[i] = inv[i] - np.timedelta64(int(deadline[i]) + 3 + j % 6, "D")
        plant[i], detail[i] = "LATE", f"line dated {date[i]}, invoice {inv[i]}"
    dup_rows = take(n_per)
    for i in take(n_per):
        narrative[i] = ADMIN_TEXTS[int(i) % 2]
        plant[i], detail[i] = "ADMIN", "administrative task billed"
    meal_rows = take(n_per)
    # timekeepers billing a client without being on its approved list
    rows = order[~used[order]]
    pairs = (pl.DataFrame({"client": client[rows], "tk": tk[rows]})
             .group_by(["client", "tk"]).len()
             .filter(~pl.col("tk").is_in(md["billing_tk"].to_numpy().tolist()
                                          + md["responsible_tk"].to_numpy().tolist()))
             .sort(["len", "client", "tk"]))
    n_unapp = 1 if scale.name == "tiny" else max(2, n_per // 6)
    seen_clients: set[int] = set()
    for c, t, _ in pairs.iter_rows():
        if len(seen_clients) >= n_unapp:
            break
        if c in seen_clients:
            continue
        seen_clients.add(c)
        rules[c]["approved_timekeepers"].remove(str(tk_ids[t]))

    e = e.with_columns(
        units_x100=pl.Series(units), price_c=pl.Series(price),
        date=pl.Series(date), narrative=narrative.series(), task=task.series(),
        activity=act.series(), plant=plant.series(),
        plant_amt_c=pl.Series(amt).set(pl.Series(amt < 0), None),
        plant_detail=detail.series(),
    )
    # duplicates: the same line entered twice
    dups = e[dup_rows].with_columns(dup=pl.lit(1, pl.Int64), plant=pl.lit("DUPLICATE"),
                                    plant_detail=pl.lit("same line entered twice"),
                                    minute=pl.col("minute") + 1)
    # disallowed expenses: a working meal added to the bill
    src = e[meal_rows]
    meals = src.with_columns(
        kind=pl.lit("E"), tk=pl.Series(md["responsible_tk"].to_numpy()[src["matter"].to_numpy()]),
        units_x100=pl.lit(100, pl.Int64),
        price_c=pl.Series(rng.integers(40, 181, src.height) * 100),
        task=pl.lit(None, pl.String), activity=pl.lit(None, pl.String),
        expense_code=pl.lit("E111"), narrative=pl.lit(MEAL_TEXT),
        plant=pl.lit("EXPENSE_DISALLOWED"), plant_detail=pl.lit("meals (E111) not reimbursable"),
        writedown=pl.lit(False), plant_amt_c=pl.lit(None, pl.Int64),
    ).with_columns(prev_price_c=pl.col("price_c"))
    e = pl.concat([e, dups, meals])
    e = _plant_daily_max(e, md, n_per, rng)
    return e


def _plant_daily_max(e: pl.DataFrame, md: pl.DataFrame, n: int, rng: np.random.Generator
                     ) -> pl.DataFrame:
    """Lengthen one entry so that timekeeper's hours for one client on one day pass the max."""
    client = pl.Series(md["client"].to_numpy()[e["matter"].to_numpy()])
    ebilled = pl.Series(md["ebilled"].to_numpy()[e["matter"].to_numpy()])
    e = e.with_columns(_client=client, _eb=ebilled)
    fee = pl.col("billed") & (pl.col("kind") == "F") & pl.col("_eb")
    sums = e.filter(fee).group_by(["_client", "tk", "date"]).agg(s=pl.col("units_x100").sum())
    e = e.with_row_index("_r")
    planted = (e.filter(pl.col("plant").is_not_null() | (pl.col("dup") > 0))
               .select("_client", "tk", "date").unique())
    cand = (e.filter(fee).join(sums, on=["_client", "tk", "date"], maintain_order="left")
            .join(planted, on=["_client", "tk", "date"], how="anti", maintain_order="left")
            .select("_r", "_client", "tk", "date", "s", "units_x100").sort("_r"))
    perm = rng.permutation(cand.height)
    cand = cand[perm].unique(subset=["_client", "tk", "date"], keep="first", maintain_order=True)
    # keep groups far apart: one per client and timekeeper
    cand = cand.unique(subset=["_client", "tk"], keep="first", maintain_order=True).head(n)
    target = MAX_DAILY_HOURS * 100 + 50
    rows = cand["_r"].to_numpy()
    add = target - cand["s"].to_numpy()
    units = e["units_x100"].to_numpy().copy()
    units[rows] += add
    plant = e["plant"].clone()
    plant.scatter(rows, ["DAILY_MAX"] * rows.size)
    det = e["plant_detail"].clone()
    det.scatter(rows, [f"day total {target / 100:.2f} hours for this client"] * rows.size)
    return e.with_columns(units_x100=pl.Series(units), plant=plant,
                          plant_detail=det).drop("_r", "_client", "_eb")
