"""Conformance: the public LEDES samples in shared/reference/ledes-samples/ give what their
README says (skipped only when that folder is absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

from lexrecon.check import check_parsed
from lexrecon.ledes.checks import check_file
from lexrecon.ledes.parser import read_ledes
from lexrecon.ocg.rules import rules_from_mapping

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "ledes-samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} is absent")

# file -> the (code, invoice, line) findings its README implies, and nothing else.
EXPECTED = {
    "lexitree_ledes1998b_good.txt": {("LEDES_ENCODING", "96542", "1")},
    "lexitree_ledes1998b_eager_bad.txt": {("LEDES_REQUIRED", "96543", "6")},
    "lexitree_ledes1998b_greedy_bad.txt": {("LEDES_FORMAT", None, None)},
    "lexitree_ledes98bi_good.txt": {("LEDES_INVOICE_TOTAL", "96542", None),
                                    ("LEDES_TAX_TOTAL", "96542", None)},
    "lexitree_ledes98bi_eager_bad.txt": {("LEDES_REQUIRED", "96542", "1"),
                                         ("LEDES_INVOICE_TOTAL", "96542", None),
                                         ("LEDES_TAX_TOTAL", "96542", None)},
    "lexitree_ledes98bi_greedy_bad.txt": {("LEDES_FORMAT", None, None)},
    "travisbashor_ledes_98B.txt": {("LEDES_DUPLICATE_LINE", "96543", "6"),
                                   ("LEDES_HEADER_CONFLICT", "96543", None),
                                   ("LEDES_INVOICE_TOTAL", "96543", None)},
    "travisbashor_ledes_98BI.txt": {("LEDES_TAX_TOTAL", "96542", None)},
}


def test_every_sample_is_covered() -> None:
    assert {p.name for p in SAMPLES.glob("*.txt")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_findings(name: str) -> None:
    found = check_file(read_ledes(SAMPLES / name))
    assert {(f["code"], f["invoice_number"], f["line_item_number"])
            for f in found.to_dicts()} == EXPECTED[name]


def test_eager_bad_names_the_missing_fields() -> None:
    found = check_file(read_ledes(SAMPLES / "lexitree_ledes98bi_eager_bad.txt")).to_dicts()
    required = next(f for f in found if f["code"] == "LEDES_REQUIRED")
    assert "TIMEKEEPER_LAST_NAME" in required["message"]
    unit_cost = check_file(read_ledes(SAMPLES / "lexitree_ledes1998b_eager_bad.txt"))
    assert "LINE_ITEM_UNIT_COST" in unit_cost.get_column("message")[0]


def test_reconciliation_amounts_in_messages() -> None:
    totals = check_file(read_ledes(SAMPLES / "travisbashor_ledes_98B.txt")).to_dicts()
    message = next(f for f in totals if f["code"] == "LEDES_INVOICE_TOTAL")["message"]
    assert "1250.00" in message and "2500.00" in message
    taxes = check_file(read_ledes(SAMPLES / "travisbashor_ledes_98BI.txt")).to_dicts()
    assert "182.52" in taxes[0]["message"] and "185.52" in taxes[0]["message"]
    assert "1781.16" in taxes[0]["message"]


def test_samples_under_a_rules_file() -> None:
    rules = rules_from_mapping({
        "client_id": "00711",
        "rate_caps": {"by_classification": {"PARTNR": 300, "ASSOC": 250}},
        "disallowed_expense_codes": ["E111"],
    })
    parsed = [read_ledes(SAMPLES / "lexitree_ledes1998b_good.txt")]
    found = check_parsed(parsed, [rules]).to_dicts()
    assert [(f["code"], f["line_item_number"], f["amount_at_risk"]) for f in found] == [
        ("LEDES_ENCODING", "1", None),
        ("RATE_CAP", "1", "100.00"),  # (350 - 300) x 2.00
        ("RATE_CAP", "2", "100.00"),
        ("EXPENSE_DISALLOWED", "4", "24.95"),
    ]
