"""Sizes of the demo firm at each scale, and the fixed dates everything is built from.

No wall clock is read anywhere: the period and the as-of date are fixed, so the same seed and
scale give byte-identical output.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np

FIRM_NAME = "Hale & Marsh LLP"
LAW_FIRM_ID = "24-6437381"
PERIOD_END = date(2026, 9, 30)
AS_OF = PERIOD_END  # nothing dated after this exists in the output


@dataclass(frozen=True)
class Scale:
    name: str
    start: date                  # first day of work covered
    timekeepers: dict[str, int]  # per office
    clients: dict[str, int]      # per office (payers included)
    matters_per_client: float
    entries_per_tk_day: float    # mean time entries per timekeeper and working day
    team_size: int               # timekeepers per matter besides the partners
    ebilled_share: float         # share of clients on an e-billing platform
    split_share: float           # share of non-e-billed hourly matters split between two payers
    flat_share: float            # share of non-e-billed matters billed a flat monthly fee
    plants_per_code: int         # OCG findings planted per rule code (at least)
    sales_plants: int            # invoices per sales-variance cause, outside the 5% partner file
    rejections: int              # e-billed invoices rejected at least once
    unrecorded: int              # calendar events with no time recorded
    parquet_row_group: int = 256_000

    @property
    def end(self) -> date:
        return PERIOD_END


SCALES: dict[str, Scale] = {
    "tiny": Scale(
        name="tiny", start=date(2026, 7, 1), timekeepers={"NYC": 12, "LDN": 8},
        clients={"NYC": 6, "LDN": 5}, matters_per_client=2.0, entries_per_tk_day=0.45,
        team_size=3, ebilled_share=0.5, split_share=0.25, flat_share=0.1, plants_per_code=1,
        sales_plants=1, rejections=2, unrecorded=3,
    ),
    "demo": Scale(
        name="demo", start=date(2025, 4, 1), timekeepers={"NYC": 72, "LDN": 48},
        clients={"NYC": 60, "LDN": 40}, matters_per_client=6.0, entries_per_tk_day=3.2,
        team_size=5, ebilled_share=0.4, split_share=0.06, flat_share=0.06, plants_per_code=6,
        sales_plants=8, rejections=40, unrecorded=60,
    ),
    "large": Scale(
        name="large", start=date(2025, 10, 1), timekeepers={"NYC": 870, "LDN": 580},
        clients={"NYC": 2400, "LDN": 1600}, matters_per_client=4.5, entries_per_tk_day=10.6,
        team_size=5, ebilled_share=0.1, split_share=0.03, flat_share=0.03, plants_per_code=25,
        sales_plants=40, rejections=300, unrecorded=500,
    ),
}


def rng_for(seed: int, domain: str) -> np.random.Generator:
    """An independent generator per domain, so one domain's draws never shift another's."""
    return np.random.default_rng([seed, zlib.crc32(domain.encode())])
