"""`lexrecon demo verify`: score the warehouse's marts against the demo firm's ground truth.

The demo firm (docs/demo-firm.md) plants anomalies on clean data and records each one in
``ground_truth.parquet``. This module reads the published warehouse (read-only), collects what
the marts report for every anomaly kind, and compares the two sets by the kind's keys:

| kind | ground-truth key | mart and what counts as reported |
|---|---|---|
| OCG rule codes | invoice, line, code | ``fct_ocg_violations`` rows |
| EBILLING_REJECTION | invoice, date | ``fct_rejections`` rows |
| MISSING_IN_SALES, RATE_DEFINITION, SPLIT_ALLOCATION, ROUNDING_FX | invoice | ``fct_invoice_sales_variance`` rows with that cause's column non-zero |
| TIMING | invoice | ``fct_invoice_sales_variance`` rows with ``is_timing`` |
| DUPLICATE_BOOKING | booking id | ``duplicate_booking_ids`` of ``fct_invoice_sales_variance`` |
| BOOKING_WITHOUT_INVOICE | booking id | rows with ``booking_without_invoice_usd`` non-zero |
| UNEXPLAINED | (never planted) | rows with ``unexplained_usd`` non-zero: all false positives |
| UNRECORDED_TIME | timekeeper, date, matter | ``fct_unrecorded_time`` rows |
| WRITE_OFF | invoice, date | ``fct_write_offs`` rows of type ``ar_write_off`` |

A planted anomaly is *found* when its key is reported; a reported key that was not planted is
a *false positive*. Amounts are compared too where both sides carry one (informational).
``verify`` returns a :class:`Report`; the command prints it and exits 0 only when every
planted anomaly is found and nothing else is reported.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

OCG_CODES = ("RATE_CAP", "TK_UNAPPROVED", "BLOCK_BILLING", "VAGUE", "INCREMENT", "DAILY_MAX",
             "TASK_CODE", "EXPENSE_DISALLOWED", "TRAVEL", "LATE", "DUPLICATE", "ADMIN")
VARIANCE_COLUMNS = {
    "MISSING_IN_SALES": "missing_in_sales_usd",
    "RATE_DEFINITION": "rate_definition_usd",
    "SPLIT_ALLOCATION": "split_allocation_usd",
    "ROUNDING_FX": "rounding_fx_usd",
}
KIND_ORDER = (*OCG_CODES, "EBILLING_REJECTION", "MISSING_IN_SALES", "BOOKING_WITHOUT_INVOICE",
              "DUPLICATE_BOOKING", "RATE_DEFINITION", "TIMING", "ROUNDING_FX",
              "SPLIT_ALLOCATION", "UNEXPLAINED", "UNRECORDED_TIME", "WRITE_OFF")
NEEDED = ("marts.fct_ocg_violations", "marts.fct_rejections", "marts.fct_invoice_sales_variance",
          "marts.fct_unrecorded_time", "marts.fct_write_offs")

Key = tuple[Any, ...]


class VerifyError(RuntimeError):
    """Verification could not run (missing file or mart); the message says what to do."""


@dataclass
class KindScore:
    kind: str
    planted: int
    found: int
    false_positives: int
    missed: list[Key] = field(default_factory=list)
    extra: list[Key] = field(default_factory=list)
    amount_mismatches: list[tuple[Key, Decimal | None, Decimal | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.found == self.planted and self.false_positives == 0


@dataclass
class Report:
    scores: list[KindScore]
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.scores) and all(ok for _, ok, _ in self.checks)

    def table(self) -> str:
        head = f"{'kind':<24} {'planted':>7} {'found':>7} {'false+':>7} {'amount≠':>8}  result"
        lines = [head, "-" * len(head)]
        for s in self.scores:
            lines.append(f"{s.kind:<24} {s.planted:>7} {s.found:>7} {s.false_positives:>7} "
                         f"{len(s.amount_mismatches):>8}  {'ok' if s.ok else 'MISMATCH'}")
        tot_p = sum(s.planted for s in self.scores)
        tot_f = sum(s.found for s in self.scores)
        tot_x = sum(s.false_positives for s in self.scores)
        tot_a = sum(len(s.amount_mismatches) for s in self.scores)
        lines.append("-" * len(head))
        lines.append(f"{'total':<24} {tot_p:>7} {tot_f:>7} {tot_x:>7} {tot_a:>8}  "
                     f"{'ok' if self.ok else 'MISMATCH'}")
        for name, ok, detail in self.checks:
            lines.append(f"check: {name}: {'ok' if ok else 'MISMATCH'} ({detail})")
        for s in self.scores:
            for k in s.missed[:20]:
                lines.append(f"  missed {s.kind}: {_show(k)}")
            for k in s.extra[:20]:
                lines.append(f"  false positive {s.kind}: {_show(k)}")
            for k, want, got in s.amount_mismatches[:20]:
                lines.append(f"  amount {s.kind} {_show(k)}: planted {want}, warehouse {got}")
        return "\n".join(lines)

    def as_json(self) -> list[dict[str, Any]]:
        return [{"kind": s.kind, "planted": s.planted, "found": s.found,
                 "false_positives": s.false_positives,
                 "amount_mismatches": len(s.amount_mismatches)} for s in self.scores]


def _show(key: Key) -> str:
    return " / ".join("" if v is None else str(v) for v in key)


def _score(kind: str, planted: dict[Key, Decimal | None], reported: dict[Key, Decimal | None],
           compare_amounts: bool = True, rows: Counter[Key] | None = None) -> KindScore:
    """Planted and found count ground-truth rows (``rows``: rows per key, 1 if not given)."""
    rows = rows or Counter()
    found = [k for k in planted if k in reported]
    missed = sorted((k for k in planted if k not in reported), key=str)
    extra = sorted((k for k in reported if k not in planted), key=str)
    n_planted = sum(rows.get(k, 1) for k in planted)
    n_found = sum(rows.get(k, 1) for k in found)
    mism = []
    if compare_amounts:
        for k in found:
            want, got = planted[k], reported[k]
            if want is not None and got is not None and Decimal(want) != Decimal(got):
                mism.append((k, want, got))
    return KindScore(kind, n_planted, n_found, len(extra), missed, extra, mism)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


def load_ground_truth(firm: Path) -> pl.DataFrame:
    path = firm / "ground_truth.parquet"
    if not path.is_file():
        raise VerifyError(f"{path} does not exist: generate the demo firm first "
                          "(`lexrecon demo generate --out DIR`) or pass --firm")
    return pl.read_parquet(path)


def verify(firm: Path | str, serving_db: Path | str) -> Report:
    """Compare the marts in ``serving_db`` with ``firm``'s ground truth."""
    firm, serving_db = Path(firm), Path(serving_db)
    gt = load_ground_truth(firm)
    if not serving_db.is_file():
        raise VerifyError(f"warehouse {serving_db} does not exist: run `lexrecon ingest`, "
                          "`lexrecon build` and `lexrecon publish` first, or pass --serving-db")
    manifest_path = firm / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}

    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        have = {f"{s}.{t}" for s, t in _rows(
            con, "select schema_name, table_name from duckdb_tables() "
                 "union all select schema_name, view_name from duckdb_views()")}
        missing = [n for n in NEEDED if n not in have]
        if missing:
            raise VerifyError(f"{serving_db} lacks {', '.join(missing)}: rebuild and publish "
                              "the warehouse (`lexrecon build`, `lexrecon publish`)")
        reported = _reported(con)
        checks = _partner_month_check(con, manifest)
    finally:
        con.close()

    planted, rows = _planted(gt)
    scores = []
    for kind in KIND_ORDER:
        p, r = planted.get(kind, {}), reported.get(kind, {})
        if not p and not r and kind not in manifest.get("anomalies", {}) and kind != "UNEXPLAINED":
            continue
        scores.append(_score(kind, p, r, rows=rows))
    for kind in sorted(set(planted) - set(KIND_ORDER)):  # kinds this version does not know
        scores.append(_score(kind, planted[kind], {}, rows=rows))
    return Report(scores, checks)


