"""A small synthetic firm in the demo firm's layout, for source tests.

Built from the declared tables (``ingestion.demo_firm.schema``) with deterministic values, so
the tests know every count and every money sum exactly and can change rows between runs
(``touch_rows``) to prove that an incremental run loads only the changes.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import polars as pl

from ingestion.demo_firm.schema import TABLES

BASE = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
AS_BOOLS = {"isCompany", "isClient", "isTimekeeper", "isBillableOverride", "isBillable"}


def _value(col: str, dtype: pl.DataType, i: int, system: str) -> object:
    if dtype == pl.Int64:
        return i if col in ("id", "invoiceId") else (i % 7) + 1
    if dtype == pl.Date:
        return dt.date(2026, 1, 1) + dt.timedelta(days=i % 60)
    if dtype == pl.Boolean:
        return i % 2 == 0
    if isinstance(dtype, pl.Datetime):
        return BASE + dt.timedelta(minutes=i)
    if isinstance(dtype, pl.Decimal):
        return Decimal(i * 100 + 25) / Decimal(100) if dtype.scale == 2 else \
            Decimal(i * 10000 + 2500) / Decimal(10000)
    # text
    if system == "actionstep" and col in AS_BOOLS:
        return "T" if i % 2 else "F"
    if system == "actionstep" and col.endswith("Timestamp"):
        # London time: alternate +00:00 and +01:00 offsets (same instants as BASE + i min)
        t = BASE + dt.timedelta(minutes=i)
        if i % 2:
            return (t + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat() + "+01:00"
        return t.replace(tzinfo=None).isoformat() + "+00:00"
    if col in ("paymentNumber",):
        return f"P{i:05d}"
    return f"{col}-{i}"


def table_frame(system: str, name: str, rows: int) -> pl.DataFrame:
    t = TABLES[f"{system}.{name}"]
    data = {c: [_value(c, d, i, system) for i in range(1, rows + 1)] for c, d in t.columns}
    return pl.DataFrame(data, schema=dict(t.columns))


def money_total(system: str, name: str, column: str, rows: int) -> Decimal:
    return sum((Decimal(i * 100 + 25) / Decimal(100) for i in range(1, rows + 1)), Decimal(0))


def build(folder: Path, rows: int = 120) -> Path:
    for t in TABLES.values():
        (folder / t.system).mkdir(parents=True, exist_ok=True)
        table_frame(t.system, t.name, rows).write_parquet(folder / t.path)
    build_sales(folder / "sales" / "sales.sqlite", rows)
    build_inbox(folder / "ebilling" / "ledes_inbox", files=4)
    return folder


def touch_rows(folder: Path, system: str, name: str, ids: list[int], minutes: int = 10_000,
               column: str | None = None) -> None:
    """Change rows (a money value + a later cursor) as the vendor would after an edit."""
    t = TABLES[f"{system}.{name}"]
    path = folder / t.path
    df = pl.read_parquet(path)
    pk, cursor = t.primary_key, t.cursor
    hit = pl.col(pk).is_in(ids)
    later = BASE + dt.timedelta(minutes=minutes)
    if system == "actionstep":
        new_cursor = pl.lit(later.replace(tzinfo=None).isoformat() + "+00:00")
    else:
        new_cursor = pl.lit(later)
    exprs = [pl.when(hit).then(new_cursor).otherwise(pl.col(cursor)).alias(cursor)]
    if column:
        exprs.append(pl.when(hit).then(pl.col(column) + pl.lit(Decimal("1.00")))
                     .otherwise(pl.col(column)).alias(column))
    df.with_columns(exprs).write_parquet(path)


SALES_DDL = """
create table customers(customer_id text primary key, name text, currency text, updated_at text);
create table fx_rates(currency text, month text, rate_to_usd NUMERIC(18,6),
                      primary key(currency, month));
create table revenue_bookings(booking_id integer primary key, invoice_ref text, customer_id text,
  matter_ref text, office text, partner_code text, booking_date text, period text, currency text,
  fees_local NUMERIC(18,2), expenses_local NUMERIC(18,2), amount_local NUMERIC(18,2),
  split_percentage NUMERIC(18,2), fx_rate NUMERIC(18,6), amount_usd NUMERIC(18,2),
  request_id text, created_at text, updated_at text);
