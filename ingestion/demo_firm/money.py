"""Money in integer cents; conversion to Decimal columns happens only when writing."""
from __future__ import annotations

import numpy as np
import polars as pl

FX_SCALE = 1_000_000  # fx rates are held as integer millionths (NUMERIC(18,6))


def div_half_up(num: np.ndarray, den: int | np.ndarray) -> np.ndarray:
    """Integer division rounding half away from zero (exact, no floats)."""
    num = np.asarray(num, dtype=np.int64)
    sign = np.where(num < 0, -1, 1)
    return sign * ((np.abs(num) * 2 + den) // (2 * den))


def to_usd_cents(local_cents: np.ndarray, fx_micro: np.ndarray) -> np.ndarray:
    """round(local × rate, 2) with the rate in millionths."""
    return div_half_up(np.asarray(local_cents, np.int64) * np.asarray(fx_micro, np.int64), FX_SCALE)


def dec(expr: pl.Expr, scale: int = 2) -> pl.Expr:
    """Integer minor units (10**-scale) to Decimal(18, scale)."""
    return (expr.cast(pl.Decimal(18, scale)) / (10**scale)).cast(pl.Decimal(18, scale))


def cents_text(cents: pl.Expr) -> pl.Expr:
    """Integer cents to plain decimal text with two places ("-70.00", "1684.45")."""
    return dec(cents, 2).cast(pl.String)