def _planted(gt: pl.DataFrame) -> tuple[dict[str, dict[Key, Decimal | None]], Counter[Key]]:
    """Per kind, key -> planted amount (summed when several rows share a key); rows per key."""
    out: dict[str, dict[Key, Decimal | None]] = {}
    rows: Counter[Key] = Counter()
    for r in gt.iter_rows(named=True):
        kind = r["kind"]
        amount = r["amount_usd"]
        if kind in OCG_CODES:
            key: Key = (r["invoice_number"], _text(r["line_item_number"]), kind)
        elif kind in ("EBILLING_REJECTION", "WRITE_OFF"):
            key = (r["invoice_number"], r["entry_date"])
        elif kind in ("BOOKING_WITHOUT_INVOICE", "DUPLICATE_BOOKING"):
            key = (_text(r["booking_id"]),)
        elif kind == "UNRECORDED_TIME":
            key = (r["timekeeper_id"], r["entry_date"], r["matter_number"])
        else:
            key = (r["invoice_number"],)
        bucket = out.setdefault(kind, {})
        rows[key] += 1
        if key in bucket and bucket[key] is not None and amount is not None:
            bucket[key] = bucket[key] + amount  # two plants on one key: compare the sum
        else:
            bucket[key] = amount
    return out, rows


def _reported(con: duckdb.DuckDBPyConnection) -> dict[str, dict[Key, Decimal | None]]:
    out: dict[str, dict[Key, Decimal | None]] = {}

    def put(kind: str, key: Key, amount: Decimal | None) -> None:
        bucket = out.setdefault(kind, {})
        if key in bucket and bucket[key] is not None and amount is not None:
            bucket[key] += amount
        elif key not in bucket:
            bucket[key] = amount

    for inv, line, code, usd in _rows(con, """
            select invoice_number, line_item_number, rule_code, amount_usd
            from marts.fct_ocg_violations
            qualify row_number() over (partition by invoice_number, line_item_number, rule_code
                                       order by file_name) = 1"""):
        put(code, (inv, line, code), usd)
    for inv, day in _rows(con, "select distinct invoice_number, rejected_date "
                               "from marts.fct_rejections"):
        put("EBILLING_REJECTION", (inv, day), None)
    for inv, day, usd in _rows(con, """
            select invoice_number, write_off_date, sum(amount_usd)
            from marts.fct_write_offs where write_off_type = 'ar_write_off'
            group by all"""):
        put("WRITE_OFF", (inv, day), usd)
    cols = ", ".join(VARIANCE_COLUMNS.values())
    for row in _rows(con, f"""
            select invoice_number, booking_id, duplicate_booking_ids, is_timing, timing_moved_usd,
                   booking_without_invoice_usd, duplicate_booking_usd, unexplained_usd,
                   variance_key, {cols}
            from marts.fct_invoice_sales_variance"""):
        inv, booking, dups, is_timing, moved, orphan, dup_usd, unexplained, vkey = row[:9]
        for (kind, _), value in zip(VARIANCE_COLUMNS.items(), row[9:]):
            if value:
                put(kind, (inv,), value)
        if is_timing:
            put("TIMING", (inv,), moved)
        if orphan:
            put("BOOKING_WITHOUT_INVOICE", (booking,), orphan)
        if dups:
            ids = dups.split(",")
            for b in ids:
                # the amount is per invoice; per booking only when there is one duplicate
                put("DUPLICATE_BOOKING", (b,), dup_usd if len(ids) == 1 else None)
        if unexplained:
            put("UNEXPLAINED", (vkey,), unexplained)
    for tk, day, matter in _rows(con, "select distinct timekeeper_id, event_date, matter_number "
                                      "from marts.fct_unrecorded_time"):
        put("UNRECORDED_TIME", (tk, day, matter), None)
    return out