create table cash_receipts(receipt_id integer primary key, invoice_ref text, customer_id text,
  received_date text, currency text, amount_local NUMERIC(18,2), amount_usd NUMERIC(18,2),
  updated_at text);
"""


def sales_rows(rows: int) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {
        "customers": [(f"C{i:04d}", f"Client {i}", "USD", f"2026-01-01T09:{i % 60:02d}:00Z")
                      for i in range(1, 11)],
        "fx_rates": [(c, f"2026-{m:02d}", r) for c, r in (("GBP", "1.265432"),
                                                            ("EUR", "1.081234"))
                     for m in range(1, 4)],
        "revenue_bookings": [], "cash_receipts": [],
    }
    for i in range(1, rows + 1):
        fees, exp = f"{i * 100}.25", f"{i}.10"
        amount = str(Decimal(fees) + Decimal(exp))
        out["revenue_bookings"].append((
            i, f"INV-{i:05d}", f"C{i % 10 + 1:04d}", f"C0001-{i:04d}", "NYC", "NY-TK0001",
            f"2026-02-{i % 28 + 1:02d}", "2026-02", "USD", fees, exp, amount, "100", "1.000000",
            amount, f"req-{i}", "2026-02-01T00:00:00Z",
            f"2026-02-{i % 28 + 1:02d}T{i % 24:02d}:00:{i % 60:02d}Z"))
    for i in range(1, rows // 2 + 1):
        out["cash_receipts"].append((i, f"INV-{i:05d}", f"C{i % 10 + 1:04d}",
                                     f"2026-03-{i % 28 + 1:02d}", "USD", f"{i * 10}.05",
                                     f"{i * 10}.05", f"2026-03-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z"))
    return out


def build_sales(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(SALES_DDL)
    for table, values in sales_rows(rows).items():
        if values:
            con.executemany(f"insert into {table} values ({','.join('?' * len(values[0]))})",
                            values)
    con.commit()
    con.close()


LEDES_HEADER = (
    "LEDES1998B[]\n"
    "INVOICE_DATE|INVOICE_NUMBER|CLIENT_ID|LAW_FIRM_MATTER_ID|INVOICE_TOTAL|BILLING_START_DATE|"
    "BILLING_END_DATE|INVOICE_DESCRIPTION|LINE_ITEM_NUMBER|EXP/FEE/INV_ADJ_TYPE|"
    "LINE_ITEM_NUMBER_OF_UNITS|LINE_ITEM_ADJUSTMENT_AMOUNT|LINE_ITEM_TOTAL|LINE_ITEM_DATE|"
    "LINE_ITEM_TASK_CODE|LINE_ITEM_EXPENSE_CODE|LINE_ITEM_ACTIVITY_CODE|TIMEKEEPER_ID|"
    "LINE_ITEM_DESCRIPTION|LAW_FIRM_ID|LINE_ITEM_UNIT_COST|TIMEKEEPER_NAME|"
    "TIMEKEEPER_CLASSIFICATION|CLIENT_MATTER_ID[]\n"
)


def ledes_line(inv: str, total: str, no: int, amount: str, date: str = "20260115") -> str:
    return (f"20260131|{inv}|C0001|C0001-0001|{total}|20260101|20260131|Services|{no}|F|1.5|0|"
            f"{amount}|{date}|L110||A101|NY-TK0001|Drafting memo|24-6437381|{amount}|"
            f"Doe, Jane|PARTNR|CM-1[]\n")


def ledes_file(inv: str, amounts: list[str]) -> str:
    total = str(sum(Decimal(a) for a in amounts if a.replace('.', '', 1).isdigit()))
    return LEDES_HEADER + "".join(ledes_line(inv, total, n, a)
                                  for n, a in enumerate(amounts, start=1))


def build_inbox(folder: Path, files: int = 4) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(1, files + 1):
        (folder / f"INV-{k:05d}.txt").write_text(
            ledes_file(f"INV-{k:05d}", [f"{k}00.50", f"{k}10.25", "99.9999"]))
