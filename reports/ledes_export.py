"""LEDES 1998B export of chosen invoices from the published warehouse.

``export_ledes(serving_db, out, invoices=..., client=..., period=...) -> ExportResult`` reads
the invoices and their lines (``fct_invoices``, ``fct_invoice_lines``, with matter, client and
timekeeper attributes from the dims), shapes one LEDES record per line and writes the file
with the project's writer (:mod:`lexrecon.ledes.writer`). Each invoice's INVOICE_TOTAL is the
sum of its LINE_ITEM_TOTAL values and must equal the warehouse's ``total_amount``; an invoice
that cannot be represented in 1998B (tax on it, or lines not adding up) is refused with the
reason rather than written wrong.

Text the format cannot carry is made safe and counted in ``adjusted``: ``|`` becomes ``/``,
line breaks become spaces, and non-ASCII letters are transliterated (é -> e), since the
e-billing portals read ASCII. The billing period is widened to cover every line date, so a
late line does not break the file's period check, and a fee line without a timekeeper (a fixed
fee) is written as an invoice-level fee line (IF, 1 x the fee), since LEDES requires a
timekeeper on F lines. Both are reported in ``adjusted``.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from lexrecon.ledes.fields import FORMAT_1998B
from lexrecon.ledes.writer import ledes_text

PERIOD_LEN = 7


class LedesExportError(RuntimeError):
    """Nothing can be exported; the message says why and what to do."""


@dataclass
class ExportResult:
    path: Path
    invoices: list[str]
    lines: int
    totals: dict[str, Decimal]  # invoice number -> INVOICE_TOTAL written
    refused: dict[str, str] = field(default_factory=dict)  # invoice number -> reason
    adjusted: list[str] = field(default_factory=list)  # what was made LEDES-safe


INVOICE_SQL = """
select i.invoice_number, i.invoice_date, i.billing_start_date, i.billing_end_date,
       i.matter_number, i.client_code, i.total_amount, i.subtotal_amount, i.tax_amount,
       i.is_void, i.currency, c.ledes_client_id, m.client_matter_id, m.matter_name
from marts.fct_invoices i
left join marts.dim_clients c on c.client_code = i.client_code
left join marts.dim_matters m on m.matter_number = i.matter_number
where {where}
order by i.invoice_number
"""

LINES_SQL = """
select l.invoice_number, l.line_number, l.line_type, l.quantity, l.unit_price,
       l.adjustment_amount, l.line_total, l.line_date, l.task_code, l.activity_code,
       l.expense_code, l.timekeeper_id, l.description,
       t.first_name, t.last_name, t.timekeeper_name, t.classification
from marts.fct_invoice_lines l
left join marts.dim_timekeepers t on t.timekeeper_id = l.timekeeper_id
where l.invoice_number in (select unnest(?::varchar[]))
order by l.invoice_number, try_cast(l.line_number as bigint) nulls last, l.line_number
"""


def _ascii(value: str | None, what: str, adjusted: list[str]) -> str | None:
    if value is None:
        return None
    safe = value.replace("|", "/").replace("[]", "[ ]").replace("\r\n", " ")
    safe = safe.replace("\n", " ").replace("\r", " ")
    if not safe.isascii():
        safe = unicodedata.normalize("NFKD", safe).encode("ascii", "ignore").decode("ascii")
    if safe != value:
        adjusted.append(f"{what}: {value[:40]!r} written as {safe[:40]!r}")
    return safe


def _ymd(value: date | None) -> str | None:
    return value.strftime("%Y%m%d") if value else None


def _selection(invoices: Sequence[str] | None, client: str | None, period: str | None
               ) -> tuple[str, list[Any]]:
    if invoices:
        return "i.invoice_number in (select unnest(?::varchar[]))", [list(invoices)]
    if client and period:
        if len(period) != PERIOD_LEN or period[4] != "-":
            raise LedesExportError(f"period {period!r} is not YYYY-MM")
        return ("(i.client_code = ? or c.ledes_client_id = ?) and i.invoice_month = ?",
                [client, client, period])
    raise LedesExportError("choose invoices: --invoice N (repeatable) or --client C "
                           "--period YYYY-MM")


def law_firm_id(con: duckdb.DuckDBPyConnection, given: str | None) -> str:
    """The firm's LAW_FIRM_ID: as given, else the one on the LEDES files the firm submitted."""
    if given:
        return given
    try:
        rows = con.execute("select law_firm_id, count(*) from staging.stg_ledes__ledes_lines "
                           "where law_firm_id is not null group by 1 order by 2 desc").fetchall()
    except duckdb.Error:
        rows = []
    if not rows:
        raise LedesExportError("the warehouse holds no submitted LEDES file to take the firm's "
                               "LAW_FIRM_ID from; pass --law-firm-id")
    return str(rows[0][0])


