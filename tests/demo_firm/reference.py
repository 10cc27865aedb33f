"""An independent, deliberately plain reading of the demo firm, used to check the generator.

It re-derives, from the written files only, what a correct downstream detector must report:
OCG findings (check-contract rules applied to the LEDES files), the variance classification of
docs/demo-firm.md, unrecorded calendar time, rejections and write-offs.
"""
from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import yaml

from lexrecon.ledes.fields import FIELDS_1998B, FORMAT_1998B

CENT = Decimal("0.01")


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text.lower())).strip()


def read_ledes(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="ascii").splitlines()
    assert lines[0] == FORMAT_1998B
    assert lines[1] == "|".join(FIELDS_1998B) + "[]"
    out = []
    for raw in lines[2:]:
        if not raw.strip():
            continue
        assert raw.endswith("[]"), raw
        vals = raw[:-2].split("|")
        assert len(vals) == len(FIELDS_1998B), raw
        out.append(dict(zip(FIELDS_1998B, vals)))
    return out


def ymd(s: str) -> date:
    return date(int(s[:4]), int(s[4:6]), int(s[6:8]))


def file_errors(records: list[dict[str, str]]) -> list[str]:
    """LEDES math, totals, period and uniqueness problems (must be none in the demo firm)."""
    errs = []
    by_inv: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in records:
        by_inv[r["INVOICE_NUMBER"]].append(r)
    for inv, rs in by_inv.items():
        total = sum(Decimal(r["LINE_ITEM_TOTAL"]) for r in rs)
        if abs(total - Decimal(rs[0]["INVOICE_TOTAL"])) > CENT:
            errs.append(f"{inv}: invoice total")
        nums = [r["LINE_ITEM_NUMBER"] for r in rs]
        if len(set(nums)) != len(nums):
            errs.append(f"{inv}: duplicate line numbers")
        for r in rs:
            u, c, a = (Decimal(r[k]) for k in ("LINE_ITEM_NUMBER_OF_UNITS", "LINE_ITEM_UNIT_COST",
                                               "LINE_ITEM_ADJUSTMENT_AMOUNT"))
            if abs(u * c + a - Decimal(r["LINE_ITEM_TOTAL"])) > CENT:
                errs.append(f"{inv}/{r['LINE_ITEM_NUMBER']}: line math")
            if not ymd(r["BILLING_START_DATE"]) <= ymd(r["LINE_ITEM_DATE"]) <= ymd(r["BILLING_END_DATE"]):
                errs.append(f"{inv}/{r['LINE_ITEM_NUMBER']}: outside period")
            for k in ("INVOICE_DATE", "CLIENT_ID", "INVOICE_TOTAL", "BILLING_START_DATE",
                      "BILLING_END_DATE"):
                if r[k] != rs[0][k]:
                    errs.append(f"{inv}: header conflict {k}")
            if not r["LINE_ITEM_DESCRIPTION"].isascii():
                errs.append(f"{inv}: non-ascii")
    return errs


def _match(code: str, patterns: list[str]) -> bool:
    return any(code.startswith(p[:-1]) if p.endswith("*") else code == p for p in patterns)


def ocg_findings(records: list[dict[str, str]], rules: dict[str, dict]) -> set[tuple[str, str, str]]:
    """(invoice_number, line_item_number, code) for every OCG finding of check-contract.md."""
    found: set[tuple[str, str, str]] = set()
    daily: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    daily_units: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    by_inv: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in records:
        by_inv[r["INVOICE_NUMBER"]].append(r)
    for inv, rs in by_inv.items():
        rule = rules.get(rs[0]["CLIENT_ID"])
        if rule is None:
            continue
        seen: set[tuple] = set()
        for r in rs:
            key = (inv, r["LINE_ITEM_NUMBER"])
            desc = r["LINE_ITEM_DESCRIPTION"]
            fee = r["EXP/FEE/INV_ADJ_TYPE"] == "F"
            units = Decimal(r["LINE_ITEM_NUMBER_OF_UNITS"])
            cost = Decimal(r["LINE_ITEM_UNIT_COST"])
            if (ymd(r["INVOICE_DATE"]) - ymd(r["LINE_ITEM_DATE"])).days > rule["submission_deadline_days"]:
                found.add((*key, "LATE"))
            if r["EXP/FEE/INV_ADJ_TYPE"] == "E" and r["LINE_ITEM_EXPENSE_CODE"] in rule["disallowed_expense_codes"]:
                found.add((*key, "EXPENSE_DISALLOWED"))
            if not fee:
                continue
            tk = r["TIMEKEEPER_ID"]
            caps = rule["rate_caps"]
            cap = caps["by_timekeeper"].get(tk, caps["by_classification"].get(r["TIMEKEEPER_CLASSIFICATION"]))
            cap = None if cap is None else Decimal(str(cap))
            if cap is not None and cost > cap:
                found.add((*key, "RATE_CAP"))
            if tk not in rule["approved_timekeepers"]:
                found.add((*key, "TK_UNAPPROVED"))
            if len([c for c in desc.split(";") if c.strip()]) > rule["block_billing"]["max_tasks"]:
                found.add((*key, "BLOCK_BILLING"))
            if len(desc.split()) < rule["vague"]["min_words"] or norm(desc) in rule["vague"]["phrases"]:
                found.add((*key, "VAGUE"))
            inc = Decimal(str(rule["billing_increment_hours"]))
            if units % inc != 0:
                found.add((*key, "INCREMENT"))
            task, act = r["LINE_ITEM_TASK_CODE"], r["LINE_ITEM_ACTIVITY_CODE"]
            if (not task or not act or not _match(task, rule["allowed_task_codes"])
                    or not _match(act, rule["allowed_activity_codes"])):
                found.add((*key, "TASK_CODE"))
            if any(k in desc.lower() for k in rule["travel"]["keywords"]):
                base = cap
                if base is None:
                    base = max(Decimal(o["LINE_ITEM_UNIT_COST"]) for o in rs
                               if o is not r and o["TIMEKEEPER_ID"] == tk)
                if cost > Decimal(str(rule["travel"]["rate_factor"])) * base:
                    found.add((*key, "TRAVEL"))
            if any(k in desc.lower() for k in rule["admin"]["keywords"]):
                found.add((*key, "ADMIN"))
            dkey = (tk, r["LINE_ITEM_DATE"], str(units), task, act, norm(desc))
            if dkey in seen:
                found.add((*key, "DUPLICATE"))
            seen.add(dkey)
            day = (rs[0]["CLIENT_ID"], tk, r["LINE_ITEM_DATE"])
            daily[day].append(key)
            daily_units[day] += units
    for day, keys in daily.items():
        if daily_units[day] > rules[day[0]]["max_daily_hours"]:
            found.update((*k, "DAILY_MAX") for k in keys)
    return found


