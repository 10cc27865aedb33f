"""Check an evidence pack from the pack alone: hashes, CSV = Parquet, and every tie-out.

``verify_pack(pack_dir) -> Verification`` re-hashes every file against MANIFEST (a changed,
missing or extra file fails), checks that each table's CSV and Parquet copies hold the same
rows, and recomputes every tie-out from the pack's own data files, comparing the result with
``tieouts/tieouts.json`` (inputs and results). ``compute_tieouts(pack_dir)`` is also what
:func:`reports.evidence.build_pack` uses to write the tie-outs, so there is one implementation.

Money is read from the CSV text as :class:`decimal.Decimal`, never as a binary float.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

MANIFEST = "MANIFEST"
PACK_JSON = "pack.json"
TIEOUTS_JSON = "tieouts/tieouts.json"
TIEOUTS_CSV = "tieouts/tieouts.csv"
CENT = Decimal("0.01")
ZERO = Decimal(0)
MAX_LISTED = 50  # exceptions listed per tie-out (all are counted)


class PackError(RuntimeError):
    """The pack cannot be checked at all (no MANIFEST, not a directory)."""


@dataclass
class Verification:
    pack: Path
    pack_hash: str | None
    files_checked: int = 0
    tieouts_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# ------------------------------------------------------------------------------ reading
def text_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as the text the pack's CSV shows (decimals keep their scale)."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Boolean:
            out.append(pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
                       .otherwise(None).alias(name))
        elif isinstance(dtype, pl.Datetime):
            out.append(col.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f").alias(name))
        elif dtype == pl.Date:
            out.append(col.dt.strftime("%Y-%m-%d").alias(name))
        elif isinstance(dtype, (pl.List, pl.Struct, pl.Array)):
            out.append(col.map_elements(lambda v: json.dumps(v, default=str, sort_keys=True),
                                        return_dtype=pl.Utf8).alias(name))
        else:
            out.append(col.cast(pl.Utf8).alias(name))
    return frame.select(out) if out else frame


def read_rows(pack: Path, rel: str) -> list[dict[str, str]] | None:
    """A pack CSV as text rows (None if the pack has no such table)."""
    path = pack / rel
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def dec(value: str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def d0(value: str | None) -> Decimal:
    got = dec(value)
    return ZERO if got is None else got


def truthy(value: str | None) -> bool:
    return value == "true"



# ------------------------------------------------------------------------------ tie-outs
def _tieout(name: str, description: str, inputs: dict[str, Any], checked: int,
            exceptions: list[dict[str, Any]], difference: Decimal,
            figures: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "inputs": inputs,
        "result": {
            "checked": checked,
            "exceptions": len(exceptions),
            "difference": str(difference),
            "figures": figures or {},
            "listed": exceptions[:MAX_LISTED],
        },
        "status": "pass" if not exceptions else "fail",
    }


def _unavailable(name: str, description: str, why: str) -> dict[str, Any]:
    return {"name": name, "description": description, "inputs": {"missing": why},
            "result": {"checked": 0, "exceptions": None, "difference": None, "figures": {},
                       "listed": []},
            "status": "n/a"}


def tie_invoice_totals(pack: Path) -> dict[str, Any]:
    name = "invoice_totals_equal_lines"
    description = ("every non-void invoice of the period: subtotal = sum of its lines and "
                   "total = subtotal + tax, to the cent")
    invoices = read_rows(pack, "data/invoices.csv")
    lines = read_rows(pack, "data/invoice_lines.csv")
    if invoices is None or lines is None:
        return _unavailable(name, description, "data/invoices.csv or data/invoice_lines.csv")
    by_invoice: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        by_invoice[line["invoice_number"]] += d0(line["line_total"])
    exceptions, diff = [], ZERO
    sub_sum = tax_sum = total_sum = ZERO
    checked = 0
    for inv in invoices:
        if truthy(inv.get("is_void")):
            continue
        checked += 1
        sub, tax, total = d0(inv["subtotal_amount"]), d0(inv["tax_amount"]), d0(inv["total_amount"])
        sub_sum, tax_sum, total_sum = sub_sum + sub, tax_sum + tax, total_sum + total
        lines_total = by_invoice.get(inv["invoice_number"], ZERO)
        d1, d2 = sub - lines_total, total - sub - tax
        if d1 != 0 or d2 != 0:
            diff += abs(d1) + abs(d2)
            exceptions.append({"invoice_number": inv["invoice_number"], "subtotal": str(sub),
                               "lines_total": str(lines_total), "tax": str(tax),
                               "total": str(total)})
    figures = {"invoices": checked, "lines": len(lines), "subtotal_sum": str(sub_sum),
               "lines_sum": str(sum(by_invoice.values(), ZERO)), "tax_sum": str(tax_sum),
               "total_sum": str(total_sum)}
    return _tieout(name, description, {"files": ["data/invoices.csv", "data/invoice_lines.csv"]},
                   checked, exceptions, diff, figures)


def tie_line_math(pack: Path) -> dict[str, Any]:
    name = "invoice_line_math"
    description = ("every fee and expense line: quantity x unit price + adjustment = line "
                   "total, within 0.01")
    lines = read_rows(pack, "data/invoice_lines.csv")
    if lines is None:
        return _unavailable(name, description, "data/invoice_lines.csv")
    exceptions, diff, checked = [], ZERO, 0
    for line in lines:
        if line.get("line_type") not in ("F", "E"):
            continue
        qty, price = dec(line.get("quantity")), dec(line.get("unit_price"))
        if qty is None or price is None:
            continue
        checked += 1
        expected = qty * price + d0(line.get("adjustment_amount"))
        d = d0(line.get("line_total")) - expected
        if abs(d) > CENT:
            diff += abs(d)
            exceptions.append({"invoice_number": line["invoice_number"],
                               "line_number": line["line_number"], "expected": str(expected),
                               "line_total": line.get("line_total")})
    return _tieout(name, description, {"files": ["data/invoice_lines.csv"]}, checked,
                   exceptions, diff, {"lines": checked})


def tie_ledes_lines(pack: Path) -> dict[str, Any]:
    name = "ledes_lines_equal_lpm_lines"
    description = ("every line of an e-billed invoice: the LEDES LINE_ITEM_TOTAL submitted "
                   "equals the LPM line total (LEDES carries 4 places; compared within 0.005)")
    lines = read_rows(pack, "data/invoice_lines.csv")
    if lines is None:
        return _unavailable(name, description, "data/invoice_lines.csv")
    exceptions, diff, checked = [], ZERO, 0
    half_cent = Decimal("0.005")
    for line in lines:
        ledes = dec(line.get("ledes_line_item_total"))
        if ledes is None:
            continue
        checked += 1
        d = ledes - d0(line.get("line_total"))
        if abs(d) > half_cent:
            diff += abs(d)
            exceptions.append({"invoice_number": line["invoice_number"],
                               "line_number": line["line_number"], "ledes": str(ledes),
                               "lpm": line.get("line_total")})
    return _tieout(name, description, {"files": ["data/invoice_lines.csv"]}, checked,
                   exceptions, diff, {"ledes_lines": checked})


def tie_ar_roll_forward(pack: Path) -> dict[str, Any]:
    name = "ar_roll_forward"
    description = ("per currency: opening AR + billed - collected - written off = closing AR, "
                   "each recomputed from the detail files, and equal to the warehouse's "
                   "roll-forward row")
    files = ["data/ar_open_items_opening.csv", "data/invoices.csv", "data/payments.csv",
             "data/write_offs.csv", "data/ar_open_items_closing.csv", "data/ar_roll_forward.csv"]
    rows = {f: read_rows(pack, f) for f in files}
    absent = [f for f, r in rows.items() if r is None]
    if absent:
        return _unavailable(name, description, ", ".join(absent))
    parts: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {k: ZERO for k in ("opening", "billed", "collected", "written_off", "closing")})
    for r in rows["data/ar_open_items_opening.csv"] or []:
        parts[r["currency"]]["opening"] += d0(r["open_amount"])
    for r in rows["data/invoices.csv"] or []:
        if not truthy(r.get("is_void")):
            parts[r["currency"]]["billed"] += d0(r["total_amount"])
    for r in rows["data/payments.csv"] or []:
        if not truthy(r.get("is_voided")) and r.get("invoice_is_void") == "false":
            parts[r["currency"]]["collected"] += d0(r["amount"])
    for r in rows["data/write_offs.csv"] or []:
        if r.get("invoice_is_void") == "false":
            parts[r["currency"]]["written_off"] += d0(r["amount"])
    for r in rows["data/ar_open_items_closing.csv"] or []:
        parts[r["currency"]]["closing"] += d0(r["open_amount"])
    mart = {r["currency"]: r for r in rows["data/ar_roll_forward.csv"] or []}
    mart_cols = {"opening": "opening_ar_amount", "billed": "billed_amount",
                 "collected": "collected_amount", "written_off": "written_off_amount",
                 "closing": "closing_ar_amount"}
    exceptions, diff, figures = [], ZERO, {}
    for currency in sorted(set(parts) | set(mart)):
        p = parts[currency]
        gap = p["opening"] + p["billed"] - p["collected"] - p["written_off"] - p["closing"]
        figures[currency] = {k: str(v) for k, v in p.items()} | {"difference": str(gap)}
        row = mart.get(currency)
        mismatches = {}
        for key, col in mart_cols.items():
            got = d0(row[col]) if row else ZERO
            if got != p[key]:
                mismatches[key] = {"warehouse": str(got), "recomputed": str(p[key])}
        if gap != 0 or mismatches:
            diff += abs(gap) + sum((abs(Decimal(m["warehouse"]) - Decimal(m["recomputed"]))
                                    for m in mismatches.values()), ZERO)
            exceptions.append({"currency": currency, "difference": str(gap),
                               "differs_from_warehouse": mismatches})
    return _tieout(name, description, {"files": files}, len(figures), exceptions, diff, figures)


def tie_load_tallies(pack: Path) -> dict[str, Any]:
    name = "loads_received_equal_loaded_plus_quarantined"
    description = ("every load and resource: records received = loaded + quarantined (and "
                   "the same for money where the resource carries money); quarantined = the "
                   "quarantine rows of that load")
    loads = read_rows(pack, "sources/loads.csv")
    quarantine = read_rows(pack, "sources/quarantined_records.csv")
    if loads is None:
        return _unavailable(name, description, "sources/loads.csv")
    q_count: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in quarantine or []:
        q_count[(r.get("source", ""), r.get("resource", ""), r.get("load_id", ""))] += 1
    exceptions, diff = [], ZERO
    received = loaded = quarantined = 0
    for r in loads:
        rec, lo, qu = int(r["received_count"]), int(r["loaded_count"]), int(r["quarantined_count"])
        received, loaded, quarantined = received + rec, loaded + lo, quarantined + qu
        problems = []
        if rec != lo + qu:
            problems.append(f"received {rec} != loaded {lo} + quarantined {qu}")
            diff += abs(rec - lo - qu)
        mr, ml, mq = dec(r.get("money_received")), dec(r.get("money_loaded")), \
            dec(r.get("money_quarantined"))
        if mr is not None and mr != (ml or ZERO) + (mq or ZERO):
            problems.append(f"money received {mr} != loaded {ml} + quarantined {mq}")
            diff += abs(mr - (ml or ZERO) - (mq or ZERO))
        if quarantine is not None:
            rows_q = q_count.get((r["source"], r["resource"], r["load_id"]), 0)
            if rows_q != qu:
                problems.append(f"quarantined {qu} but {rows_q} quarantine rows")
                diff += abs(rows_q - qu)
        if problems:
            exceptions.append({"load_id": r["load_id"], "source": r["source"],
                               "resource": r["resource"], "problems": problems})
    figures = {"loads": len({r["load_id"] for r in loads}), "rows": len(loads),
               "received": received, "loaded": loaded, "quarantined": quarantined}
    return _tieout(name, description, {"files": ["sources/loads.csv",
                                                 "sources/quarantined_records.csv"]},
                   len(loads), exceptions, diff, figures)


def tie_no_over_collection(pack: Path) -> dict[str, Any]:
    name = "no_invoice_over_collected"
    description = ("every non-void invoice of the period: paid + written off <= total, and "
                   "open = total - paid - written off")
    invoices = read_rows(pack, "data/invoices.csv")
    if invoices is None:
        return _unavailable(name, description, "data/invoices.csv")
    exceptions, diff, checked = [], ZERO, 0
    for inv in invoices:
        if truthy(inv.get("is_void")):
            continue
        checked += 1
        total, paid, wo = d0(inv["total_amount"]), d0(inv.get("paid_amount")), \
            d0(inv.get("written_off_amount"))
        open_amount = dec(inv.get("open_amount"))
        over = paid + wo - total
        gap = (open_amount - (total - paid - wo)) if open_amount is not None else ZERO
        if over > 0 or gap != 0:
            diff += max(over, ZERO) + abs(gap)
            exceptions.append({"invoice_number": inv["invoice_number"], "total": str(total),
                               "paid": str(paid), "written_off": str(wo),
                               "open": inv.get("open_amount")})
    return _tieout(name, description, {"files": ["data/invoices.csv"]}, checked, exceptions,
                   diff, {"invoices": checked})


VARIANCE_CAUSES = ("missing_in_sales_usd", "booking_without_invoice_usd",
                   "duplicate_booking_usd", "timing_usd", "split_allocation_usd",
                   "rate_definition_usd", "rounding_fx_usd", "unexplained_usd")


def tie_variance(pack: Path) -> dict[str, Any]:
    name = "sales_variance_causes_add_up"
    description = ("the period's invoice vs sales variance (USD): on every row the causes add "
                   "up to the variance, and the variances add up to sales - invoices")
    rows = read_rows(pack, "data/invoice_sales_variance.csv")
    if rows is None:
        return _unavailable(name, description, "data/invoice_sales_variance.csv (the variance "
                                               "mart is not in the warehouse)")
    cols = set(rows[0]) if rows else set(VARIANCE_CAUSES) | {"variance_usd", "invoice_usd",
                                                              "sales_amount_usd"}
    needed = {"variance_usd", "invoice_usd", "sales_amount_usd", *VARIANCE_CAUSES}
    if not needed <= cols:
        return _unavailable(name, description, "variance columns missing: "
                                               + ", ".join(sorted(needed - cols)))
    causes: dict[str, Decimal] = {c: ZERO for c in VARIANCE_CAUSES}
    inv_sum = sales_sum = total = ZERO
    exceptions, diff = [], ZERO
    for r in rows:
        variance = d0(r["variance_usd"])
        row_causes = ZERO
        for c in VARIANCE_CAUSES:
            causes[c] += d0(r[c])
            row_causes += d0(r[c])
        total += variance
        inv_sum += d0(r["invoice_usd"])
        sales_sum += d0(r["sales_amount_usd"])
        if row_causes != variance:
            diff += abs(row_causes - variance)
            exceptions.append({"row": r.get("variance_key") or r.get("invoice_number"),
                               "variance_usd": str(variance), "sum_of_causes": str(row_causes)})
    gap = sales_sum - inv_sum - total
    if gap != 0:
        diff += abs(gap)
        exceptions.append({"row": "period total", "sales_minus_invoices": str(sales_sum - inv_sum),
                           "sum_of_variances": str(total)})
    figures = {"invoices_usd": str(inv_sum), "sales_usd": str(sales_sum),
               "variance_usd": str(total),
               "by_cause": {c.removesuffix("_usd"): str(v) for c, v in causes.items()}}
    return _tieout(name, description, {"files": ["data/invoice_sales_variance.csv"]},
                   len(rows), exceptions, diff, figures)


TIEOUTS: tuple[Callable[[Path], dict[str, Any]], ...] = (
    tie_invoice_totals, tie_line_math, tie_ledes_lines, tie_ar_roll_forward,
    tie_no_over_collection, tie_load_tallies, tie_variance,
)


def compute_tieouts(pack: Path) -> list[dict[str, Any]]:
    """Every tie-out, computed from the pack's data files only."""
    return [tie(Path(pack)) for tie in TIEOUTS]


