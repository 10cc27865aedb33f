"""How LEDES text values are read: blanks, decimals, dates and money (polars expressions).

One reading for the file checks and the OCG engine. Values are trimmed of surrounding
whitespace first. Numbers are plain decimals (``-`` allowed, ``.`` separator, no exponent,
no thousands separator, at most 15 digits before the point), held as
``pl.Decimal(38, 6)`` (more decimals are rounded to 6), never binary float. Dates are real
calendar dates written YYYYMMDD.
"""
from __future__ import annotations

import polars as pl

DECIMAL = pl.Decimal(38, 6)
MONEY = pl.Decimal(38, 2)
NUMBER_PATTERN = r"^-?(?:[0-9]{1,15}(?:\.[0-9]*)?|\.[0-9]+)$"
DATE_PATTERN = r"^[0-9]{8}$"


def text(column: str) -> pl.Expr:
    """The trimmed value; null reads as blank."""
    return pl.col(column).fill_null("").str.strip_chars()


def is_blank(column: str) -> pl.Expr:
    return text(column) == ""


def number(column: str) -> pl.Expr:
    """The value as a decimal, or null when blank or not a valid number."""
    value = text(column)
    return pl.when(value.str.contains(NUMBER_PATTERN)).then(value.cast(DECIMAL, strict=False))


def is_bad_number(column: str) -> pl.Expr:
    """Not blank and not a valid number."""
    value = text(column)
    return (value != "") & ~value.str.contains(NUMBER_PATTERN)


# Never below zero on a fee (F) or expense (E) line: a discount goes in
# LINE_ITEM_ADJUSTMENT_AMOUNT, a credit on an IF or IE line.
NON_NEGATIVE_ON_FEES_AND_EXPENSES = (
    "LINE_ITEM_NUMBER_OF_UNITS", "LINE_ITEM_UNIT_COST", "LINE_ITEM_TOTAL",
)


def is_negative_on_fee_or_expense(line_type: pl.Expr, column: str) -> pl.Expr:
    """The value is below zero on an F or E line (``line_type``: the line's type); never null."""
    return line_type.is_in(["F", "E"]) & (number(column) < 0).fill_null(False)


def date(column: str) -> pl.Expr:
    """The value as a date, or null when blank or not a real YYYYMMDD date."""
    value = text(column)
    parsed = value.str.to_date("%Y%m%d", strict=False)
    return pl.when(value.str.contains(DATE_PATTERN) & (parsed.dt.year() >= 1)).then(parsed)


def is_bad_date(column: str) -> pl.Expr:
    """Not blank and not a real YYYYMMDD date."""
    return (text(column) != "") & date(column).is_null()


def money_text(amount: pl.Expr) -> pl.Expr:
    """A decimal rounded half-up (away from zero) to 2 places, as text such as ``12.50``."""
    return (
        amount.cast(DECIMAL)
        .round(2, mode="half_away_from_zero")
        .cast(MONEY)
        .cast(pl.Utf8)
    )


def normalised(expr: pl.Expr) -> pl.Expr:
    """Lower case, punctuation removed, whitespace collapsed and trimmed (VAGUE, DUPLICATE)."""
    return (
        expr.fill_null("")
        .str.to_lowercase()
        .str.replace_all(r"[^\w\s]", "")
        .str.replace_all(r"\s{2,}|[^\S ]", " ")
        .str.strip_chars()
    )
