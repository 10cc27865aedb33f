"""Builders for the check tests: LEDES rows, files and rules with sensible defaults."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from lexrecon.ledes.checks import check_file
from lexrecon.ledes.fields import FORMAT_1998B
from lexrecon.ledes.parser import LedesFile, parse_ledes
from lexrecon.ledes.writer import ledes_text
from lexrecon.ocg.engine import evaluate
from lexrecon.ocg.rules import Rules, rules_from_mapping

CLIENT = "ACME-001"
INVOICE_FIELDS = {
    "invoice_date": "20240215",
    "invoice_number": "INV-1",
    "client_id": CLIENT,
    "law_firm_matter_id": "M-100",
    "billing_start_date": "20240101",
    "billing_end_date": "20240131",
    "invoice_description": "For services rendered",
    "law_firm_id": "24-6437381",
    "client_matter_id": "CM-9",
}


def fee(number: int | str = 1, **fields: str) -> dict[str, str]:
    """A fee line: 1.0 h by TK-1 (ASSOC) at 500.00, dated 2024-01-10, L110/A101."""
    row = dict(INVOICE_FIELDS)
    row.update({
        "line_item_number": str(number), "exp_fee_inv_adj_type": "F",
        "line_item_number_of_units": "1.0", "line_item_adjustment_amount": "0",
        "line_item_total": "500.00", "line_item_date": "20240110",
        "line_item_task_code": "L110", "line_item_expense_code": "",
        "line_item_activity_code": "A101", "timekeeper_id": "TK-1",
        "line_item_description": "Draft motion to compel discovery responses",
        "line_item_unit_cost": "500.00", "timekeeper_name": "Doe, Jane",
        "timekeeper_classification": "ASSOC",
    })
    row.update(fields)
    return row


def expense(number: int | str = 1, **fields: str) -> dict[str, str]:
    """An expense line: E107 courier, 1 x 40.00, dated 2024-01-12."""
    row = fee(number)
    row.update({
        "exp_fee_inv_adj_type": "E", "line_item_number_of_units": "1",
        "line_item_total": "40.00", "line_item_unit_cost": "40.00",
        "line_item_task_code": "", "line_item_activity_code": "", "timekeeper_id": "",
        "timekeeper_name": "", "timekeeper_classification": "",
        "line_item_expense_code": "E107", "line_item_description": "Courier to court",
        "line_item_date": "20240112",
    })
    row.update(fields)
    return row


def with_totals(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Set each row's INVOICE_TOTAL (unless given) to its invoice's sum of line totals."""
    sums: dict[str, Decimal] = {}
    for row in rows:
        try:
            total = Decimal(row["line_item_total"])
        except ArithmeticError:
            total = Decimal(0)
        sums[row["invoice_number"]] = sums.get(row["invoice_number"], Decimal(0)) + total
    return [{"invoice_total": str(sums[r["invoice_number"]]), **r} for r in rows]


def ledes_bytes(rows: list[dict[str, str]], format_line: str = FORMAT_1998B,
                totals: bool = True) -> bytes:
    return ledes_text(with_totals(rows) if totals else rows, format_line).encode("utf-8")


def parse_rows(rows: list[dict[str, str]], format_line: str = FORMAT_1998B,
               file: str = "invoice.txt", totals: bool = True) -> LedesFile:
    return parse_ledes(ledes_bytes(rows, format_line, totals), file)


def file_findings(rows: list[dict[str, str]], format_line: str = FORMAT_1998B,
                  totals: bool = True) -> list[dict[str, Any]]:
    return check_file(parse_rows(rows, format_line, totals=totals)).to_dicts()


def rules(**overrides: Any) -> Rules:
    """Rules for CLIENT with only the given keys (each key switches its rule on)."""
    return rules_from_mapping({"client_id": CLIENT, **overrides}, "test-rules.yml")


def ocg_findings(rows: list[dict[str, str]], rule_set: Rules,
                 format_line: str = FORMAT_1998B) -> list[dict[str, Any]]:
    lines = parse_rows(rows, format_line).lines
    return evaluate(lines, [rule_set]).to_dicts()


def codes(findings: list[dict[str, Any]] | pl.DataFrame) -> list[tuple[str, str | None]]:
    """(code, line_item_number) pairs, in order."""
    rows = findings.to_dicts() if isinstance(findings, pl.DataFrame) else findings
    return [(f["code"], f["line_item_number"]) for f in rows]


def only(findings: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["code"] == code]
