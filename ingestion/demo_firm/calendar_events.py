"""Calendar entries of the NYC office (Clio), and events planted with no time recorded."""
from __future__ import annotations

import numpy as np
import polars as pl

from .scales import Scale, rng_for
from .timekeeping import business_days

SUMMARY = {"litigation": ["Hearing preparation session", "Deposition", "Case team meeting"],
           "counseling": ["Client advisory call", "Regulator meeting", "Compliance workshop"],
           "transactional": ["Negotiation call", "Signing meeting", "Deal team check-in"]}
INTERNAL = ["Practice group meeting", "Firm CLE session", "Associate training"]
UNRECORDED = {"litigation": "Strategy call with client", "counseling": "Client call on advice",
              "transactional": "Call with seller counsel"}


def calendar(scale: Scale, seed: int, entries: pl.DataFrame, md: pl.DataFrame,
             team: pl.DataFrame, tks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(calendar rows: cid, tk, matter (nullable), summary, start_at, end_at; planted rows)."""
    rng = rng_for(seed, "calendar")
    office = md["office"].to_numpy()
    area = md["practice_area"].to_numpy()
    fee = entries.filter(pl.col("kind") == "F").select("tk", "matter", "date")
    fee = fee.filter(pl.Series(office[fee["matter"].to_numpy()] == "NYC"))
    share = 0.3 if scale.name == "tiny" else 0.05
    base = fee.filter(pl.Series(rng.random(fee.height) < share)).unique().sort(["date", "tk", "matter"])
    a = area[base["matter"].to_numpy()]
    j = rng.integers(0, 3, base.height)
    base = base.with_columns(summary=pl.Series([SUMMARY[x][y] for x, y in zip(a, j)], dtype=pl.String),
                             planted=pl.lit(False))
    nyc_tk = np.flatnonzero(tks["office"].to_numpy() == "NYC")
    days = business_days(scale)
    n_int = max(1, base.height // 4)
    internal = pl.DataFrame({
        "tk": rng.choice(nyc_tk, n_int), "matter": pl.Series([None] * n_int, dtype=pl.Int64),
        "date": rng.choice(days, n_int),
        "summary": pl.Series(np.array(INTERNAL)[rng.integers(0, 3, n_int)], dtype=pl.String),
        "planted": np.zeros(n_int, bool)})
    # events on a team's matter with no time entry by that person on that matter that day
    t = team.filter(pl.Series(office[team["matter"].to_numpy()] == "NYC"))
    k = scale.unrecorded * 4 + 10
    pick = rng.integers(0, t.height, k)
    cand = pl.DataFrame({"tk": t["tk"].to_numpy()[pick], "matter": t["matter"].to_numpy()[pick],
                         "date": rng.choice(days, k)})
    any_time = entries.filter(pl.col("kind") == "F").select("tk", "matter", "date")
    cand = (cand.join(any_time, on=["tk", "matter", "date"], how="anti", maintain_order="left")
            .unique(subset=["tk", "matter", "date"], keep="first", maintain_order=True)
            .head(scale.unrecorded))
    cand = cand.with_columns(
        summary=pl.Series([UNRECORDED[x] for x in area[cand["matter"].to_numpy()]], dtype=pl.String),
        planted=pl.lit(True))
    cal = pl.concat([base, internal.with_columns(pl.col("date").cast(pl.Date)), cand],
                    how="vertical_relaxed")
    cal = cal.sort(["date", "tk", "matter", "summary"], nulls_last=True)
    minutes = rng.integers(0, 16, cal.height) * 30
    length = rng.integers(1, 5, cal.height) * 30
    start = (cal["date"].to_numpy().astype("datetime64[us]")
             + (13 * 60 + minutes).astype("timedelta64[m]"))
    end = start + length.astype("timedelta64[m]")
    cal = cal.with_columns(start_at=pl.Series(start).dt.replace_time_zone("UTC"),
                           end_at=pl.Series(end).dt.replace_time_zone("UTC"))
    cal = cal.with_row_index("cid", offset=1).with_columns(pl.col("cid").cast(pl.Int64))
    return cal, cal.filter(pl.col("planted"))