def export_ledes(serving_db: str | Path, out: str | Path, *,
                 invoices: Sequence[str] | None = None, client: str | None = None,
                 period: str | None = None, firm_id: str | None = None) -> ExportResult:
    serving_db, out = Path(serving_db), Path(out)
    if not serving_db.is_file():
        raise LedesExportError(f"no published warehouse at {serving_db}: build and publish "
                               "first (or pass --serving-db)")
    where, params = _selection(invoices, client, period)
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        con.execute("set enable_progress_bar = false").fetchall()
        firm = law_firm_id(con, firm_id)
        heads = con.execute(INVOICE_SQL.format(where=where), params).fetchall()
        names = [d[0] for d in con.description]
        heads = [dict(zip(names, r, strict=True)) for r in heads]
        numbers = [h["invoice_number"] for h in heads]
        lines_rows = con.execute(LINES_SQL, [numbers]).fetchall() if numbers else []
        lnames = [d[0] for d in con.description] if numbers else []
    finally:
        con.close()
    found = set(numbers)
    refused = {n: "not in the warehouse" for n in (invoices or []) if n not in found}
    if not heads:
        raise LedesExportError("no invoice matches the selection"
                               + (f" ({', '.join(refused)})" if refused else ""))
    by_invoice: dict[str, list[dict[str, Any]]] = {}
    for row in lines_rows:
        rec = dict(zip(lnames, row, strict=True))
        by_invoice.setdefault(rec["invoice_number"], []).append(rec)
    adjusted: list[str] = []
    records: list[dict[str, Any]] = []
    totals: dict[str, Decimal] = {}
    for head in heads:
        number = head["invoice_number"]
        lines = by_invoice.get(number, [])
        reason = _refusal(head, lines)
        if reason:
            refused[number] = reason
            continue
        total = sum((Decimal(line["line_total"]) for line in lines), Decimal(0))
        dates = [line["line_date"] for line in lines if line["line_date"]]
        start = min([d for d in [head["billing_start_date"], *dates] if d])
        end = max([d for d in [head["billing_end_date"], *dates] if d])
        if start != head["billing_start_date"] or end != head["billing_end_date"]:
            adjusted.append(f"{number}: billing period widened to {start}..{end} to cover "
                            "its line dates")
        inv_desc = _ascii(head.get("matter_name") and f"Legal services: {head['matter_name']}",
                          f"{number} INVOICE_DESCRIPTION", adjusted)
        for line in lines:
            fee = line["line_type"] == "F"
            kind = line["line_type"]
            if fee and not line["timekeeper_id"]:
                # a fixed fee with no timekeeper: LEDES's invoice-level fee line (IF, units 1 x
                # the fee), the form e-billing platforms ask for; F lines need a timekeeper
                fee, kind = False, "IF"
                adjusted.append(f"{number} line {line['line_number']}: fee line without a "
                                "timekeeper (fixed fee) written as IF")
            last, first = line.get("last_name"), line.get("first_name")
            tk_name = f"{last}, {first}" if last and first else line.get("timekeeper_name")
            where_ = f"{number} line {line['line_number']}"
            records.append({
                "invoice_date": _ymd(head["invoice_date"]),
                "invoice_number": number,
                "client_id": head["ledes_client_id"] or head["client_code"],
                "law_firm_matter_id": head["matter_number"],
                "invoice_total": f"{total:.2f}",
                "billing_start_date": _ymd(start),
                "billing_end_date": _ymd(end),
                "invoice_description": inv_desc,
                "line_item_number": line["line_number"],
                "exp_fee_inv_adj_type": kind,
                "line_item_number_of_units": line["quantity"],
                "line_item_adjustment_amount": line["adjustment_amount"],
                "line_item_total": line["line_total"],
                "line_item_date": _ymd(line["line_date"]),
                "line_item_task_code": line["task_code"] if fee else None,
                "line_item_expense_code": line["expense_code"] if kind == "E" else None,
                "line_item_activity_code": line["activity_code"] if fee else None,
                "timekeeper_id": line["timekeeper_id"] if fee else None,
                "line_item_description": _ascii(line["description"], where_, adjusted),
                "law_firm_id": firm,
                "line_item_unit_cost": line["unit_price"],
                "timekeeper_name": _ascii(tk_name, f"{where_} TIMEKEEPER_NAME", adjusted)
                if fee else None,
                "timekeeper_classification": line["classification"] if fee else None,
                "client_matter_id": _ascii(head["client_matter_id"], f"{number} CLIENT_MATTER_ID",
                                           adjusted),
            })
        totals[number] = total
    if not records:
        raise LedesExportError("no invoice could be exported: " + "; ".join(
            f"{n}: {r}" for n, r in sorted(refused.items())))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(ledes_text(records, FORMAT_1998B).encode("ascii"))
    return ExportResult(out, list(totals), len(records), totals, refused, adjusted)


def _refusal(head: dict[str, Any], lines: list[dict[str, Any]]) -> str | None:
    if head["is_void"]:
        return "the invoice is void"
    if not lines:
        return "the invoice has no lines in the warehouse"
    if head["tax_amount"] and Decimal(head["tax_amount"]) != 0:
        return (f"it carries tax {head['tax_amount']}, which LEDES 1998B cannot; "
                "export it as LEDES 1998BI")
    total = sum((Decimal(line["line_total"]) for line in lines), Decimal(0))
    if total != Decimal(head["total_amount"]):
        return (f"its lines add up to {total}, not the invoice total {head['total_amount']} "
                "(see the tie-out invoice_totals_equal_lines)")
    bad = [line["line_number"] for line in lines if line["line_type"] not in ("F", "E")]
    if bad:
        return f"line(s) {', '.join(map(str, bad))} have a type LEDES 1998B does not know"
    return None