def load_rules(firm: Path) -> dict[str, dict]:
    return {r["client_id"]: r for r in
            (yaml.safe_load(p.read_text()) for p in sorted((firm / "ocg").glob("*.yml")))}


def all_ledes(firm: Path) -> list[dict[str, str]]:
    out = []
    for p in sorted((firm / "ebilling" / "ledes_inbox").glob("*.txt")):
        out.extend(read_ledes(p))
    return out


def usd(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def invoices(firm: Path) -> pl.DataFrame:
    """number, month, currency, total, fees, split % of every invoice of both LPMs."""
    cb = pl.read_parquet(firm / "clio" / "bills.parquet")
    cl = pl.read_parquet(firm / "clio" / "line_items.parquet")
    ab = pl.read_parquet(firm / "actionstep" / "bills.parquet")
    al = pl.read_parquet(firm / "actionstep" / "billlines.parquet")
    cfees = cl.filter(pl.col("kind") == "Service").group_by("bill__id").agg(fees=pl.col("total").sum())
    afees = al.filter(pl.col("lineType") == "F").group_by("links__bill").agg(fees=pl.col("total" if False else "amount").sum())
    c = cb.join(cfees, left_on="id", right_on="bill__id", how="left").select(
        number="number", date="issued_at", currency="currency", total="total",
        fees=pl.col("fees").fill_null(0), split="split_percentage", matter="matter__id")
    a = ab.join(afees, left_on="id", right_on="links__bill", how="left").select(
        number="ourReference", date="invoiceDate", currency="currency", total="totalInclusive",
        fees=pl.col("fees").fill_null(0), split="splitPercentage", matter="links__action")
    return pl.concat([c, a]).with_columns(month=pl.col("date").dt.strftime("%Y-%m"))


def variance(firm: Path) -> list[tuple[str, str | None, int | None, Decimal]]:
    """(kind, invoice_number, booking_id, variance USD) by the contract's classification."""
    con = sqlite3.connect(firm / "sales" / "sales.sqlite")
    fx = {(c, m): Decimal(str(r)) for c, m, r in con.execute("select currency, month, rate_to_usd from fx_rates")}
    books = con.execute("select booking_id, invoice_ref, period, fees_local, amount_local, split_percentage, "
                        "fx_rate, amount_usd, request_id from revenue_bookings order by booking_id").fetchall()
    con.close()
    inv = {r["number"]: r for r in invoices(firm).iter_rows(named=True)}
    by_inv: dict[str, list] = defaultdict(list)
    out = []
    for b in books:
        if b[1] is None or b[1] not in inv:
            out.append(("BOOKING_WITHOUT_INVOICE", None, b[0], Decimal(str(b[7])).quantize(CENT)))
        else:
            by_inv[b[1]].append(b)
    for number, r in inv.items():
        rate = fx[(r["currency"], r["month"])]
        inv_usd = usd(r["total"], rate)
        bs = by_inv.get(number)
        if not bs:
            out.append(("MISSING_IN_SALES", number, None, -inv_usd))
            continue
        first: dict[str, int] = {}
        rest = []
        for b in bs:
            if b[8] in first:
                out.append(("DUPLICATE_BOOKING", number, b[0], Decimal(str(b[7])).quantize(CENT)))
            else:
                first[b[8]] = b[0]
                rest.append(b)
        assert len(rest) == 1, number
        b = rest[0]
        diff = Decimal(str(b[7])).quantize(CENT) - inv_usd
        if b[2] != r["month"]:
            out.append(("TIMING", number, None, Decimal(0)))
        elif Decimal(str(b[5])) != r["split"]:
            out.append(("SPLIT_ALLOCATION", number, None, diff))
        elif Decimal(str(b[3])).quantize(CENT) != r["fees"]:
            out.append(("RATE_DEFINITION", number, None, diff))
        elif Decimal(str(b[6])) != rate or (diff != 0 and abs(diff) <= Decimal("0.05")):
            out.append(("ROUNDING_FX", number, None, diff))
        elif diff != 0:
            out.append(("UNEXPLAINED", number, None, diff))
    return out