def _partner_month_check(con: duckdb.DuckDBPyConnection, manifest: dict) -> list[tuple[str, bool, str]]:
    """The ~5% partner file of the manifest equals the monthly variance mart's row sums."""
    partner, month = manifest.get("variance_partner"), manifest.get("variance_month")
    if not partner or not month:
        return []
    have = {t for (t,) in _rows(con, "select table_name from duckdb_tables() "
                                     "where schema_name = 'marts'")}
    if "fct_sales_variance_monthly" not in have:
        return [("variance partner month", False, "marts.fct_sales_variance_monthly missing")]
    inv, sales = con.execute(
        "select sum(invoice_usd), sum(sales_amount_usd) from marts.fct_sales_variance_monthly "
        "where billing_partner_timekeeper_id = ? and month = ?", [partner, month]).fetchone()
    want_inv = Decimal(manifest.get("variance_invoices_usd", "0"))
    want_sales = Decimal(manifest.get("variance_sales_usd", "0"))
    inv, sales = inv or Decimal(0), sales or Decimal(0)
    ok = inv == want_inv and sales == want_sales
    pct = (sales - inv) / inv * 100 if inv else Decimal(0)
    detail = (f"{partner} {month}: invoices {inv} (planted {want_inv}), sales {sales} "
              f"(planted {want_sales}), {pct:.2f}%")
    return [("variance partner month", ok, detail)]


# --------------------------------------------------------------------------- command
def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="score the warehouse against the demo firm's ground truth",
                       description="Compare the published marts with ground_truth.parquet: per "
                                   "anomaly kind, planted / found / false positives. Exits 1 "
                                   "unless every planted anomaly is found and nothing else is "
                                   "reported; 2 if it cannot run.")
    p.add_argument("--firm", default=None,
                   help="demo firm folder (default: LEXRECON_FIRM or $LEXRECON_HOME/firm)")
    p.add_argument("--serving-db", default=None,
                   help="warehouse file to read (default: the published serving.duckdb)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lexrecon.config import paths

    firm = Path(args.firm) if args.firm else paths().firm
    db = Path(args.serving_db) if args.serving_db else paths().serving_db
    try:
        report = verify(firm, db)
    except VerifyError as exc:
        print(f"lexrecon demo verify: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps({"ok": report.ok, "kinds": report.as_json(),
                          "checks": [{"check": n, "ok": ok, "detail": d}
                                     for n, ok, d in report.checks]}, indent=2))
    else:
        print(f"demo firm {firm} vs warehouse {db}")
        print(report.table())
    return 0 if report.ok else 1