def write_tieouts(pack: Path, tieouts: list[dict[str, Any]]) -> None:
    out = Path(pack) / TIEOUTS_JSON
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes((json.dumps(tieouts, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    with open(Path(pack) / TIEOUTS_CSV, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["name", "status", "checked", "exceptions", "difference", "inputs",
                         "figures", "description"])
        for t in tieouts:
            r = t["result"]
            writer.writerow([t["name"], t["status"], r["checked"],
                             "" if r["exceptions"] is None else r["exceptions"],
                             "" if r["difference"] is None else r["difference"],
                             json.dumps(t["inputs"], sort_keys=True),
                             json.dumps(r["figures"], sort_keys=True), t["description"]])


# ------------------------------------------------------------------------------- verify
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_pack(pack_dir: str | Path, expected_hash: str | None = None) -> Verification:
    """Check the pack; ``problems`` lists everything wrong (empty when the pack is intact)."""
    pack = Path(pack_dir)
    manifest = pack / MANIFEST
    if not pack.is_dir():
        raise PackError(f"{pack} is not a directory: give the unpacked evidence pack")
    if not manifest.is_file():
        raise PackError(f"{pack} has no {MANIFEST}: not an evidence pack (or it was stripped)")
    data = manifest.read_bytes()
    result = Verification(pack, hashlib.sha256(data).hexdigest())
    if expected_hash and expected_hash != result.pack_hash:
        result.problems.append(f"pack hash {result.pack_hash} differs from the expected "
                               f"{expected_hash} (MANIFEST was changed or it is another pack)")
    listed: dict[str, str] = {}
    for n, line in enumerate(data.decode("ascii", errors="replace").splitlines(), start=1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or not rel or rel.startswith("/") or ".." in rel.split("/"):
            result.problems.append(f"{MANIFEST} line {n} is malformed: {line[:80]!r}")
            continue
        listed[rel] = digest
    for rel, digest in sorted(listed.items()):
        path = pack / rel
        if not path.is_file():
            result.problems.append(f"{rel}: listed in {MANIFEST} but missing")
            continue
        result.files_checked += 1
        actual = _sha256(path)
        if actual != digest:
            result.problems.append(f"{rel}: sha256 {actual} differs from {MANIFEST} ({digest}); "
                                   "the file was changed")
    for path in sorted(p for p in pack.rglob("*") if p.is_file()):
        rel = path.relative_to(pack).as_posix()
        if rel != MANIFEST and rel not in listed:
            result.problems.append(f"{rel}: present but not in {MANIFEST} (added after export)")
    _check_copies(pack, listed, result)
    _check_tieouts(pack, result)
    return result


def _check_copies(pack: Path, listed: dict[str, str], result: Verification) -> None:
    for rel in sorted(listed):
        if not rel.endswith(".parquet"):
            continue
        csv_rel = rel[:-len(".parquet")] + ".csv"
        if not (pack / rel).is_file() or not (pack / csv_rel).is_file():
            continue
        try:
            parquet = text_frame(pl.read_parquet(pack / rel))
            text = pl.read_csv(pack / csv_rel, infer_schema=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a finding
            result.problems.append(f"{rel} or {csv_rel} cannot be read: {exc}")
            continue
        if parquet.height == 0 and text.height == 0:
            if parquet.columns != text.columns and text.width:
                result.problems.append(f"{csv_rel} and {rel} have different columns")
            continue
        # CSV cannot tell a null from an empty text; compare both as text, null = "".
        same = (parquet.columns == text.columns
                and parquet.select(pl.all().fill_null("")).equals(
                    text.select(pl.all().fill_null(""))))
        if not same:
            result.problems.append(f"{csv_rel} and {rel} do not hold the same rows")


def _check_tieouts(pack: Path, result: Verification) -> None:
    recorded_file = pack / TIEOUTS_JSON
    if not recorded_file.is_file():
        result.problems.append(f"{TIEOUTS_JSON} is missing")
        return
    try:
        recorded = json.loads(recorded_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        result.problems.append(f"{TIEOUTS_JSON} is not valid JSON: {exc}")
        return
    recomputed = json.loads(json.dumps(compute_tieouts(pack)))
    by_name = {t.get("name"): t for t in recorded if isinstance(t, dict)}
    for tie in recomputed:
        result.tieouts_checked += 1
        old = by_name.pop(tie["name"], None)
        if old is None:
            result.problems.append(f"tie-out {tie['name']} is not recorded in {TIEOUTS_JSON}")
        elif old != tie:
            result.problems.append(
                f"tie-out {tie['name']}: recomputed from the pack gives {tie['status']} "
                f"(exceptions {tie['result']['exceptions']}, difference "
                f"{tie['result']['difference']}), the pack records {old.get('status')} "
                f"(exceptions {old.get('result', {}).get('exceptions')}, difference "
                f"{old.get('result', {}).get('difference')})")
        elif tie["status"] == "fail":
            result.problems.append(f"tie-out {tie['name']} fails: {tie['result']['exceptions']} "
                                   f"exception(s), difference {tie['result']['difference']}")
    for name in by_name:
        result.problems.append(f"tie-out {name} is recorded but unknown to this verifier")
