"""Each scale has its stated size (docs/demo-firm.md, "Scales")."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from ingestion.demo_firm import generator
from ingestion.demo_firm.scales import SCALES
from ingestion.demo_firm.timekeeping import MAX_PER_DAY, business_days


def _time_entries(tables: dict[str, pl.DataFrame]) -> int:
    clio = tables["clio.activities"].filter(pl.col("type") == "TimeEntry").height
    return clio + tables["actionstep.timeentries"].height


def _invoices(tables: dict[str, pl.DataFrame]) -> int:
    return tables["clio.bills"].height + tables["actionstep.bills"].height


def _months(scale) -> int:
    return (scale.end.year - scale.start.year) * 12 + scale.end.month - scale.start.month + 1


def test_tiny_size(tmp_path: Path):
    """Generation speed is measured by `lexrecon bench` (stage generate), not here."""
    generator.generate("tiny", 42, tmp_path / "tiny")
    firm = generator.build("tiny", 42)
    t = firm["tables"]
    assert t["clio.users"].height + t["actionstep.participants"].filter(
        pl.col("isTimekeeper") == "T").height == 20
    assert 100 <= _time_entries(t) < 1000
    assert _months(SCALES["tiny"]) == 3


def test_demo_size():
    firm = generator.build("demo", 42)
    t = firm["tables"]
    n_tk = t["clio.users"].height + t["actionstep.participants"].filter(
        pl.col("isTimekeeper") == "T").height
    assert n_tk == 120
    assert 135_000 <= _time_entries(t) <= 165_000
    assert _months(SCALES["demo"]) == 18
    assert set(firm["ground_truth"]["kind"].unique()) >= {"DUPLICATE", "SPLIT_ALLOCATION"}


def _expected_clipped_poisson(lam: float, cap: int) -> float:
    k = np.arange(cap + 1)
    logp = -lam + k * math.log(lam) - np.array([math.lgamma(i + 1) for i in k])
    p = np.exp(logp)
    return float((k * p).sum() + cap * (1 - p.sum()))


def test_large_parameters_give_the_stated_size():
    """Cheap check of the large scale's parameters; `lexrecon bench` checks the real output."""
    s = SCALES["large"]
    n_tk = sum(s.timekeepers.values())
    assert n_tk == 1450 and _months(s) == 12
    entries = n_tk * business_days(s).size * _expected_clipped_poisson(s.entries_per_tk_day, MAX_PER_DAY)
    assert 3.8e6 <= entries <= 4.2e6
    matters = sum(s.clients.values()) * s.matters_per_client
    billed_months = _months(s) - 1  # the last month is WIP at the as-of date
    assert 180_000 <= matters * billed_months <= 220_000
