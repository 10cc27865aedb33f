"""Timekeepers of both offices and their effective-dated standard rates."""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from .scales import Scale, rng_for

FIRST_NAMES = [
    "Avery", "Blake", "Casey", "Dana", "Ellis", "Finley", "Gray", "Harper", "Indra", "Jordan",
    "Kendall", "Logan", "Morgan", "Noor", "Oakley", "Parker", "Quinn", "Reese", "Sasha", "Taylor",
    "Umar", "Vera", "Wren", "Xavi", "Yara", "Zane", "Amara", "Bruno", "Chiara", "Dmitri",
    "Elena", "Farah", "Gideon", "Hana", "Isla", "Jonas", "Kira", "Luca", "Maya", "Nils",
]
LAST_NAMES = [
    "Abbott", "Barrow", "Calder", "Dunmore", "Everly", "Fairbank", "Garrick", "Hollis", "Ingram",
    "Jessop", "Kettering", "Langley", "Merriman", "Northcott", "Ormsby", "Pembroke", "Quarles",
    "Radley", "Stanhope", "Thorne", "Upton", "Vane", "Whitlock", "Yardley", "Ashdown", "Bramwell",
    "Colville", "Denholm", "Eastwood", "Fenwick", "Goodall", "Hartley", "Ilsley", "Jarvis",
    "Kimber", "Lockwood", "Marlowe", "Nettleton", "Oakes", "Prescott", "Rowntree", "Sherwood",
]

CLASSES = ["PARTNR", "OFCOUN", "ASSOC", "STFATT", "PARALG", "LGLAST"]
CLASS_SHARE = [0.25, 0.05, 0.40, 0.05, 0.18, 0.07]
# 2024 standard-rate ranges (whole currency units); NYC bills USD, LDN uses one rate card.
RATE_RANGE = {
    "NYC": {"PARTNR": (950, 1250), "OFCOUN": (850, 1050), "ASSOC": (475, 850),
            "STFATT": (350, 475), "PARALG": (250, 350), "LGLAST": (150, 210)},
    "LDN": {"PARTNR": (750, 1000), "OFCOUN": (650, 850), "ASSOC": (350, 650),
            "STFATT": (280, 380), "PARALG": (180, 260), "LGLAST": (120, 170)},
}
ATTORNEY = {"PARTNR", "OFCOUN", "ASSOC", "STFATT"}
RATE_DATES = [date(2024, 1, 1), date(2025, 1, 1), date(2025, 8, 1), date(2026, 1, 1),
              date(2026, 8, 1)]
MIDYEAR = {date(2025, 8, 1), date(2026, 8, 1)}


def _classes(n: int, rng: np.random.Generator) -> np.ndarray:
    counts = np.floor(np.array(CLASS_SHARE) * n).astype(int)
    counts[0] = max(counts[0], 3)
    counts[2] += n - counts.sum()
    out = np.repeat(np.array(CLASSES), counts)
    return out[:n]


def timekeepers(scale: Scale, seed: int) -> pl.DataFrame:
    """One row per timekeeper: tk (0-based firm-wide index), office, ids, names, class."""
    rng = rng_for(seed, "people")
    frames = []
    start = 0
    for office, prefix in (("NYC", "NY"), ("LDN", "LN")):
        n = scale.timekeepers[office]
        cls = _classes(n, rng)
        idx = np.arange(n)
        first = np.array(FIRST_NAMES)[(idx * 7 + rng.integers(0, 40, n)) % len(FIRST_NAMES)]
        last = np.array(LAST_NAMES)[(idx + (0 if office == "NYC" else 17)) % len(LAST_NAMES)]
        gen = idx // len(LAST_NAMES)  # disambiguate repeated surnames at large scale
        frames.append(pl.DataFrame({
            "tk": np.arange(start, start + n, dtype=np.int64),
            "office": office,
            "timekeeper_id": [f"{prefix}-TK{i + 1:04d}" for i in idx],
            "first_name": first,
            "last_name": [ln if g == 0 else f"{ln}-{chr(64 + g)}" if g < 27 else f"{ln}{g}"
                          for ln, g in zip(last, gen)],
            "classification": cls,
        }))
        start += n
    tks = pl.concat(frames)
    tks = tks.with_columns(
        name=pl.col("first_name") + " " + pl.col("last_name"),
        email=(pl.col("first_name").str.to_lowercase() + "." + pl.col("last_name").str.to_lowercase()
               .str.replace_all("-", "") + "." + pl.col("timekeeper_id").str.slice(-4)
               + "@halemarsh.com"),
        is_attorney=pl.col("classification").is_in(list(ATTORNEY)),
    )
    return tks


def rates(tks: pl.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Effective-dated standard rates: (eff_dates[K] as datetime64[D], rate[tk, K] whole units).

    Every timekeeper has a rate from 2024-01-01 and an increase every 1 January; about a third
    also get a mid-year increase on 1 August 2025 and another third on 1 August 2026.
    A rate of 0 in a column means "no change on that date" (the previous rate continues).
    """
    rng = rng_for(seed, "rates")
    n = tks.height
    office = tks["office"].to_numpy()
    cls = tks["classification"].to_numpy()
    lo = np.array([RATE_RANGE[o][c][0] for o, c in zip(office, cls)])
    hi = np.array([RATE_RANGE[o][c][1] for o, c in zip(office, cls)])
    base = (lo + (rng.random(n) * (hi - lo))).astype(np.int64) // 5 * 5
    group = rng.integers(0, 3, n)  # 0: Aug 2025 increase, 1: Aug 2026, 2: Jan only
    out = np.zeros((n, len(RATE_DATES)), dtype=np.int64)
    cur = base.copy()
    for k, d in enumerate(RATE_DATES):
        if k == 0:
            out[:, 0] = cur
            continue
        if d in MIDYEAR:
            hit = group == (0 if d.year == 2025 else 1)
            pct = rng.uniform(0.03, 0.05, n)
        else:
            hit = np.ones(n, bool)
            pct = rng.uniform(0.04, 0.07, n)
        new = ((cur * (1 + pct)) // 5 * 5).astype(np.int64)
        new = np.maximum(new, cur + 5)
        cur = np.where(hit, new, cur)
        out[:, k] = np.where(hit, cur, 0)
    return np.array(RATE_DATES, dtype="datetime64[D]"), out


def rate_table(eff: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Rates forward-filled: full[tk, K] = the rate in force from eff[K]."""
    full = rate.copy()
    for k in range(1, full.shape[1]):
        full[:, k] = np.where(full[:, k] == 0, full[:, k - 1], full[:, k])
    return full


def rate_on(eff: np.ndarray, full: np.ndarray, tk: np.ndarray, day: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """(rate in force on day, rate before the latest increase on or before day)."""
    k = (day[:, None] >= eff[None, :]).sum(axis=1) - 1
    now = full[tk, k]
    # the previous distinct rate: walk back until it differs
    prev = now.copy()
    kk = k.copy()
    for _ in range(full.shape[1]):
        kk = np.maximum(kk - 1, 0)
        cand = full[tk, kk]
        prev = np.where((prev == now) & (cand != now), cand, prev)
    return now, prev
